//! Checking analytic gradients against central finite differences, as PyTorch's `gradcheck` and
//! `gradgradcheck` do: first derivatives against differences of the function, second
//! derivatives against differences of the gradient.

use std::fmt;

use crate::functional::{hessian_of, vars_on};
use crate::tensor::{Shape, unravel};
use crate::{Tape, Tensor, Var};

/// Settings of a finite-difference check; [`Default`] has PyTorch's: `eps` 1e-6, `atol` 1e-5, `rtol` 1e-3.
///
/// An element passes when `|analytic − numeric| ≤ atol + rtol · |numeric|`, where `numeric` is
/// `(f(x + eps) − f(x − eps)) / (2 eps)`.
///
/// ```
/// use tapegrad::{GradCheck, Tensor};
///
/// let x = Tensor::from_slice(&[0.5, -1.0, 2.0]);
/// let report = GradCheck::default().atol(1e-7).check(&[x], |v| v[0].exp().sum()).unwrap();
/// assert_eq!(report.elements, 3);
/// assert!(report.max_abs_error < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheck {
    /// The step of the central difference.
    pub eps: f64,
    /// The absolute tolerance.
    pub atol: f64,
    /// The tolerance relative to the numeric gradient.
    pub rtol: f64,
}

impl Default for GradCheck {
    fn default() -> GradCheck {
        GradCheck {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// What a passing check measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheckReport {
    /// How many gradient elements were compared ([`gradgradcheck`]: how many Hessian entries).
    pub elements: usize,
    /// The largest `|analytic − numeric|` seen.
    pub max_abs_error: f64,
}

/// Why a gradient check failed.
#[derive(Clone, Debug, PartialEq)]
pub enum GradCheckError {
    /// The function returned more than one element; it must build a scalar.
    NotScalar {
        /// The shape it returned.
        shape: Shape,
    },
    /// The output does not depend on this input through the tape: no gradient reached it.
    NoGradient {
        /// The input's position in the slice passed to the check.
        input: usize,
    },
    /// An analytic gradient element disagrees with its finite difference.
    Mismatch {
        /// The input's position in the slice passed to the check.
        input: usize,
        /// The element's index within that input.
        index: Shape,
        /// The gradient the tape computed.
        analytic: f64,
        /// The central finite difference.
        numeric: f64,
    },
    /// Forward mode (PyTorch's `check_forward_ad`): the Jacobian-vector product along the
    /// check's fixed tangent (one per input, from [`GradCheck::tangents`]) disagrees with the
    /// central finite difference of `f` along it. The first derivatives passed, so the rule is
    /// right and its transpose, the forward mode, is not.
    ForwardMismatch {
        /// The Jacobian-vector product the tape computed.
        analytic: f64,
        /// `(f(x + eps·v) − f(x − eps·v)) / (2 eps)`.
        numeric: f64,
    },
    /// [`gradgradcheck`]: a second derivative `∂²f / ∂x ∂y` disagrees with the central finite
    /// difference of the first derivative `∂f / ∂x` along `y`.
    SecondOrderMismatch {
        /// The input `x` belongs to, and its index there.
        of: (usize, Vec<usize>),
        /// The input `y` belongs to, and its index there.
        along: (usize, Vec<usize>),
        /// The second derivative the tape computed.
        analytic: f64,
        /// The central finite difference of the gradient.
        numeric: f64,
    },
}

impl fmt::Display for GradCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradCheckError::NotScalar { shape } => {
                write!(
                    f,
                    "gradcheck: the function returned shape {:?}, not a scalar",
                    shape.as_slice()
                )
            }
            GradCheckError::NoGradient { input } => {
                write!(f, "gradcheck: input {input} received no gradient")
            }
            GradCheckError::Mismatch {
                input,
                index,
                analytic,
                numeric,
            } => write!(
                f,
                "gradcheck: input {input}, element {:?}: analytic {analytic:.6e} vs numeric {numeric:.6e} (difference {:.1e})",
                index.as_slice(),
                (analytic - numeric).abs()
            ),
            GradCheckError::ForwardMismatch { analytic, numeric } => write!(
                f,
                "gradcheck: forward mode: the Jacobian-vector product along the check's tangent is \
                 {analytic:.6e}, the finite difference {numeric:.6e} (difference {:.1e})",
                (analytic - numeric).abs()
            ),
            GradCheckError::SecondOrderMismatch {
                of,
                along,
                analytic,
                numeric,
            } => write!(
                f,
                "gradgradcheck: second derivative of input {} element {:?} along input {} element {:?}: \
                 analytic {analytic:.6e} vs numeric {numeric:.6e} (difference {:.1e})",
                of.0,
                of.1,
                along.0,
                along.1,
                (analytic - numeric).abs()
            ),
        }
    }
}

