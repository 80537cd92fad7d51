//! The playground's data sets: the tutorial's moons (scikit-learn's, from NumPy's stream), two
//! circles, XOR, cs231n's three-armed spiral, and `x1,x2,label` rows uploaded as CSV.

use std::f64::consts::TAU;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::Tensor;
use tapegrad::datasets::{make_moons_numpy, make_spiral, read_csv};
use tapegrad::numpy_random::RandomState;

use crate::settings::{Dataset, LIMITS, Settings};

/// Points `[N, 2]` with one class label each, and the number of classes the network outputs.
#[derive(Clone, Debug)]
pub struct Data {
    pub x: Tensor,
    pub labels: Vec<usize>,
    pub classes: usize,
}

impl Data {
    fn new(x: Tensor, labels: Vec<usize>) -> Data {
        // Two outputs at least, as the tutorial's, even for data of one class.
        let classes = labels.iter().max().map_or(2, |&max| (max + 1).max(2));
        Data { x, labels, classes }
    }

    /// The data set `settings` name, drawn from its seed; `None` for an uploaded CSV, which the
    /// run keeps itself.
    pub fn generate(settings: &Settings) -> Option<Data> {
        let (samples, noise) = (settings.samples, settings.noise);
        let mut numpy = RandomState::new(settings.seed);
        let (x, labels) = match settings.dataset {
            // The tutorial's `np.random.seed(0); sklearn.datasets.make_moons(200, noise=0.20)`.
            Dataset::Moons => make_moons_numpy(samples, noise, &mut numpy),
            Dataset::Circles => circles(samples, noise, &mut numpy),
            Dataset::Xor => xor(samples, noise, &mut numpy),
            Dataset::Spiral => {
                let per_class = (samples / 3).max(1);
                let mut rng = StdRng::seed_from_u64(u64::from(settings.seed));
                make_spiral(per_class, 3, noise, &mut rng)
            }
            Dataset::Csv => return None,
        };
        Some(Data::new(x, labels))
    }

    /// `x1,x2,label` rows, read by the library's CSV reader, within the playground's caps;
    /// errors name the line and the column.
    pub fn from_csv(bytes: &[u8]) -> Result<Data, String> {
        if bytes.len() > LIMITS.max_csv_bytes {
            return Err(format!(
                "the file has more than {} bytes, the most the playground reads",
                LIMITS.max_csv_bytes
            ));
        }
        let (x, labels) = read_csv(bytes).map_err(|error| error.to_string())?;
        if labels.len() > LIMITS.max_samples {
            return Err(format!(
                "{} rows, more than the {} points the playground trains on",
                labels.len(),
                LIMITS.max_samples
            ));
        }
        if let Some(row) = labels.iter().position(|&label| label >= LIMITS.max_classes) {
            return Err(format!(
                "row {}: class {} is beyond the {} classes the playground colours (labels 0 to {})",
                row + 1,
                labels[row],
                LIMITS.max_classes,
                LIMITS.max_classes - 1
            ));
        }
        let limit = LIMITS.max_coordinate;
        if let Some(index) = x.data().iter().position(|c| c.abs() > limit) {
            return Err(format!(
                "row {}: coordinate {:e} is beyond ±{limit:e}, the most the playground draws",
                index / 2 + 1,
                x.data()[index]
            ));
        }
        Ok(Data::new(x, labels))
    }

    /// The square the page draws: the points' range with half a unit around it, as the
    /// tutorial's `plot_decision_boundary` (`X.min() - .5` to `X.max() + .5`).
    pub fn bounds(&self) -> [f64; 4] {
        let range = |axis: usize| {
            let values = self.x.data().iter().skip(axis).step_by(2);
            values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &v| {
                (low.min(v), high.max(v))
            })
        };
        let ((x_min, x_max), (y_min, y_max)) = (range(0), range(1));
        [x_min - 0.5, x_max + 0.5, y_min - 0.5, y_max + 0.5]
    }
}

/// Two circles as scikit-learn's `make_circles(n, noise=noise, factor=0.5)`: the outer one class
/// 0, the inner one (half the radius) class 1, shuffled, Gaussian noise on each coordinate.
fn circles(samples: usize, noise: f64, rng: &mut RandomState) -> (Tensor, Vec<usize>) {
    let outer = samples / 2;
    let on_circle = |count: usize, radius: f64, label: usize| {
        (0..count).map(move |i| {
            let angle = TAU * i as f64 / count as f64;
            ([radius * angle.cos(), radius * angle.sin()], label)
        })
    };
    let mut points: Vec<([f64; 2], usize)> = on_circle(outer, 1.0, 0)
        .chain(on_circle(samples - outer, 0.5, 1))
        .collect();
    rng.shuffle(&mut points);
    with_noise(points, noise, rng)
}

/// The TensorFlow Playground's XOR: points uniform in the square [-1, 1]², class 1 where the
/// two coordinates have the same sign, then Gaussian noise on each coordinate.
fn xor(samples: usize, noise: f64, rng: &mut RandomState) -> (Tensor, Vec<usize>) {
    let points = (0..samples)
        .map(|_| {
            let [x1, x2] = [0; 2].map(|_| 2.0 * rng.random_sample() - 1.0);
            ([x1, x2], usize::from(x1 * x2 > 0.0))
        })
        .collect();
    with_noise(points, noise, rng)
}

fn with_noise(
    points: Vec<([f64; 2], usize)>,
    noise: f64,
    rng: &mut RandomState,
) -> (Tensor, Vec<usize>) {
    let labels = points.iter().map(|&(_, label)| label).collect();
    let coordinates = points
        .iter()
        .flat_map(|(point, _)| *point)
        .map(|coordinate| coordinate + rng.normal(0.0, noise))
        .collect();
    let x = Tensor::new(coordinates, &[points.len(), 2]).expect("two coordinates per point");
    (x, labels)
}
