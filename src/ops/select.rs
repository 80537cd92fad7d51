//! Parts and joins: `narrow`, `index_select` (rows by index), `concat` and `stack`. Each
//! backward puts the gradient back where the forward took the values from, and the ops come in
//! pairs that undo each other (narrow and its padding, index_select and index_add), so the
//! gradient of one is the other and derivatives of every order follow.

use super::{BackwardArgs, InputGrads, Op};
use crate::tensor::shape_panic;
use crate::{Tensor, Var};

/// The elements `start .. start + len` along `axis`. PyTorch: `torch.narrow`, slicing.
pub struct Narrow {
    /// The axis cut along.
    pub axis: usize,
    /// The first index kept.
    pub start: usize,
    /// How many are kept.
    pub len: usize,
}

impl Op for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].narrow(self.axis, self.start, self.len)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let length = args.inputs[0].shape()[self.axis];
        let unnarrow = Unnarrow {
            axis: self.axis,
            start: self.start,
            length,
        };
        vec![Some(
            args.grad_output.tape().apply(unnarrow, &[args.grad_output]),
        )]
    }
}

/// Zeros of length `length` along `axis` with the input placed at `start`: the gradient of
/// [`Narrow`], recorded when it is differentiated on the tape. PyTorch: `F.pad` with zeros.
pub struct Unnarrow {
    /// The axis padded along.
    pub axis: usize,
    /// Where the input starts.
    pub start: usize,
    /// The length of the output along the axis.
    pub length: usize,
}

impl Op for Unnarrow {
    fn name(&self) -> &'static str {
        "unnarrow"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].unnarrow(self.axis, self.start, self.length)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let len = args.inputs[0].shape()[self.axis];
        vec![Some(args.grad_output.narrow(self.axis, self.start, len))]
    }
}

impl<'t> Var<'t> {
    /// The elements `start .. start + len` along `axis`. Panics, naming the range, the shape
    /// and the caller's line, if it does not fit.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0, 3.0]));
    /// let tail = x.narrow(0, 1, 2);
    /// assert_eq!(tail.value().data(), &[2.0, 3.0]);
    /// assert_eq!(tail.sum().backward().wrt(x).data(), &[0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn narrow(self, axis: usize, start: usize, len: usize) -> Var<'t> {
        self.tape.apply(Narrow { axis, start, len }, &[self])
    }
}

/// The rows at the given indices. PyTorch: `x.index_select(0, indices)`, `nn.Embedding`.
pub struct IndexSelect {
    /// The rows picked, in order, repeats allowed.
    pub indices: Vec<usize>,
}

impl Op for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].index_select(&self.indices)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let index_add = IndexAdd {
            indices: self.indices.clone(),
            rows: args.inputs[0].shape()[0],
        };
        vec![Some(
            args.grad_output
                .tape()
                .apply(index_add, &[args.grad_output]),
        )]
    }
}

/// Zeros of `rows` rows with input row `k` added into row `indices[k]`: the gradient of
/// [`IndexSelect`]. PyTorch: `index_add`.
pub struct IndexAdd {
    /// Where each input row goes.
    pub indices: Vec<usize>,
    /// The number of rows of the output.
    pub rows: usize,
}

impl Op for IndexAdd {
    fn name(&self) -> &'static str {
        "index_add"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].index_add(&self.indices, self.rows)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output.index_select(&self.indices))]
    }
}

impl<'t> Var<'t> {
    /// The rows at `indices`, in that order (a mini-batch, an embedding lookup); the gradient
    /// of a row picked twice adds up. Panics, naming the index and the shape, if one is out of range.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let table = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    /// let picked = table.index_select(&[1, 1, 0]);
    /// assert_eq!(picked.value().data(), &[3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
    /// assert_eq!(picked.sum().backward().wrt(table).data(), &[1.0, 1.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn index_select(self, indices: &[usize]) -> Var<'t> {
        let op = IndexSelect {
            indices: indices.to_vec(),
        };
        self.tape.apply(op, &[self])
    }
}

/// The inputs joined along `axis`. PyTorch: `torch.cat`.
pub struct Concat {
    /// The axis joined along.
    pub axis: usize,
}

impl Op for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        Tensor::concat(inputs, self.axis)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let lengths = args.inputs.iter().map(|input| input.shape()[self.axis]);
        let g = args.grad_output;
        let parts = self.parts(lengths).enumerate();
        parts
            .map(|(k, (start, len))| args.wants(k).then(|| g.narrow(self.axis, start, len)))
            .collect()
    }
}

impl Concat {
    /// `(start, length)` along the axis of each input, from the inputs' lengths there.
    fn parts(&self, lengths: impl Iterator<Item = usize>) -> impl Iterator<Item = (usize, usize)> {
        lengths.scan(0, |start, len| {
            let part = (*start, len);
            *start += len;
            Some(part)
        })
    }
}

/// `parts` joined along `axis`; every other axis must agree. PyTorch: `torch.cat(parts, dim)`.
///
/// Panics, naming the shapes and the caller's line, if there are no parts or they do not fit.
///
/// ```
/// use tapegrad::{Tape, Tensor, ops::concat};
/// let tape = Tape::new();
/// let a = tape.var(Tensor::from_rows(&[[1.0], [2.0]]));
/// let b = tape.var(Tensor::from_rows(&[[3.0, 4.0], [5.0, 6.0]]));
/// let joined = concat(&[a, b], 1);
/// assert_eq!(joined.value().data(), &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
/// assert_eq!((joined * joined).sum().backward().wrt(a).data(), &[2.0, 4.0]);
/// ```
#[track_caller]
pub fn concat<'t>(parts: &[Var<'t>], axis: usize) -> Var<'t> {
    let Some(first) = parts.first() else {
        shape_panic("concat", format_args!("no variables to join"));
    };
    first.tape.apply(Concat { axis }, parts)
}

/// `parts`, all of one shape, stacked along a new axis at `axis`. PyTorch: `torch.stack(parts, dim)`.
///
/// ```
/// use tapegrad::{Tape, Tensor, ops::stack};
/// let tape = Tape::new();
/// let a = tape.var(Tensor::from_slice(&[1.0, 2.0]));
/// let b = tape.var(Tensor::from_slice(&[3.0, 4.0]));
/// assert_eq!(stack(&[a, b], 0).shape().as_slice(), &[2, 2]);
/// assert_eq!(stack(&[a, b], 1).value().data(), &[1.0, 3.0, 2.0, 4.0]);
/// ```
#[track_caller]
pub fn stack<'t>(parts: &[Var<'t>], axis: usize) -> Var<'t> {
    let Some(first) = parts.first() else {
        shape_panic("stack", format_args!("no variables to stack"));
    };
    let shape = first.shape();
    if axis > shape.len() {
        shape_panic(
            "stack",
            format_args!(
                "axis {axis} is out of range for shape {:?}",
                shape.as_slice()
            ),
        );
    }
    let mut with_axis = shape.clone();
    with_axis.insert(axis, 1);
    let lifted: Vec<Var<'t>> = parts
        .iter()
        .map(|part| {
            if part.shape() != shape {
                shape_panic(
                    "stack",
                    format_args!(
                        "shapes {:?} and {:?} differ",
                        shape.as_slice(),
                        part.shape().as_slice()
                    ),
                );
            }
            part.reshape(&with_axis)
        })
        .collect();
    concat(&lifted, axis)
}
