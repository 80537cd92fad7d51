//! Second derivatives of a scalar function of several tensors: a Hessian-vector product for the
//! cost of a few gradient passes, and the dense Hessian for small parameter sets. Both are built
//! on [`Var::grad`], which records the gradient on the tape so that it can be differentiated again.

use std::panic::Location;

use super::batched::{identity_stacks, pull_back_stacked, side_by_side};
use super::{Seeds, vars_on};
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
/// over all `n` elements of all inputs. PyTorch: `torch.autograd.functional.hessian`,
/// `torch.func.hessian`; JAX: `jax.hessian`; Theano: `theano.gradient.hessian`.
///
/// Layout: the inputs are flattened one after another, in the order given, each in row-major
/// order, so the Hessian is made of blocks: rows and columns `0 .. len(inputs[0])` belong to
/// the first input, the next `len(inputs[1])` to the second, and block `(a, b)` holds the
/// derivatives with respect to an element of input `a` and one of input `b`.
///
/// It records the gradient on the tape and takes its `n` vector-Jacobian products one walk a
/// row (reverse-over-reverse, [`HessianPath::ReverseOverReverse`] with [`Seeds::OneAtATime`]):
/// on the tutorial's 17×17 Hessian that was the fastest of the three paths, ahead of all rows in
/// one batched walk and of forward-over-reverse, whose double VJP records one more layer of
/// rules (docs/performance-log.md has the figures). [`hessian_with`] takes the other paths. For many parameters, use [`hvp`]. Panics if `f` does not return one element,
/// or if the matrix would have more than 2²⁸ entries.
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
    hessian_with(
        inputs,
        HessianPath::ReverseOverReverse,
        Seeds::OneAtATime,
        f,
    )
}

/// How [`hessian_with`] differentiates the gradient. PyTorch: `torch.autograd.functional.hessian`'s
/// `outer_jacobian_strategy`; JAX: `jacrev(grad(f))` or `jacfwd(grad(f))`.
///
/// ```
/// use tapegrad::{HessianPath, Seeds, Tensor, hessian_with};
/// let x = [Tensor::from_slice(&[1.0, 2.0])];
/// let h = hessian_with(&x, HessianPath::ForwardOverReverse, Seeds::Batched, |v| v[0].powf(3.0).sum());
/// assert_eq!(h.data(), &[6.0, 0.0, 0.0, 12.0]); // diag(6x)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HessianPath {
    /// Vector-Jacobian products of the recorded gradient, one per row. JAX: `jacrev(grad(f))`.
    ReverseOverReverse,
    /// Jacobian-vector products of the recorded gradient, one per column, each by a double VJP.
    /// JAX: `jacfwd(grad(f))`, which `jax.hessian` is.
    ForwardOverReverse,
}

/// [`hessian`] by the path and the walking of seeds given, so that the paths can be checked
/// against each other and timed. JAX: `jacrev(grad(f))` and `jacfwd(grad(f))`.
///
/// ```
/// use tapegrad::{HessianPath, Seeds, Tensor, hessian_with};
/// let x = [Tensor::from_rows(&[[0.5, -1.0, 2.0]])];
/// let f = tapegrad::function(|v| v[0].tanh().square().sum());
/// let reverse = hessian_with(&x, HessianPath::ReverseOverReverse, Seeds::Batched, &f);
/// let forward = hessian_with(&x, HessianPath::ForwardOverReverse, Seeds::Batched, &f);
/// let one_at_a_time = hessian_with(&x, HessianPath::ReverseOverReverse, Seeds::OneAtATime, &f);
/// assert!(forward.max_abs_diff(&reverse) < 1e-14);
/// assert!(one_at_a_time.max_abs_diff(&reverse) < 1e-14);
/// ```
#[track_caller]
pub fn hessian_with<F>(inputs: &[Tensor], path: HessianPath, how: Seeds, f: F) -> Tensor
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars = vars_on(&tape, inputs);
    let grads = f(&vars).grad(&vars);
    let n = check_size(&vars);
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let seeds = identity_stacks(&shapes);
    match path {
        HessianPath::ReverseOverReverse => {
            let seeds: Vec<(Var, Tensor)> = grads.iter().copied().zip(seeds).collect();
            side_by_side(&pull_back_stacked(&tape, &seeds, &vars, n, how), n)
        }
        HessianPath::ForwardOverReverse => {
            // ∇f as one output: ⟨∇f, u⟩ for cotangents u, whose gradient H u is the pullback.
            let cotangents: Vec<Var> = (shapes.iter())
                .map(|shape| tape.var(Tensor::zeros(shape)))
                .collect();
            let inner = (grads.iter().zip(&cotangents))
                .map(|(&grad, &u)| (grad * u).sum())
                .reduce(|total, term| total + term)
                .unwrap_or_else(|| tape.constant(Tensor::scalar(0.0)));
            let pullback = inner.grad(&vars);
            let seeds: Vec<(Var, Tensor)> = pullback.into_iter().zip(seeds).collect();
            let columns = pull_back_stacked(&tape, &seeds, &cotangents, n, how);
            side_by_side(&columns, n).transpose() // row j held H e_j, column j of H
        }
    }
}

