//! Forward mode: Jacobian-vector products, and whole Jacobians column by column ([`jacfwd`]) or
//! row by row ([`jacrev`]). PyTorch: `torch.func.jvp`, `jacfwd`, `jacrev`; JAX: `jax.jvp`,
//! `jacfwd`, `jacrev`; Theano: `T.Rop`.
//!
//! An op's forward-mode derivative comes from its one rule, by transposing it: the rule gives the
//! vector-Jacobian product `Jᵀu`, which is linear in `u`, so `J v` is the gradient in `u` of
//! `⟨Jᵀu, v⟩`, exactly (Townsend's "double VJP"). So every op, a user's too, has forward mode
//! without a second rule, and the result is recorded like any gradient: it can be differentiated
//! again (the `jvp` of a gradient is a Hessian-vector product, forward-over-reverse).

use std::panic::Location;

use super::batched::{identity_stacks, pull_back_stacked, push_forward_stacked, side_by_side};
use super::{Seeds, vars_on};
use crate::tensor::shape_panic;
use crate::{Tape, Tensor, Var};

impl<'t> Var<'t> {
    /// The Jacobian of this output with respect to `inputs`, times `tangents` (one per input, of
    /// its shape): how the output moves when the inputs move along the tangents, recorded on the
    /// tape so that it can be differentiated again. PyTorch: `torch.func.jvp`; JAX: `jax.jvp`;
    /// Theano: `T.Rop`.
    ///
    /// It records the vector-Jacobian product `Jᵀu` for a cotangent `u` (a variable whose value
    /// does not matter, since the product is linear in it) and returns the gradient of
    /// `⟨Jᵀu, v⟩` in `u`: two recorded walks. Panics, naming both shapes and the caller's line,
    /// unless `tangents` match `inputs` in number and shapes.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    /// let v = tape.constant(Tensor::from_slice(&[1.0, 0.5]));
    /// let y = x * x * x; // J = diag(3x²) = diag(3, 12)
    /// assert_eq!(y.jvp(&[x], &[v]).value().data(), &[3.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn jvp(self, inputs: &[Var<'t>], tangents: &[Var<'t>]) -> Var<'t> {
        let shapes = |vars: &[Var<'t>]| -> Vec<Vec<usize>> {
            vars.iter().map(|v| v.shape().to_vec()).collect()
        };
        let (input_shapes, tangent_shapes) = (shapes(inputs), shapes(tangents));
        if input_shapes != tangent_shapes {
            shape_panic(
                "jvp",
                format_args!(
                    "tangents have shapes {tangent_shapes:?}, the inputs {input_shapes:?}"
                ),
            );
        }
        let cotangent = self.tape.var(Tensor::zeros(&self.shape()));
        let pullback = self.grad_with(cotangent, inputs);
        let inner = (pullback.iter().zip(tangents))
            .map(|(&p, &t)| (p * t).sum())
            .reduce(|total, term| total + term);
        match inner {
            Some(inner) => inner.grad(&[cotangent])[0],
            None => self.tape.constant(Tensor::zeros(&self.shape())),
        }
    }
}

/// The output of `f` at `inputs` and its Jacobian times `tangents` (one per input, of its
/// shape), as plain tensors. PyTorch: `torch.func.jvp(f, inputs, tangents)`; JAX:
/// `jax.jvp(f, inputs, tangents)`; Theano: `T.Rop`. For a result to differentiate again, use
/// [`Var::jvp`].
///
/// Panics, naming both shapes and the caller's line, unless `tangents` match `inputs`.
///
/// ```
/// use tapegrad::{Tensor, jvp};
/// // f(x, y) = x² y: along (1, 0) it changes by 2xy, along (0, 1) by x².
/// let inputs = [Tensor::scalar(3.0), Tensor::scalar(5.0)];
/// let (value, along_x) = jvp(&inputs, &[Tensor::scalar(1.0), Tensor::scalar(0.0)], |v| {
///     v[0].square() * v[1]
/// });
/// assert_eq!((value.item(), along_x.item()), (45.0, 30.0));
/// ```
#[track_caller]
pub fn jvp<F>(inputs: &[Tensor], tangents: &[Tensor], f: F) -> (Tensor, Tensor)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let output = f(&vars);
    let tangents: Vec<Var> = tangents.iter().map(|t| tape.constant(t.clone())).collect();
    (output.value(), output.jvp(&vars, &tangents).value())
}