impl std::error::Error for GradCheckError {}

/// `f`, unchanged, with the signature every checker here takes (and [`hvp`](crate::hvp),
/// [`hessian`](crate::hessian)): a function of the variables on some tape, for every tape. A
/// closure stored in a variable does not get that signature by itself (Rust infers one tape's
/// lifetime, and passing it fails with "one type is more general than the other"); through
/// `function` it does, and can then be passed as often as needed.
///
/// ```
/// use tapegrad::{Tensor, function, gradcheck, gradgradcheck, hessian};
///
/// let f = function(|v| (v[0] * v[0] * v[1]).sum());
/// let x = [Tensor::from_slice(&[1.0, 2.0]), Tensor::from_slice(&[3.0, 4.0])];
/// gradcheck(&x, &f).unwrap();
/// gradgradcheck(&x, &f).unwrap();
/// assert_eq!(hessian(&x, &f).shape(), &[4, 4]);
/// ```
pub fn function<F>(f: F) -> F
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    f
}

/// A function of the inputs' variables, as the checks take it inside: one compiled copy of the
/// checker serves every closure.
type Function<'f> = dyn for<'t> Fn(&[Var<'t>]) -> Var<'t> + 'f;

/// [`GradCheck::check`] with PyTorch's default tolerances.
///
/// `f` builds a scalar from one variable per input tensor, on a tape of the checker's.
///
/// ```
/// use tapegrad::{Tensor, gradcheck};
///
/// let w = Tensor::from_rows(&[[0.3, -0.2], [0.1, 0.4]]);
/// let x = Tensor::from_rows(&[[1.0, 2.0]]);
/// gradcheck(&[w, x], |v| v[1].matmul(v[0]).tanh().sum()).unwrap();
/// ```
pub fn gradcheck<F>(inputs: &[Tensor], f: F) -> Result<GradCheckReport, GradCheckError>
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    GradCheck::default().check(inputs, f)
}

/// [`GradCheck::check_second_order`] with PyTorch's default tolerances: second derivatives
/// against central finite differences of the first. PyTorch: `torch.autograd.gradgradcheck`.
///
/// `f` builds a scalar from one variable per input tensor. It checks that every entry of the
/// Hessian (the tape's gradient, differentiated on the tape) matches the finite difference of the
/// gradient. Like PyTorch's, it assumes the first derivatives passed [`gradcheck`]: a wrong rule
/// gives consistently wrong second derivatives. An op whose rule calls
/// [`not_differentiable`](crate::ops::BackwardArgs::not_differentiable) makes it panic, naming
/// the op.
///
/// ```
/// use tapegrad::{Tensor, gradgradcheck};
///
/// let w = Tensor::from_rows(&[[0.3, -0.2], [0.1, 0.4]]);
/// let x = Tensor::from_rows(&[[1.0, 2.0]]);
/// let report = gradgradcheck(&[w, x], |v| v[1].matmul(v[0]).tanh().sum()).unwrap();
/// assert_eq!(report.elements, 6 * 6); // every entry of the 6 x 6 Hessian
/// ```
pub fn gradgradcheck<F>(inputs: &[Tensor], f: F) -> Result<GradCheckReport, GradCheckError>
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    GradCheck::default().check_second_order(inputs, f)
}