/// The Hessian from the gradients `grads` of a scalar with respect to `vars`, recorded on the
/// tape: all rows in one walk.
#[track_caller]
pub(crate) fn hessian_of(vars: &[Var<'_>], grads: &[Var<'_>]) -> Tensor {
    let n = check_size(vars);
    let Some(&first) = vars.first() else {
        return Tensor::zeros(&[0, 0]);
    };
    let shapes: Vec<Vec<usize>> = vars.iter().map(|var| var.shape().to_vec()).collect();
    let seeds: Vec<(Var, Tensor)> = grads
        .iter()
        .copied()
        .zip(identity_stacks(&shapes))
        .collect();
    side_by_side(
        &pull_back_stacked(first.tape(), &seeds, vars, n, Seeds::Batched),
        n,
    )
}

/// The number `n` of elements of `vars`; panics naming the caller's line if an `[n, n]` matrix
/// would have more than 2²⁸ entries.
#[track_caller]
fn check_size(vars: &[Var<'_>]) -> usize {
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
    n
}

/// The largest eigenvalue of a Hessian and its eigenvector, from [`sharpness`].
#[derive(Clone, Debug)]
pub struct Sharpness {
    /// The largest eigenvalue `λ` (largest, not largest in magnitude: a negative curvature
    /// direction does not count unless every direction curves down).
    pub eigenvalue: f64,
    /// A unit eigenvector for it, one tensor per input: pass it as the next call's `start` when
    /// the inputs have moved only a little, as in training, and few iterations are needed (every
    /// start is nudged by 1e-6 along a fixed direction, so even an exact eigenvector takes a few
    /// products, as many as that nudge needs to fade below the tolerance).
    pub eigenvector: Vec<Tensor>,
    /// How many Hessian-vector products the power iteration took.
    pub products: usize,
    /// Whether the iteration met its tolerance within 1000 products; if not, `eigenvalue` is
    /// the last estimate.
    pub converged: bool,
}

/// The sharpness of `f` at `inputs`: the largest eigenvalue of its Hessian, by power iteration
/// on [`hvp`], so the Hessian itself is never formed. Gradient descent with step `η` cannot
/// settle where the sharpness exceeds `2/η` (the edge of stability, Cohen et al., ICLR 2021).
///
/// Power iteration from `start` (a direction in the inputs' shapes; all zeros picks one) finds
/// the eigenvalue of largest magnitude; if that one is negative, or the iteration does not
/// settle (two eigenvalues of opposite signs and one magnitude), it iterates again on the
/// Hessian shifted by that magnitude, whose largest eigenvalue is then the dominant one. Each
/// pass stops when `‖H v − λ v‖ ≤ 1e-9 ‖H v‖`, or after 1000 products (`converged` says which).
///
/// ```
/// use tapegrad::{Tensor, sharpness};
/// // f(x, y) = x² + 3xy + 5y²: Hessian [[2, 3], [3, 10]], eigenvalues 6 ± √25 = 1 and 11.
/// let inputs = [Tensor::scalar(0.4), Tensor::scalar(-1.0)];
/// let start = [Tensor::scalar(0.0), Tensor::scalar(0.0)];
/// let top = sharpness(&inputs, &start, |v| v[0].square() + 3.0 * v[0] * v[1] + 5.0 * v[1].square());
/// assert!((top.eigenvalue - 11.0).abs() < 1e-8);
/// ```
#[track_caller]
pub fn sharpness<F>(inputs: &[Tensor], start: &[Tensor], f: F) -> Sharpness
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let product = |v: &[Tensor]| hvp(inputs, v, &f);
    let (dominant, radius) = power_iteration(start, 0.0, &product);
    if dominant.converged && dominant.eigenvalue >= 0.0 {
        return dominant;
    }
    // The dominant eigenvalue is negative, or two of opposite signs share its magnitude and the
    // iteration swings between them. On H + ρI, ρ the magnitude found, every eigenvalue is ≥ 0
    // and H's top one is the dominant one.
    let (mut top, _) = power_iteration(&dominant.eigenvector, -radius, &product);
    top.products += dominant.products;
    top
}

