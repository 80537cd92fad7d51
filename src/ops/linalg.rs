//! The matrix product and the layout ops, whose backwards move gradients back where the
//! forward moved values.

use super::{BackwardArgs, InputGrads, Op};
use crate::tensor::Shape;
use crate::{Tensor, Var};

/// `A · B` for 2-D `A` (m × k) and `B` (k × n). PyTorch: `torch.matmul` on matrices.
pub struct MatMul;

impl Op for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].matmul(inputs[1])
    }
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        let (a, b, g) = (args.inputs[0], args.inputs[1], args.grad_output);
        // dA = G · Bᵀ and dB = Aᵀ · G; the transposes are strides, not copies. Each is a full
        // GEMM, so one nobody wants (the data's, in x · W1) is skipped: a third less work in
        // an MLP's step (benches/training.rs).
        vec![
            args.wants(0).then(|| g.matmul_t(b)),
            args.wants(1).then(|| a.t_matmul(g)),
        ]
    }
    fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
        let (a, b, g) = (args.inputs[0], args.inputs[1], args.grad_output);
        Some(vec![
            args.wants(0).then(|| g.matmul(b.transpose())),
            args.wants(1).then(|| a.transpose().matmul(g)),
        ])
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
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        vec![Some(args.grad_output.transpose())]
    }
    fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
        Some(vec![Some(args.grad_output.transpose())])
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
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].reshape(&self.0)
    }
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        vec![Some(args.grad_output.reshape(args.inputs[0].shape()))]
    }
    fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
        Some(vec![Some(
            args.grad_output.reshape(&args.inputs[0].shape()),
        )])
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