/// The output of `f` at `inputs` and the vector-Jacobian product `Jᵀ cotangent`, one tensor per
/// input: the gradient of `Σ cotangent ⊙ f`. PyTorch: `torch.func.vjp`; JAX: `jax.vjp`;
/// Theano: `T.Lop`. Panics, naming both shapes, unless `cotangent` has the output's shape.
///
/// ```
/// use tapegrad::{Tensor, vjp};
/// let x = Tensor::from_slice(&[1.0, 2.0]);
/// let (value, pulled) = vjp(&[x], &Tensor::from_slice(&[1.0, 10.0]), |v| v[0] * v[0]);
/// assert_eq!(value.data(), &[1.0, 4.0]);
/// assert_eq!(pulled[0].data(), &[2.0, 40.0]);
/// ```
#[track_caller]
pub fn vjp<F>(inputs: &[Tensor], cotangent: &Tensor, f: F) -> (Tensor, Vec<Tensor>)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let output = f(&vars);
    let gradients = output.backward_with(cotangent.clone());
    let pulled = (vars.iter())
        .map(|&var| match gradients.get(var) {
            Some(gradient) => gradient.clone(),
            None => Tensor::zeros(&var.shape()),
        })
        .collect();
    (output.value(), pulled)
}

/// The Jacobian of `f` at `inputs` in reverse mode: the vector-Jacobian products of the
/// output's one-hot seeds, all in one walk of the tape (see [`Seeds`]). PyTorch:
/// `torch.func.jacrev`; JAX: `jax.jacrev`.
///
/// Layout, as [`hessian`](crate::hessian)'s: a `[m, n]` matrix, output elements down (row-major
/// order of the output) and input elements across (the inputs flattened one after another, in
/// order, each row-major). JAX returns one block per input; these are those blocks side by side.
/// Panics, naming the caller's line, if the matrix would have more than 2²⁸ entries.
///
/// ```
/// use tapegrad::{Tensor, jacrev};
/// // f(x, y) = [x y, x + y]
/// let j = jacrev(&[Tensor::scalar(2.0), Tensor::scalar(3.0)], |v| {
///     tapegrad::ops::stack(&[v[0] * v[1], v[0] + v[1]], 0)
/// });
/// assert_eq!(j.shape(), &[2, 2]);
/// assert_eq!(j.data(), &[3.0, 2.0, 1.0, 1.0]);
/// ```
#[track_caller]
pub fn jacrev<F>(inputs: &[Tensor], f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    jacrev_with(inputs, Seeds::Batched, f)
}

/// [`jacrev`], walking its seeds as `how` says: all at once, or one at a time (the reference the
/// batched walk is checked against). JAX: `jacrev` without and with its `vmap`.
///
/// ```
/// use tapegrad::{Seeds, Tensor, jacrev_with};
/// let x = [Tensor::from_rows(&[[0.5, -1.0, 2.0]])];
/// let f = tapegrad::function(|v| (v[0].tanh() * v[0]).softmax(1));
/// let batched = jacrev_with(&x, Seeds::Batched, &f);
/// assert!(batched.max_abs_diff(&jacrev_with(&x, Seeds::OneAtATime, &f)) < 1e-15);
/// ```
#[track_caller]
pub fn jacrev_with<F>(inputs: &[Tensor], how: Seeds, f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let output = f(&vars);
    let shape = output.shape().to_vec();
    let (m, n) = (shape.iter().product::<usize>(), total_len(inputs));
    check_size("jacrev", m, n);
    let seeds = identity_stacks(std::slice::from_ref(&shape));
    let seeds = [(output, seeds.into_iter().next().expect("one stack"))];
    side_by_side(&pull_back_stacked(&tape, &seeds, &vars, m, how), m)
}

