//! Second derivatives of a scalar function of several tensors: a Hessian-vector product for the
//! cost of a few gradient passes, and the dense Hessian for small parameter sets. Both are built
//! on [`Var::grad`], which records the gradient on the tape so that it can be differentiated again.

use std::panic::Location;

use crate::gradcheck::vars_on;
use crate::tensor::shape_panic;
use crate::{Tape, Tensor, Var};

/// The Hessian of `f` at `inputs` times `direction`, one tensor per input: `H v`, where `H` is
/// the matrix of second derivatives of `f` over all the inputs' elements and `v` is `direction`
/// (one tensor of each input's shape). PyTorch: `torch.autograd.functional.hvp`; JAX:
/// `jvp(grad(f), ...)`.
///
/// It costs one forward pass, one gradient recorded on the tape and one backward pass through
/// it, whatever the number of parameters: the Hessian itself is never formed. `f` must return
/// one element; it panics otherwise, or if `direction` does not match `inputs` in number and
/// shapes, naming the caller's line.
///
/// ```
/// use tapegrad::{Tensor, hvp};
/// // f(x, y) = x² y: its Hessian is [[2y, 2x], [2x, 0]].
/// let (x, y) = (Tensor::scalar(3.0), Tensor::scalar(5.0));
/// let direction = [Tensor::scalar(1.0), Tensor::scalar(0.0)];
/// let hv = hvp(&[x, y], &direction, |v| v[0].square() * v[1]);
/// assert_eq!((hv[0].item(), hv[1].item()), (10.0, 6.0));
/// ```
#[track_caller]
pub fn hvp<F>(inputs: &[Tensor], direction: &[Tensor], f: F) -> Vec<Tensor>
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let shapes_match = inputs.len() == direction.len()
        && inputs
            .iter()
            .zip(direction)
            .all(|(a, b)| a.shape() == b.shape());
    if !shapes_match {
        let shapes = |tensors: &[Tensor]| -> Vec<Vec<usize>> {
            tensors.iter().map(|t| t.shape().to_vec()).collect()
        };
        shape_panic(
            "hvp",
            format_args!(
                "direction has shapes {:?}, the inputs {:?}",
                shapes(direction),
                shapes(inputs)
            ),
        );
    }
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let grads = f(&vars).grad(&vars);
    // ∇f · v, a scalar whose gradient is H v.
    let grad_dot_direction = grads
        .iter()
        .zip(direction)
        .map(|(&grad, v)| (grad * tape.constant(v.clone())).sum())
        .reduce(|total, term| total + term)
        .unwrap_or_else(|| tape.constant(Tensor::scalar(0.0)));
    let second = grad_dot_direction.backward();
    vars.iter()
        .map(|&var| match second.get(var) {
            Some(hv) => hv.clone(),
            None => Tensor::zeros(&var.shape()), // ∇f does not depend on it
        })
        .collect()
}

/// The Hessian of `f` at `inputs`: the `[n, n]` matrix of second derivatives `∂²f / ∂θᵢ ∂θⱼ`
/// over all `n` elements of all inputs. PyTorch: `torch.autograd.functional.hessian`; JAX:
/// `jax.hessian`.
///
/// Layout: the inputs are flattened one after another, in the order given, each in row-major
/// order, so the Hessian is made of blocks: rows and columns `0 .. len(inputs[0])` belong to
/// the first input, the next `len(inputs[1])` to the second, and block `(a, b)` holds the
/// derivatives with respect to an element of input `a` and one of input `b`.
///
/// It costs one gradient recorded on the tape and then one backward pass per element, `n` in
/// all: for the few parameters of a tiny network. For more, use [`hvp`]. Panics if `f` does not
/// return one element, or if the matrix would have more than 2²⁸ entries.
///
/// ```
/// use tapegrad::{Tensor, hessian};
/// // f(w, b) = Σ w² b: ∂²/∂w² = 2b·I, ∂²/∂w∂b = 2w, ∂²/∂b² = 0.
/// let w = Tensor::from_slice(&[1.0, 2.0]);
/// let b = Tensor::scalar(3.0);
/// let h = hessian(&[w, b], |v| (v[0].square() * v[1]).sum());
/// assert_eq!(h.shape(), &[3, 3]);
/// assert_eq!(h.data(), &[6.0, 0.0, 2.0, 0.0, 6.0, 4.0, 2.0, 4.0, 0.0]);
/// ```
#[track_caller]
pub fn hessian<F>(inputs: &[Tensor], f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let grads = f(&vars).grad(&vars);
    hessian_of(&vars, &grads)
}

/// The Hessian from the gradients `grads` of a scalar with respect to `vars`, recorded on the
/// tape: row `i` is the gradient of element `i` of the flattened gradient.
#[track_caller]
pub(crate) fn hessian_of(vars: &[Var<'_>], grads: &[Var<'_>]) -> Tensor {
    let n: usize = vars
        .iter()
        .map(|var| var.shape().iter().product::<usize>())
        .sum();
    const MAX_ENTRIES: usize = 1 << 28;
    if n.checked_mul(n).is_none_or(|entries| entries > MAX_ENTRIES) {
        panic!(
            "hessian: {n} parameters make an {n} x {n} matrix, more than 2^28 entries; \
             use hvp for products with it at {}",
            Location::caller()
        );
    }
    let mut hessian = Tensor::zeros(&[n, n]);
    let mut rows = hessian.data_mut().chunks_exact_mut(n.max(1));
    for &grad in grads {
        let shape = grad.shape();
        for element in 0..shape.iter().product() {
            let row = rows.next().expect("one row per element");
            if !grad.needs_grad() {
                continue; // a constant gradient: its row of second derivatives is zero
            }
            let mut seed = Tensor::zeros(&shape);
            seed.data_mut()[element] = 1.0;
            let second = grad.backward_with(seed);
            let mut column = 0;
            for &var in vars {
                let len: usize = var.shape().iter().product();
                if let Some(block) = second.get(var) {
                    row[column..column + len].copy_from_slice(block.data());
                } // else: the gradient does not depend on it, and the block stays zero
                column += len;
            }
        }
    }
    hessian
}
