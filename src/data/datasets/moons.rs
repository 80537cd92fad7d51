//! scikit-learn's two moons: from NumPy's random stream exactly, or from any `rand` generator.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};

use super::room_for;
use crate::Tensor;
use crate::numpy_random::RandomState;

/// Two interleaving half circles, exactly as scikit-learn's `make_moons(n_samples, noise=noise)`
/// makes them from the same NumPy generator: `np.random.seed(0)` then
/// `make_moons(200, noise=0.20)` is `make_moons(200, 0.2, &mut RandomState::new(0))`.
///
/// scikit-learn's construction, in its order of draws: `n_samples / 2` points on the upper
/// circle `(cos t, sin t)` (label 0), then the rest on the lower one `(1 − cos t, 1 − sin t − 0.5)`
/// (label 1), `t` from NumPy's `linspace(0, π, n)`; **then** the rows shuffled (`np.random.shuffle`
/// of their indices); **then** Gaussian noise of standard deviation `noise` added to every
/// coordinate in row-major order (`np.random.normal(scale=noise, size=(n, 2))`). The labels come out
/// identical to scikit-learn's and the coordinates equal within 1e-15 (NumPy's `cos` and `sin` can
/// differ from the system's in the last bit).
///
/// Returns the points as an `[n_samples, 2]` tensor and their labels. Panics, naming the
/// count and the caller's line, if they need more memory than there is.
///
/// ```
/// use tapegrad::datasets::make_moons_numpy;
/// use tapegrad::numpy_random::RandomState;
///
/// // np.random.seed(0); X, y = sklearn.datasets.make_moons(200, noise=0.20)
/// let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
/// assert_eq!(x.shape(), &[200, 2]);
/// assert_eq!(labels[..4], [0, 1, 1, 0]);
/// assert!((x.data()[0] - 0.7434611761955393).abs() < 1e-15);
/// ```
#[track_caller]
pub fn make_moons_numpy(
    n_samples: usize,
    noise: f64,
    rng: &mut RandomState,
) -> (Tensor, Vec<usize>) {
    let mut points = noise_free_moons("make_moons_numpy", n_samples);
    rng.shuffle(&mut points);
    into_tensor(points, || rng.normal(0.0, noise))
}

/// Two moons as [`make_moons_numpy`] builds them (scikit-learn's `make_moons`), but drawn from
/// any `rand` generator with `rand`'s shuffle and normal distribution: the same kind of data, not
/// scikit-learn's numbers, even from a [`RandomState`]; for those, use [`make_moons_numpy`].
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// use tapegrad::datasets::make_moons;
///
/// let (x, labels) = make_moons(200, 0.2, &mut StdRng::seed_from_u64(0));
/// assert_eq!(x.shape(), &[200, 2]);
/// assert_eq!(labels.iter().filter(|&&label| label == 1).count(), 100);
/// ```
/// Panics, naming the count and the caller's line, if the points need more memory than there is.
#[track_caller]
pub fn make_moons<R: Rng + ?Sized>(
    n_samples: usize,
    noise: f64,
    rng: &mut R,
) -> (Tensor, Vec<usize>) {
    let mut points = noise_free_moons("make_moons", n_samples);
    points.shuffle(rng);
    into_tensor(points, || {
        let draw: f64 = StandardNormal.sample(rng);
        noise * draw
    })
}

/// The points on the two circles with their labels, upper moon first, before shuffle and noise.
/// The coordinates' room is checked here too, so that neither allocation can abort.
#[track_caller]
fn noise_free_moons(op: &str, n_samples: usize) -> Vec<([f64; 2], usize)> {
    let what = format!("{n_samples} samples");
    drop(room_for::<f64>(op, &what, n_samples.checked_mul(3)));
    let mut points = room_for(op, &what, Some(n_samples));
    let n_upper = n_samples / 2;
    let n_lower = n_samples - n_upper;
    let upper = linspace(0.0, std::f64::consts::PI, n_upper).map(|t| ([t.cos(), t.sin()], 0));
    // `1 - sin t - 0.5` in scikit-learn's order of operations, not `0.5 - sin t`.
    let lower = linspace(0.0, std::f64::consts::PI, n_lower)
        .map(|t| ([1.0 - t.cos(), 1.0 - t.sin() - 0.5], 1));
    points.extend(upper.chain(lower));
    points
}

/// The points as an `[n, 2]` tensor, `jitter()` added to each coordinate in row-major order.
fn into_tensor(
    points: Vec<([f64; 2], usize)>,
    mut jitter: impl FnMut() -> f64,
) -> (Tensor, Vec<usize>) {
    let labels = points.iter().map(|&(_, label)| label).collect();
    let coordinates = points
        .iter()
        .flat_map(|(point, _)| *point)
        .map(|coordinate| coordinate + jitter())
        .collect();
    let x = Tensor::new(coordinates, &[points.len(), 2]).expect("two coordinates per point");
    (x, labels)
}

/// `np.linspace(start, stop, n)` as NumPy computes it: `i * step + start`, with the last element
/// set to `stop` itself (`(n - 1) * step` can miss it in the last bit).
pub(crate) fn linspace(start: f64, stop: f64, n: usize) -> impl Iterator<Item = f64> {
    let step = (stop - start) / n.saturating_sub(1).max(1) as f64;
    (0..n).map(move |i| {
        if n > 1 && i == n - 1 {
            stop
        } else {
            i as f64 * step + start
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn noise_free_points_lie_on_their_circles() {
        let (x, labels) = make_moons_numpy(101, 0.0, &mut RandomState::new(3));
        assert_eq!((x.shape(), labels.len()), (&[101, 2][..], 101));
        assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 50);
        for (point, &label) in x.data().chunks_exact(2).zip(&labels) {
            let centre = if label == 0 { [0.0, 0.0] } else { [1.0, 0.5] };
            let radius = (point[0] - centre[0]).hypot(point[1] - centre[1]);
            assert!(
                (radius - 1.0).abs() < 1e-12,
                "{point:?} label {label}: radius {radius}"
            );
            // Upper moon above its centre, lower moon below its own.
            assert!(if label == 0 {
                point[1] >= -1e-12
            } else {
                point[1] <= 0.5 + 1e-12
            });
        }
    }

    #[test]
    fn linspace_ends_exactly_at_stop() {
        let values: Vec<f64> = linspace(0.0, std::f64::consts::PI, 100).collect();
        assert_eq!(values.len(), 100);
        assert_eq!((values[0], values[99]), (0.0, std::f64::consts::PI));
        assert_eq!(values[1], std::f64::consts::PI / 99.0);
        assert_eq!(linspace(0.0, 1.0, 1).collect::<Vec<_>>(), [0.0]);
        assert_eq!(linspace(0.0, 1.0, 0).count(), 0);
    }

    #[test]
    fn any_rand_generator_same_seed_same_data_other_seed_other_data() {
        let a = make_moons(200, 0.2, &mut StdRng::seed_from_u64(1));
        let b = make_moons(200, 0.2, &mut StdRng::seed_from_u64(1));
        let c = make_moons(200, 0.2, &mut StdRng::seed_from_u64(2));
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
        assert_ne!(a.1[..100], [0; 100], "labels are shuffled");
    }
}
