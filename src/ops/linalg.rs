//! The matrix product and the layout ops, whose backwards move gradients back where the
//! forward moved values.

use super::{BackwardArgs, InputGrads, Op};
use crate::engine::SumTo;
use crate::tensor::Shape;
use crate::{Tensor, Var};

/// `A · B` for 2-D `A` (m × k) and `B` (k × n). PyTorch: `torch.matmul` on matrices.
pub struct MatMul;

impl Op for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].matmul(inputs[1])
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // dA = G · Bᵀ and dB = Aᵀ · G, the transposes read in place by the products. Each is a
        // full GEMM, so one nobody wants (the data's, in x · W1) is skipped.
        let (a, b, g) = (args.inputs[0], args.inputs[1], args.grad_output);
        vec![
            args.wants(0).then(|| g.matmul_t(b)),
            args.wants(1).then(|| a.t_matmul(g)),
        ]
    }
}

/// `A · Bᵀ` for 2-D `A` (m × k) and `B` (n × k), `B` read transposed in place: the product in
/// matmul's rule. PyTorch: `a @ b.T`.
pub struct MatMulT;

impl Op for MatMulT {
    fn name(&self) -> &'static str {
        "matmul_t"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].matmul_t(inputs[1])
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // C = A Bᵀ: dA = G · B, dB = Gᵀ · A.
        let (a, b, g) = (args.inputs[0], args.inputs[1], args.grad_output);
        vec![
            args.wants(0).then(|| g.matmul(b)),
            args.wants(1).then(|| g.t_matmul(a)),
        ]
    }
}

/// `Aᵀ · B` for 2-D `A` (k × m) and `B` (k × n), `A` read transposed in place: the product in
/// matmul's rule. PyTorch: `a.T @ b`.
pub struct TMatMul;

impl Op for TMatMul {
    fn name(&self) -> &'static str {
        "t_matmul"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].t_matmul(inputs[1])
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // C = Aᵀ B: dA = B · Gᵀ, dB = A · G.
        let (a, b, g) = (args.inputs[0], args.inputs[1], args.grad_output);
        vec![
            args.wants(0).then(|| b.matmul_t(g)),
            args.wants(1).then(|| a.matmul(g)),
        ]
    }
}

impl<'t> Var<'t> {
    /// The matrix product `self · other` of two 2-D variables.
    ///
    /// Panics, naming both shapes and the caller's line, if the inner dimensions differ.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.constant(Tensor::from_rows(&[[1.0, 2.0]]));
    /// let w = tape.var(Tensor::from_rows(&[[3.0], [4.0]]));
    /// let y = x.matmul(w);
    /// assert_eq!(y.item(), 11.0);
    /// assert_eq!(y.backward().wrt(w), &Tensor::from_rows(&[[1.0], [2.0]]));
    /// ```
    #[track_caller]
    pub fn matmul(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(MatMul, &[self, other])
    }

    /// `self · otherᵀ`, without copying the transpose. PyTorch: `a @ b.T`.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_rows(&[[1.0, 2.0]]));
    /// let b = tape.var(Tensor::from_rows(&[[3.0, 4.0], [5.0, 6.0]]));
    /// assert_eq!(a.matmul_t(b).value(), a.matmul(b.transpose()).value());
    /// ```
    #[track_caller]
    pub fn matmul_t(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(MatMulT, &[self, other])
    }

    /// `selfᵀ · other`, without copying the transpose. PyTorch: `a.T @ b`.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    /// let b = tape.var(Tensor::from_rows(&[[5.0], [6.0]]));
    /// assert_eq!(a.t_matmul(b).value(), a.transpose().matmul(b).value());
    /// ```
    #[track_caller]
    pub fn t_matmul(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(TMatMul, &[self, other])
    }
}

/// `x · W + b` for 2-D `x` (m × k) and `W` (k × n) and a bias `b` that broadcasts to m × n (a
/// row of n): a layer's affine map as one op. PyTorch: `torch.addmm(b, x, W)`.
///
/// The same values as `x.matmul(w) + b`, bit for bit, from one node instead of two: the product
/// takes the bias in place. Its rule records the nodes `matmul + b`'s would (`matmul_t`,
/// `t_matmul`, `sum_to`), and on a narrow layer computes the last two in one pass over the rows.
pub struct Affine;