impl GradCheck {
    /// These settings with the finite-difference step set to `eps`.
    pub fn eps(self, eps: f64) -> GradCheck {
        GradCheck { eps, ..self }
    }

    /// These settings with the absolute tolerance set to `atol`.
    pub fn atol(self, atol: f64) -> GradCheck {
        GradCheck { atol, ..self }
    }

    /// These settings with the relative tolerance set to `rtol`.
    pub fn rtol(self, rtol: f64) -> GradCheck {
        GradCheck { rtol, ..self }
    }

    /// Compares every element of the tape's gradient of `f` with respect to each input against a
    /// central finite difference; the first element outside the tolerance is the error.
    pub fn check<F>(&self, inputs: &[Tensor], f: F) -> Result<GradCheckReport, GradCheckError>
    where
        F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
    {
        self.check_of(inputs, &f)
    }

    /// [`check`](GradCheck::check) compiled once, not once per closure.
    fn check_of(
        &self,
        inputs: &[Tensor],
        f: &Function<'_>,
    ) -> Result<GradCheckReport, GradCheckError> {
        let analytic = analytic_gradients(&Tape::new(), inputs, f)?;
        let analytic = analytic
            .into_iter()
            .enumerate()
            .map(|(input, grad)| grad.ok_or(GradCheckError::NoGradient { input }))
            .collect::<Result<Vec<Tensor>, _>>()?;
        let numeric = self.numeric_gradients_of(inputs, f);
        let mut report = GradCheckReport {
            elements: 0,
            max_abs_error: 0.0,
        };
        for (input, (analytic, numeric)) in analytic.iter().zip(&numeric).enumerate() {
            for (element, (&analytic, &numeric)) in
                analytic.data().iter().zip(numeric.data()).enumerate()
            {
                let error = (analytic - numeric).abs();
                if !self.within(analytic, numeric) {
                    return Err(GradCheckError::Mismatch {
                        input,
                        index: unravel(element, inputs[input].shape()),
                        analytic,
                        numeric,
                    });
                }
                report.elements += 1;
                report.max_abs_error = report.max_abs_error.max(error);
            }
        }
        // Forward mode, as PyTorch's `check_forward_ad`: the Jacobian-vector product along a fixed
        // tangent against the central difference along it.
        let tangents = GradCheck::tangents(inputs);
        let (_, analytic) = crate::functional::jvp(inputs, &tangents, f);
        let analytic = analytic.item();
        let numeric = self.directional_difference(inputs, &tangents, f);
        if !self.within(analytic, numeric) {
            return Err(GradCheckError::ForwardMismatch { analytic, numeric });
        }
        Ok(report)
    }

    /// The tangents [`check`](GradCheck::check) moves the inputs along for its forward-mode
    /// check: one per input, of its shape, every element from a fixed sequence in `[-0.5, 0.5)`
    /// with no symmetry, the same on every call.
    ///
    /// ```
    /// use tapegrad::{GradCheck, Tensor};
    /// let tangents = GradCheck::tangents(&[Tensor::zeros(&[2]), Tensor::zeros(&[])]);
    /// assert_eq!(tangents[0].shape(), &[2]);
    /// assert!(tangents.iter().flat_map(|t| t.data()).all(|x| (-0.5..0.5).contains(x)));
    /// ```
    pub fn tangents(inputs: &[Tensor]) -> Vec<Tensor> {
        let mut k = 0.0f64;
        let mut next = || {
            k += 1.0;
            (k * 0.6180339887).fract() - 0.5
        };
        (inputs.iter())
            .map(|input| {
                let values = (0..input.len()).map(|_| next()).collect();
                Tensor::new(values, input.shape()).expect("the input's length")
            })
            .collect()
    }