/// Power iteration on `H − shift · I`, where `product` multiplies by `H`; the eigenvalue it
/// returns is `H`'s, beside `‖(H − shift·I) v‖` for the last unit `v` (the magnitude of the
/// dominant eigenvalue, even where the iteration swings between two).
fn power_iteration(
    start: &[Tensor],
    shift: f64,
    product: &impl Fn(&[Tensor]) -> Vec<Tensor>,
) -> (Sharpness, f64) {
    let dot = |a: &[Tensor], b: &[Tensor]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| {
                a.data()
                    .iter()
                    .zip(b.data())
                    .map(|(x, y)| x * y)
                    .sum::<f64>()
            })
            .sum()
    };
    // A fixed direction with every element non-zero and no symmetry (a seeded stream).
    let mut spread: Vec<Tensor> = start.to_vec();
    let mut k = 0.0f64;
    for x in spread.iter_mut().flat_map(Tensor::data_mut) {
        k += 1.0;
        *x = (k * 0.7548776662).fract() - 0.5;
    }
    let unit = |mut v: Vec<Tensor>| {
        let norm = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|t| *t *= 1.0 / norm);
        v
    };
    let given = dot(start, start);
    let mut v = if given == 0.0 || !given.is_finite() {
        unit(spread) // no direction given
    } else {
        // The start, nudged along the fixed direction: a start orthogonal to the top
        // eigenvector (e₁ for diag(1, 10)) would otherwise never find it.
        let mut v = unit(start.to_vec());
        for (v, spread) in v.iter_mut().zip(&unit(spread)) {
            v.add_scaled(1e-6, spread);
        }
        unit(v)
    };
    let (mut eigenvalue, mut products, mut radius, mut converged) = (0.0, 0, 0.0, false);
    while products < 1000 {
        products += 1;
        let mut hv = product(&v);
        for (hv, v) in hv.iter_mut().zip(&v) {
            hv.add_scaled(-shift, v);
        }
        eigenvalue = dot(&v, &hv); // the Rayleigh quotient of the unit vector v
        let hv_norm = dot(&hv, &hv).sqrt();
        radius = hv_norm;
        if hv_norm == 0.0 || !hv_norm.is_finite() {
            converged = hv_norm == 0.0; // v is in the null space: an eigenvector of 0
            break;
        }
        let residual_squared: f64 = hv
            .iter()
            .zip(&v)
            .map(|(hv, v)| {
                let mut residual = hv.clone();
                residual.add_scaled(-eigenvalue, v);
                dot(
                    std::slice::from_ref(&residual),
                    std::slice::from_ref(&residual),
                )
            })
            .sum();
        v = hv;
        v.iter_mut().for_each(|t| *t *= 1.0 / hv_norm);
        if residual_squared.sqrt() <= 1e-9 * hv_norm {
            converged = true;
            break;
        }
    }
    let sharpness = Sharpness {
        eigenvalue: eigenvalue + shift,
        eigenvector: v,
        products,
        converged,
    };
    (sharpness, radius)
}
