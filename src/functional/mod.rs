//! Functions of functions: derivatives of a function `f` of several tensors, taken at a point:
//! Hessians ([`hvp`], [`hessian`], [`sharpness`]), Jacobian-vector and vector-Jacobian products
//! ([`jvp`], [`vjp`]) and Jacobians ([`jacfwd`], [`jacrev`], [`jacobian`]). Each is built on
//! [`Var::grad`] (the gradient recorded on the tape, so that it can be differentiated again).
//! PyTorch: `torch.autograd.functional`, `torch.func`; JAX: `jax.jvp`, `jax.hessian`, ….

mod batched;
mod forward;
mod hessian;

use smallvec::SmallVec;

pub use batched::{Seeds, jvp_batched, vjp_batched};
pub use forward::{jacfwd, jacfwd_with, jacobian, jacrev, jacrev_with, jvp, vjp};
pub(crate) use hessian::hessian_of;
pub use hessian::{HessianPath, Sharpness, hessian, hessian_with, hvp, sharpness};

use crate::{Tape, Tensor, Var};

/// One variable per input tensor, on `tape`.
pub(crate) fn vars_on<'t>(tape: &'t Tape, inputs: &[Tensor]) -> SmallVec<[Var<'t>; 4]> {
    inputs.iter().map(|t| tape.var(t.clone())).collect()
}
