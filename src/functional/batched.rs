//! Batches of seeds: [`vjp_batched`] and [`jvp_batched`] take a stack of cotangents or tangents
//! (a leading axis of seeds) and walk the tape once for all of them, which is how [`jacfwd`],
//! [`jacrev`] and [`hessian`](crate::hessian) take a whole Jacobian in one pass. JAX:
//! `vmap(vjp_fn)`, `vmap(jvp)`; PyTorch: `torch.func.vmap` over `vjp`/`jvp`,
//! `torch.autograd.grad(..., is_grads_batched=True)`.
//!
//! The seeds go through each op's one rule together, on a leading axis that the rule's
//! elementwise, broadcasting ops and matrix products carry along; an op whose rule does not say
//! it takes batches ([`Op::batches_seeds`](crate::ops::Op::batches_seeds), false by default, so
//! a user's op needs nothing more) makes the walk fall back to one walk per seed, with the same
//! answer. The tests check the batched walk against the one-seed walks for every op of the table.
//!
//! [`jacfwd`]: crate::jacfwd
//! [`jacrev`]: crate::jacrev

use super::vars_on;
use crate::engine::pull_back;
use crate::tensor::shape_panic;
use crate::{Tape, Tensor, Var};

/// How a Jacobian or a Hessian walks its seeds (one per row or column). JAX: `jacrev` with or
/// without its `vmap`; PyTorch: `torch.autograd.functional.jacobian(..., vectorize=True)` or not.
///
/// ```
/// use tapegrad::{Seeds, Tensor, jacrev_with};
/// let x = [Tensor::from_slice(&[1.0, 2.0])];
/// let batched = jacrev_with(&x, Seeds::Batched, |v| v[0].exp());
/// assert_eq!(batched, jacrev_with(&x, Seeds::OneAtATime, |v| v[0].exp()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Seeds {
    /// All in one walk when every op on the way takes batches, else one walk each (the default).
    #[default]
    Batched,
    /// One walk each: the reference the batched walk is checked against.
    OneAtATime,
}

