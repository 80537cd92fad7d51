//! [`Var`]: a handle to one node of a [`Tape`]. Ops on handles record new nodes; the ops
//! themselves (methods such as `tanh` and the operators `+ - * /`) are defined beside their
//! derivatives in [`ops`](crate::ops).

use std::fmt;

use crate::tensor::Shape;
use crate::{Gradients, NodeId, Tape, Tensor, backward, tensor::shape_panic};

/// A value recorded on a [`Tape`]: a small `Copy` handle (the tape and a node id), so that
/// expressions read like the math, `(x.matmul(w1) + b1).tanh()`.
///
/// ```
/// use tapegrad::{Tape, Tensor};
///
/// let tape = Tape::new();
/// let w = tape.var(Tensor::from_rows(&[[1.0, -1.0]]));
/// let loss = (w * 3.0).square().sum(); // 9 Σ w²
/// let grads = loss.backward();
/// assert_eq!(grads.wrt(w), &Tensor::from_rows(&[[18.0, -18.0]]));
/// ```
#[derive(Clone, Copy)]
pub struct Var<'t> {
    pub(crate) tape: &'t Tape,
    pub(crate) id: NodeId,
}

impl<'t> Var<'t> {
    /// The node this handle points at.
    pub fn id(self) -> NodeId {
        self.id
    }

    /// The tape the node is on.
    pub fn tape(self) -> &'t Tape {
        self.tape
    }

    /// The forward value (a copy).
    pub fn value(self) -> Tensor {
        self.tape.value(self)
    }

    /// The shape of the forward value.
    pub fn shape(self) -> Shape {
        self.tape.nodes()[self.id.0].value.shape().into()
    }

    /// The forward value of a one-element node, such as a loss.
    #[track_caller]
    pub fn item(self) -> f64 {
        self.tape.nodes()[self.id.0].value.item()
    }

    /// Whether a gradient flows back through this node (some variable reaches it).
    pub fn needs_grad(self) -> bool {
        self.tape.nodes()[self.id.0].needs_grad
    }

    /// A constant with the same value: gradients stop here (PyTorch's `detach`).
    #[track_caller]
    pub fn detach(self) -> Var<'t> {
        self.tape.constant(self.value())
    }

    /// The gradients of this one-element output with respect to every node that leads to it.
    ///
    /// Each call walks the tape afresh and returns a new map, so calling it twice gives the same
    /// result. Panics, naming the shape, if the output has more than one element: use
    /// [`backward_with`](Var::backward_with) and a seed for those.
    #[track_caller]
    pub fn backward(self) -> Gradients {
        let shape = self.shape();
        if shape.iter().product::<usize>() != 1 {
            shape_panic(
                "backward",
                format_args!(
                    "output has shape {:?}, not one element; use backward_with(seed) for a non-scalar output",
                    shape.as_slice()
                ),
            );
        }
        backward::run(self.tape, self.id, Tensor::ones(&shape))
    }

    /// The gradients of `Σ seed ⊙ self`: backpropagates `seed` as the gradient of this output
    /// (a vector-Jacobian product). Panics, naming both shapes, unless `seed` has this node's shape.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    /// let grads = (x * x).backward_with(Tensor::from_slice(&[1.0, 10.0]));
    /// assert_eq!(grads.wrt(x).data(), &[2.0, 40.0]);
    /// ```
    #[track_caller]
    pub fn backward_with(self, seed: Tensor) -> Gradients {
        let shape = self.shape();
        if seed.shape() != shape.as_slice() {
            shape_panic(
                "backward_with",
                format_args!(
                    "seed has shape {:?}, the output {:?}",
                    seed.shape(),
                    shape.as_slice()
                ),
            );
        }
        backward::run(self.tape, self.id, seed)
    }
}

impl fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var({}, shape {:?})", self.id, self.shape().as_slice())
    }
}
