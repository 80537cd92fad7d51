//! [`Var`]: a handle to one node of a [`Tape`]. Ops on handles record new nodes; the ops
//! themselves (methods such as `tanh` and the operators `+ - * /`) are defined beside their
//! derivatives in [`ops`](crate::ops).

use std::fmt;

use super::{Gradients, NodeId, Tape, backward};
use crate::Tensor;
use crate::tensor::{Shape, shape_panic};

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
        Shape::from_slice(self.tape.value_of(self.id).shape())
    }

    /// The forward value of a one-element node, such as a loss.
    #[track_caller]
    pub fn item(self) -> f64 {
        self.tape.value_of(self.id).item()
    }

    /// Whether a gradient flows back through this node (some variable reaches it).
    pub fn needs_grad(self) -> bool {
        Tape::scratch_index(self.id).is_none() && self.tape.nodes()[self.id.0].needs_grad
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
        let shape = self.scalar_shape("backward", "backward_with(seed)");
        self.tape.check_not_spent("backward");
        let gradients = backward::run(self.tape, self.id, Tensor::ones(&shape));
        (self.tape).note_backward(self.id, |last| gradients.any_up_to(last));
        gradients
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
        self.tape.check_not_spent("backward_with");
        let gradients = backward::run(self.tape, self.id, seed);
        (self.tape).note_backward(self.id, |last| gradients.any_up_to(last));
        gradients
    }

    /// The gradients of this one-element output with respect to each of `wrt`, recorded on the
    /// tape as variables, so that any expression of them can be differentiated again: second,
    /// third, any order. PyTorch: `torch.autograd.grad(output, wrt, create_graph=True)`; JAX:
    /// `jax.grad`.
    ///
    /// A node of `wrt` the output does not depend on gets a constant zero. Only the ops between
    /// `wrt` and the output are differentiated, and each records its derivative rule
    /// ([`Op::backward`](crate::ops::Op::backward)); the new nodes show the line of the op they
    /// differentiate. For first derivatives alone, [`backward`](Var::backward) is faster: it
    /// evaluates the same rules and records nothing.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.5));
    /// let [dy] = x.tanh().grad(&[x])[..] else { unreachable!() }; // 1 − tanh²x
    /// let [d2y] = dy.grad(&[x])[..] else { unreachable!() }; // −2 tanh x (1 − tanh²x)
    /// let t = 0.5f64.tanh();
    /// assert!((d2y.item() - -2.0 * t * (1.0 - t * t)).abs() < 1e-15);
    /// ```
    ///
    /// A Hessian-vector product in three lines (see also [`hvp`](crate::hvp)):
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// # let tape = Tape::new();
    /// let w = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    /// let v = tape.constant(Tensor::from_slice(&[1.0, 0.0]));
    /// let loss = (w * w * w).sum(); // Σ w³: its Hessian is diag(6w)
    /// let grad = loss.grad(&[w])[0];
    /// let hv = (grad * v).sum().backward(); // d/dw (∇loss · v) = H v
    /// assert_eq!(hv.wrt(w).data(), &[6.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn grad(self, wrt: &[Var<'t>]) -> Vec<Var<'t>> {
        let shape = self.scalar_shape("grad", "grad_with(seed, wrt)");
        let seed = self.tape.constant(Tensor::ones(&shape));
        self.grad_with(seed, wrt)
    }

    /// [`grad`](Var::grad) for any output: the gradients of `Σ seed ⊙ self` with respect to each
    /// of `wrt`, on the tape (a vector-Jacobian product, differentiable in `seed` too).
    /// Panics, naming both shapes, unless `seed` has this node's shape.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    /// let seed = tape.constant(Tensor::from_slice(&[1.0, 10.0]));
    /// let grad = (x * x).grad_with(seed, &[x])[0];
    /// assert_eq!(grad.value().data(), &[2.0, 40.0]);
    /// ```
    #[track_caller]
    pub fn grad_with(self, seed: Var<'t>, wrt: &[Var<'t>]) -> Vec<Var<'t>> {
        if !self.tape.records_gradients() {
            panic!(
                "grad: this tape is a Tape::no_grad, which records no ops to differentiate; \
                 use Tape::new() at {}",
                std::panic::Location::caller()
            );
        }
        if self.tape.is_evaluating() {
            panic!(
                "grad: called inside a derivative rule while Var::backward evaluates it; a rule \
                 is written with Var ops only (grad and jvp record a walk of their own) at {}",
                std::panic::Location::caller()
            );
        }
        self.tape.check_owns(seed, "grad_with");
        for &var in wrt {
            self.tape.check_owns(var, "grad");
        }
        let (shape, seed_shape) = (self.shape(), seed.shape());
        if seed_shape != shape {
            shape_panic(
                "grad_with",
                format_args!(
                    "seed has shape {:?}, the output {:?}",
                    seed_shape.as_slice(),
                    shape.as_slice()
                ),
            );
        }
        self.tape.check_not_spent("grad");
        backward::run_on_tape(self.tape, self.id, seed, wrt)
    }

    /// This node's shape; panics naming `op`, unless it has exactly one element.
    #[track_caller]
    fn scalar_shape(self, op: &str, instead: &str) -> Shape {
        let shape = self.shape();
        if shape.iter().product::<usize>() != 1 {
            shape_panic(
                op,
                format_args!(
                    "output has shape {:?}, not one element; use {instead} for a non-scalar output",
                    shape.as_slice()
                ),
            );
        }
        shape
    }
}

impl fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var({}, shape {:?})", self.id, self.shape().as_slice())
    }
}