/// For each of `wrt`, `Σ seed ⊙ output` differentiated for each of `len` stacked seeds
/// (`seeds` pairs outputs with stacks of shape `[len, ..output shape]`): a `[len, ..shape]`
/// tensor per `wrt`, from one walk or, if `seeds` asks or an op does not batch, from `len`.
pub(crate) fn pull_back_stacked<'t>(
    tape: &'t Tape,
    seeds: &[(Var<'t>, Tensor)],
    wrt: &[Var<'t>],
    len: usize,
    how: Seeds,
) -> Vec<Tensor> {
    if how == Seeds::Batched
        && let Some(gradients) = pull_back(tape, seeds, wrt, Some(len))
    {
        return gradients;
    }
    let mut stacked: Vec<Tensor> = (wrt.iter())
        .map(|var| {
            let mut shape = var.shape();
            shape.insert(0, len);
            Tensor::zeros(&shape)
        })
        .collect();
    for k in 0..len {
        let one: Vec<(Var<'t>, Tensor)> = (seeds.iter())
            .map(|(output, stack)| {
                let size = stack.len() / len.max(1);
                let data = stack.data()[k * size..(k + 1) * size].to_vec();
                let seed = Tensor::new(data, &output.shape()).expect("one seed's elements");
                (*output, seed)
            })
            .collect();
        let gradients = pull_back(tape, &one, wrt, None).expect("a walk without a batch");
        for (total, gradient) in stacked.iter_mut().zip(gradients) {
            let size = gradient.len();
            total.data_mut()[k * size..(k + 1) * size].copy_from_slice(gradient.data());
        }
    }
    stacked
}

/// The number of seeds in `stacks`, each `[len, ..shapes[i]]`; panics naming `what`, both
/// shapes and the caller's line otherwise.
#[track_caller]
pub(crate) fn stack_len(what: &str, stacks: &[Tensor], shapes: &[Vec<usize>]) -> usize {
    let stack_shapes: Vec<&[usize]> = stacks.iter().map(Tensor::shape).collect();
    let len = stack_shapes
        .first()
        .and_then(|shape| shape.first())
        .copied();
    let fits = stacks.len() == shapes.len()
        && len.is_some()
        && (stack_shapes.iter().zip(shapes))
            .all(|(stack, shape)| stack.first() == len.as_ref() && &stack[1..] == shape.as_slice());
    if !fits {
        shape_panic(
            what,
            format_args!(
                "the seeds have shapes {stack_shapes:?}, and must be [seeds, ..shape] for the \
                 shapes {shapes:?}, with one number of seeds"
            ),
        );
    }
    len.unwrap_or(0)
}

/// The output of `f` at `inputs` and the vector-Jacobian products of a stack of cotangents, in
/// one walk: `cotangents` is `[k, ..output shape]`, and the result holds, per input, a
/// `[k, ..input shape]` stack whose slice `j` is `Jᵀ cotangents[j]`. JAX: `vmap(vjp_fn)`;
/// PyTorch: `torch.autograd.grad(..., is_grads_batched=True)`; Theano: `T.Lop` in a `scan`.
///
/// Panics, naming both shapes and the caller's line, unless `cotangents` is `[k, ..output
/// shape]`.
///
/// ```
/// use tapegrad::{Tensor, vjp_batched};
/// // f(x) = x², J = diag(2x): the identity's rows pull back to J's rows.
/// let x = Tensor::from_slice(&[1.0, 3.0]);
/// let rows = Tensor::from_rows(&[[1.0, 0.0], [0.0, 1.0]]);
/// let (value, pulled) = vjp_batched(&[x], &rows, |v| v[0].square());
/// assert_eq!(value.data(), &[1.0, 9.0]);
/// assert_eq!(pulled[0].data(), &[2.0, 0.0, 0.0, 6.0]);
/// ```
#[track_caller]
pub fn vjp_batched<F>(inputs: &[Tensor], cotangents: &Tensor, f: F) -> (Tensor, Vec<Tensor>)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let output = f(&vars);
    let len = stack_len(
        "vjp_batched",
        std::slice::from_ref(cotangents),
        &[output.shape().to_vec()],
    );
    let seeds = [(output, cotangents.clone())];
    let pulled = pull_back_stacked(&tape, &seeds, &vars, len, Seeds::Batched);
    (output.value(), pulled)
}

/// The output of `f` at `inputs` and the Jacobian-vector products of a stack of tangents, in
/// one walk: `tangents` holds per input a `[k, ..input shape]` stack, and the result is the
/// `[k, ..output shape]` stack whose slice `j` is `J` times the `j`-th tangents. JAX:
/// `vmap(jvp)`; PyTorch: `torch.func.vmap` over `torch.func.jvp`; Theano: `T.Rop` in a `scan`.
///
/// As [`jvp`](crate::jvp), it transposes the recorded vector-Jacobian product (double VJP),
/// here with all the tangents as one batch of seeds. Panics, naming the shapes and the caller's
/// line, unless every stack is `[k, ..its input's shape]` with one `k`.
///
/// ```
/// use tapegrad::{Tensor, jvp_batched};
/// // f(x, y) = x y: along (1, 0) it moves by y, along (0, 1) by x.
/// let inputs = [Tensor::scalar(3.0), Tensor::scalar(5.0)];
/// let tangents = [Tensor::from_slice(&[1.0, 0.0]), Tensor::from_slice(&[0.0, 1.0])];
/// let (value, moved) = jvp_batched(&inputs, &tangents, |v| v[0] * v[1]);
/// assert_eq!((value.item(), moved.data()), (15.0, &[5.0, 3.0][..]));
/// ```
#[track_caller]
pub fn jvp_batched<F>(inputs: &[Tensor], tangents: &[Tensor], f: F) -> (Tensor, Tensor)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let len = stack_len("jvp_batched", tangents, &shapes);
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let output = f(&vars);
    let moved = push_forward_stacked(output, &vars, tangents, len, Seeds::Batched);
    (output.value(), moved)
}

/// `J` of `output` in `vars` times each of `len` stacked tangents (one `[len, ..shape]` stack per
/// var): the recorded pullback `u ↦ Jᵀu`, walked back to `u` with the tangents as seeds.
pub(crate) fn push_forward_stacked<'t>(
    output: Var<'t>,
    vars: &[Var<'t>],
    tangents: &[Tensor],
    len: usize,
    how: Seeds,
) -> Tensor {
    let tape = output.tape();
    let cotangent = tape.var(Tensor::zeros(&output.shape()));
    let pullback = output.grad_with(cotangent, vars);
    let seeds: Vec<(Var<'t>, Tensor)> =
        pullback.into_iter().zip(tangents.iter().cloned()).collect();
    let mut moved = pull_back_stacked(tape, &seeds, &[cotangent], len, how);
    moved.pop().expect("one result for the cotangent")
}

/// `len` stacked one-hot seeds for `shapes` laid end to end: seed `j` is 1 at element `j` of the
/// flattened, concatenated shapes and 0 elsewhere (the identity, cut into one stack per shape).
pub(crate) fn identity_stacks(shapes: &[Vec<usize>]) -> Vec<Tensor> {
    let total: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    let mut offset = 0;
    (shapes.iter())
        .map(|shape| {
            let size: usize = shape.iter().product();
            let mut stack_shape = vec![total];
            stack_shape.extend_from_slice(shape);
            let mut stack = Tensor::zeros(&stack_shape);
            for element in 0..size {
                stack.data_mut()[(offset + element) * size + element] = 1.0;
            }
            offset += size;
            stack
        })
        .collect()
}

/// The stacks `[k, ..shape]` side by side as a `[k, Σ size]` matrix.
pub(crate) fn side_by_side(stacks: &[Tensor], k: usize) -> Tensor {
    if stacks.is_empty() {
        return Tensor::zeros(&[k, 0]);
    }
    let columns: Vec<Tensor> = (stacks.iter())
        .map(|stack| stack.reshape(&[k, stack.shape()[1..].iter().product()]))
        .collect();
    Tensor::concat(&columns.iter().collect::<Vec<_>>(), 1)
}