    /// `(f(x + eps·v) − f(x − eps·v)) / (2 eps)` for tangents `v`.
    fn directional_difference(
        &self,
        inputs: &[Tensor],
        tangents: &[Tensor],
        f: &Function<'_>,
    ) -> f64 {
        let moved = |sign: f64| -> Vec<Tensor> {
            (inputs.iter().zip(tangents))
                .map(|(input, tangent)| {
                    let mut moved = input.clone();
                    moved.add_scaled(sign * self.eps, tangent);
                    moved
                })
                .collect()
        };
        let mut tape = Tape::new();
        let above = evaluate(&mut tape, &moved(1.0), f);
        let below = evaluate(&mut tape, &moved(-1.0), f);
        (above - below) / (2.0 * self.eps)
    }

    /// Compares second derivatives with finite differences, as [`gradgradcheck`] does, with
    /// these settings: each Hessian entry `∂²f / ∂x ∂y` against `(∂f/∂x (y + eps) − ∂f/∂x (y − eps)) / (2 eps)`.
    pub fn check_second_order<F>(
        &self,
        inputs: &[Tensor],
        f: F,
    ) -> Result<GradCheckReport, GradCheckError>
    where
        F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
    {
        self.check_second_order_of(inputs, &f)
    }

    /// [`check_second_order`](GradCheck::check_second_order) compiled once.
    fn check_second_order_of(
        &self,
        inputs: &[Tensor],
        f: &Function<'_>,
    ) -> Result<GradCheckReport, GradCheckError> {
        let tape = Tape::new();
        let vars = vars_on(&tape, inputs);
        let output = f(&vars);
        if output.value().len() != 1 {
            return Err(GradCheckError::NotScalar {
                shape: output.shape(),
            });
        }
        let first = output.backward(); // the walk from `output` ignores the nodes `grad` adds
        if let Some(input) = vars.iter().position(|&var| first.get(var).is_none()) {
            return Err(GradCheckError::NoGradient { input });
        }
        let on_tape = output.grad(&vars);
        let analytic = hessian_of(&vars, &on_tape);
        let numeric = self.numeric_hessian(inputs, f);
        let n = numeric.shape()[0];
        let position = |flat: usize| locate(flat, inputs);
        let mut report = GradCheckReport {
            elements: 0,
            max_abs_error: 0.0,
        };
        for (entry, (&analytic, &numeric)) in analytic.data().iter().zip(numeric.data()).enumerate()
        {
            if !self.within(analytic, numeric) {
                return Err(GradCheckError::SecondOrderMismatch {
                    of: position(entry / n),
                    along: position(entry % n),
                    analytic,
                    numeric,
                });
            }
            report.elements += 1;
            report.max_abs_error = report.max_abs_error.max((analytic - numeric).abs());
        }
        Ok(report)
    }

    /// `|analytic − numeric| ≤ atol + rtol · |numeric|`, false for NaN.
    fn within(&self, analytic: f64, numeric: f64) -> bool {
        (analytic - numeric).abs() <= self.atol + self.rtol * numeric.abs()
    }

    /// The central finite differences of the (tensor) gradient of `f`: column `j` is
    /// `(∇f(θ + eps eⱼ) − ∇f(θ − eps eⱼ)) / (2 eps)`, flattened as [`hessian`](crate::hessian) lays it out.
    fn numeric_hessian(&self, inputs: &[Tensor], f: &Function<'_>) -> Tensor {
        let n: usize = inputs.iter().map(Tensor::len).sum();
        let mut hessian = Tensor::zeros(&[n, n]);
        let mut perturbed: Vec<Tensor> = inputs.to_vec();
        let mut tape = Tape::new();
        let mut gradient_at = |perturbed: &[Tensor]| -> Vec<f64> {
            tape.clear();
            let grads = analytic_gradients(&tape, perturbed, f).expect("checked scalar above");
            let zeros = |input: usize| vec![0.0; perturbed[input].len()];
            (0..perturbed.len())
                .flat_map(|input| match &grads[input] {
                    Some(grad) => grad.data().to_vec(),
                    None => zeros(input),
                })
                .collect()
        };
        let mut column = 0;
        for input in 0..inputs.len() {
            for element in 0..inputs[input].len() {
                let original = inputs[input].data()[element];
                perturbed[input].data_mut()[element] = original + self.eps;
                let above = gradient_at(&perturbed);
                perturbed[input].data_mut()[element] = original - self.eps;
                let below = gradient_at(&perturbed);
                perturbed[input].data_mut()[element] = original;
                for (row, (above, below)) in above.iter().zip(&below).enumerate() {
                    hessian.data_mut()[row * n + column] = (above - below) / (2.0 * self.eps);
                }
                column += 1;
            }
        }
        hessian
    }