/// The Jacobian of `f` at `inputs` in forward mode: the Jacobian-vector products of the inputs'
/// one-hot tangents, all through one recorded vector-Jacobian product and one walk of it (see
/// [`Seeds`]). PyTorch: `torch.func.jacfwd`; JAX: `jax.jacfwd`. The layout is [`jacrev`]'s.
///
/// ```
/// use tapegrad::{Tensor, jacfwd, jacrev};
/// let inputs = [Tensor::from_slice(&[0.5, -1.0, 2.0])];
/// let f = tapegrad::function(|v| v[0].softmax(0));
/// assert_eq!(jacfwd(&inputs, &f).shape(), &[3, 3]);
/// assert!(jacfwd(&inputs, &f).max_abs_diff(&jacrev(&inputs, &f)) < 1e-15);
/// ```
#[track_caller]
pub fn jacfwd<F>(inputs: &[Tensor], f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    jacfwd_with(inputs, Seeds::Batched, f)
}

/// [`jacfwd`], walking its seeds as `how` says: all at once, or one at a time. JAX: `jacfwd`
/// without and with its `vmap`.
///
/// ```
/// use tapegrad::{Seeds, Tensor, jacfwd_with};
/// let x = [Tensor::from_rows(&[[0.5, -1.0]]), Tensor::from_rows(&[[2.0], [1.0]])];
/// let f = tapegrad::function(|v| v[0].matmul(v[1]).tanh() + v[0].sum());
/// let batched = jacfwd_with(&x, Seeds::Batched, &f);
/// assert!(batched.max_abs_diff(&jacfwd_with(&x, Seeds::OneAtATime, &f)) < 1e-15);
/// ```
#[track_caller]
pub fn jacfwd_with<F>(inputs: &[Tensor], how: Seeds, f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let output = f(&vars);
    let (m, n) = (output.shape().iter().product::<usize>(), total_len(inputs));
    check_size("jacfwd", m, n);
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let tangents = identity_stacks(&shapes);
    let columns = push_forward_stacked(output, &vars, &tangents, n, how);
    columns.reshape(&[n, m]).transpose()
}

/// The Jacobian of `f` at `inputs`, in forward mode when the inputs have fewer elements than the
/// output ([`jacfwd`]: one walk per input element) and in reverse mode otherwise ([`jacrev`]:
/// one walk per output element, the cheaper kind of walk on a tie). The layout is [`jacrev`]'s.
/// PyTorch: `torch.autograd.functional.jacobian`; Theano: `theano.gradient.jacobian`.
///
/// ```
/// use tapegrad::{Tensor, jacobian};
/// // The softmax Jacobian: diag(s) − s sᵀ.
/// let z = Tensor::from_rows(&[[0.0, 0.0]]);
/// let j = jacobian(&[z], |v| v[0].softmax(1));
/// assert_eq!(j.data(), &[0.25, -0.25, -0.25, 0.25]);
/// ```
#[track_caller]
pub fn jacobian<F>(inputs: &[Tensor], f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let output_len = {
        let tape = Tape::no_grad();
        f(&vars_on(&tape, inputs)).value().len()
    };
    if total_len(inputs) < output_len {
        jacfwd(inputs, f)
    } else {
        jacrev(inputs, f)
    }
}

/// The number of elements of all `inputs` together.
fn total_len(inputs: &[Tensor]) -> usize {
    inputs.iter().map(Tensor::len).sum()
}

/// Panics naming `what` and the caller's line if a `[rows, columns]` Jacobian would have more
/// than 2²⁸ entries.
#[track_caller]
fn check_size(what: &str, rows: usize, columns: usize) {
    const MAX_ENTRIES: usize = 1 << 28;
    if rows
        .checked_mul(columns)
        .is_none_or(|entries| entries > MAX_ENTRIES)
    {
        panic!(
            "{what}: a {rows} x {columns} Jacobian has more than 2^28 entries; use jvp or vjp \
             for products with it at {}",
            Location::caller()
        );
    }
}
