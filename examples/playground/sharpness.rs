//! The sharpness (the Hessian's top eigenvalue) measured in slices: the power iteration of
//! `tapegrad::sharpness`, one Hessian-vector product at a time, so that a run on a large network
//! can stop between any two products to take a command or send a frame. `tapegrad::sharpness`
//! runs to the end in one call, which on a 2-100-100-11 network took minutes.

use tapegrad::Tensor;

/// The iteration stops when `‖H v − λ v‖ ≤ TOLERANCE ‖H v‖`: a millionth is far below what the
/// chart shows.
const TOLERANCE: f64 = 1e-6;
/// Products per phase before the estimate is taken as it stands.
pub const MAX_PRODUCTS: usize = 500;

/// A power iteration under way on `H − shift · I`.
pub struct PowerIteration {
    v: Vec<Tensor>,
    shift: f64,
    pub products: usize,
    estimate: f64,
    radius: f64,
}

/// Where a measurement stands after a product.
pub enum Progress {
    Working,
    /// The top eigenvalue, and its eigenvector to start the next measurement from.
    Done {
        eigenvalue: f64,
        eigenvector: Vec<Tensor>,
        converged: bool,
    },
}

impl PowerIteration {
    /// Starts from `start` (the last eigenvector), or from a fixed direction with no symmetry.
    pub fn new(start: Option<Vec<Tensor>>, shapes: &[&[usize]]) -> PowerIteration {
        let mut v = start.unwrap_or_else(|| {
            let mut k = 0.0f64;
            let mut tensors: Vec<Tensor> =
                shapes.iter().map(|shape| Tensor::zeros(shape)).collect();
            for x in tensors.iter_mut().flat_map(Tensor::data_mut) {
                k += 1.0;
                *x = (k * 0.7548776662).fract() - 0.5;
            }
            tensors
        });
        normalise(&mut v);
        PowerIteration {
            v,
            shift: 0.0,
            products: 0,
            estimate: 0.0,
            radius: 0.0,
        }
    }

    /// One product `hv = H v` taken: the next step. If the dominant eigenvalue is negative, or
    /// the iteration does not settle, it goes on with `H` shifted by that magnitude, as
    /// `tapegrad::sharpness` does, so that the answer is the largest eigenvalue.
    pub fn advance(&mut self, mut hv: Vec<Tensor>) -> Progress {
        self.products += 1;
        for (hv, v) in hv.iter_mut().zip(&self.v) {
            hv.add_scaled(-self.shift, v);
        }
        let eigenvalue = dot(&self.v, &hv);
        let norm = dot(&hv, &hv).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return self.finish(eigenvalue, norm == 0.0);
        }
        let residual: f64 = hv
            .iter()
            .zip(&self.v)
            .map(|(hv, v)| {
                let mut residual = hv.clone();
                residual.add_scaled(-eigenvalue, v);
                residual.data().iter().map(|x| x * x).sum::<f64>()
            })
            .sum();
        let converged = residual.sqrt() <= TOLERANCE * norm;
        self.v = hv;
        normalise(&mut self.v);
        self.estimate = eigenvalue;
        self.radius = norm;
        let exhausted = self.products >= MAX_PRODUCTS;
        let dominant_phase = self.shift == 0.0;
        if dominant_phase && (exhausted || (converged && eigenvalue < 0.0)) {
            // Again on H + ρI, every eigenvalue of which is ≥ 0, from the last direction.
            self.shift = -self.radius;
            self.products = 0;
            return Progress::Working;
        }
        if converged || exhausted {
            return self.finish(eigenvalue, converged);
        }
        Progress::Working
    }

    fn finish(&mut self, eigenvalue: f64, converged: bool) -> Progress {
        Progress::Done {
            eigenvalue: eigenvalue + self.shift,
            eigenvector: std::mem::take(&mut self.v),
            converged,
        }
    }

    /// The direction to multiply by next.
    pub fn direction(&self) -> &[Tensor] {
        &self.v
    }

    /// The estimate so far, of `H`'s eigenvalue.
    pub fn estimate(&self) -> f64 {
        self.estimate + self.shift
    }
}

fn dot(a: &[Tensor], b: &[Tensor]) -> f64 {
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
}

fn normalise(v: &mut [Tensor]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|t| *t *= 1.0 / norm);
    }
}