    /// The central finite difference `(f(x + eps) − f(x − eps)) / (2 eps)` of `f` with respect to
    /// every element of every input: the numeric side of [`check`](GradCheck::check), for tables
    /// that show it beside other gradients. `f` must return one element (it panics otherwise).
    ///
    /// ```
    /// use tapegrad::{GradCheck, Tensor};
    /// let x = Tensor::from_slice(&[1.0, 2.0]);
    /// let numeric = GradCheck::default().numeric_gradients(&[x], |v| v[0].square().sum());
    /// assert!(numeric[0].approx_eq(&Tensor::from_slice(&[2.0, 4.0]), 1e-8));
    /// ```
    pub fn numeric_gradients<F>(&self, inputs: &[Tensor], f: F) -> Vec<Tensor>
    where
        F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
    {
        self.numeric_gradients_of(inputs, &f)
    }

    /// [`numeric_gradients`](GradCheck::numeric_gradients) compiled once.
    fn numeric_gradients_of(&self, inputs: &[Tensor], f: &Function<'_>) -> Vec<Tensor> {
        let mut tape = Tape::new();
        let mut perturbed: Vec<Tensor> = inputs.to_vec();
        let mut gradients = Vec::with_capacity(inputs.len());
        for (input, tensor) in inputs.iter().enumerate() {
            let mut gradient = Tensor::zeros(tensor.shape());
            for (element, &original) in tensor.data().iter().enumerate() {
                perturbed[input].data_mut()[element] = original + self.eps;
                let above = evaluate(&mut tape, &perturbed, f);
                perturbed[input].data_mut()[element] = original - self.eps;
                let below = evaluate(&mut tape, &perturbed, f);
                perturbed[input].data_mut()[element] = original;
                gradient.data_mut()[element] = (above - below) / (2.0 * self.eps);
            }
            gradients.push(gradient);
        }
        gradients
    }
}

/// The tape's gradient with respect to each input (`None` where none reached it).
fn analytic_gradients(
    tape: &Tape,
    inputs: &[Tensor],
    f: &Function<'_>,
) -> Result<Vec<Option<Tensor>>, GradCheckError> {
    let vars = vars_on(tape, inputs);
    let output = f(&vars);
    if output.value().len() != 1 {
        return Err(GradCheckError::NotScalar {
            shape: output.shape(),
        });
    }
    let grads = output.backward();
    Ok(vars.iter().map(|&v| grads.get(v).cloned()).collect())
}

/// `f` at `inputs`, on `tape` cleared for the purpose.
fn evaluate(tape: &mut Tape, inputs: &[Tensor], f: &Function<'_>) -> f64 {
    tape.clear();
    f(&vars_on(tape, inputs)).item()
}

/// Which input, and which element of it, the flat position `flat` of [`hessian`](crate::hessian)'s layout is.
fn locate(mut flat: usize, inputs: &[Tensor]) -> (usize, Vec<usize>) {
    for (input, tensor) in inputs.iter().enumerate() {
        if flat < tensor.len() {
            return (input, unravel(flat, tensor.shape()).to_vec());
        }
        flat -= tensor.len();
    }
    unreachable!("a position within the inputs")
}