impl Op for Affine {
    fn name(&self) -> &'static str {
        "affine"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].affine(inputs[1], inputs[2])
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let ([x, w, b], g) = (
            [args.inputs[0], args.inputs[1], args.inputs[2]],
            args.grad_output,
        );
        let bias_shape = args.batched(&b.shape());
        // x's first, as matmul's rule and `+`'s would record them.
        let grad_x = args.wants(0).then(|| g.matmul_t(w));
        let (grad_w, grad_b) = match (args.wants(1), args.wants(2)) {
            (true, true) => weight_and_bias_gradients(x, g, &bias_shape),
            (wants_w, wants_b) => (
                wants_w.then(|| x.t_matmul(g)),
                wants_b.then(|| g.sum_to(&bias_shape)),
            ),
        };
        vec![grad_x, grad_w, grad_b]
    }
}

/// `x.t_matmul(g)` and `g.sum_to(bias_shape)`, the two nodes as those ops record them, their values
/// from one pass over the rows where the layer is narrow (`Tensor::t_matmul_and_bias_sum`).
fn weight_and_bias_gradients<'t>(
    x: Var<'t>,
    g: Var<'t>,
    bias_shape: &[usize],
) -> (Option<Var<'t>>, Option<Var<'t>>) {
    let tape = x.tape();
    let fused = (tape.value_of(x.id)).t_matmul_and_bias_sum(&tape.value_of(g.id), bias_shape);
    let (grad_w, grad_b) = match fused {
        Some((grad_w, grad_b)) => (
            tape.apply_with_value(TMatMul, &[x, g], grad_w),
            tape.apply_with_value(SumTo(bias_shape.into()), &[g], grad_b),
        ),
        None => (x.t_matmul(g), g.sum_to(bias_shape)),
    };
    (Some(grad_w), Some(grad_b))
}

impl<'t> Var<'t> {
    /// `self · w + b`, a layer's affine map, as one op (PyTorch: `torch.addmm(b, x, w)`): the
    /// values of `self.matmul(w) + b` with one node fewer on the tape.
    ///
    /// Panics, naming the shapes and the caller's line, if the inner dimensions differ or `b`
    /// does not broadcast to the product's shape.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.constant(Tensor::from_rows(&[[1.0, 2.0]]));
    /// let w = tape.var(Tensor::from_rows(&[[3.0], [4.0]]));
    /// let b = tape.var(Tensor::from_rows(&[[0.5]]));
    /// let z = x.affine(w, b);
    /// assert_eq!(z.item(), 11.5);
    /// let grads = z.backward();
    /// assert_eq!(grads.wrt(w), &Tensor::from_rows(&[[1.0], [2.0]]));
    /// assert_eq!(grads.wrt(b).item(), 1.0);
    /// ```
    #[track_caller]
    pub fn affine(self, w: Var<'t>, b: Var<'t>) -> Var<'t> {
        self.tape.apply(Affine, &[self, w, b])
    }
}

/// The axes in reverse order (a matrix's transpose). PyTorch: `x.T`.
pub struct Transpose;

impl Op for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].transpose()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output.transpose())]
    }
}

impl<'t> Var<'t> {
    /// The axes in reverse order: rows and columns swap for a matrix.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0]]));
    /// assert_eq!(x.transpose().shape().as_slice(), &[3, 1]);
    /// ```
    #[track_caller]
    pub fn transpose(self) -> Var<'t> {
        self.tape.apply(Transpose, &[self])
    }
}

/// The same elements under a new shape. PyTorch: `torch.reshape`.
pub struct Reshape(pub Shape);

impl Op for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].reshape(&self.0)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(
            args.grad_output
                .reshape(&args.batched(&args.inputs[0].shape())),
        )]
    }
}

impl<'t> Var<'t> {
    /// The same elements in the same order under `shape`; panics if the element counts differ.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0]));
    /// assert_eq!(x.reshape(&[2, 2]).shape().as_slice(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Var<'t> {
        self.tape.apply(Reshape(shape.into()), &[self])
    }
}
