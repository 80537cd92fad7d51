//! cs231n's spiral: `classes` arms of `points_per_class` points winding out from the centre.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::moons::linspace;
use super::room_for;
use crate::Tensor;

/// The spiral data set of Stanford's cs231n notes ("Putting it together: minimal neural network
/// case study"): class `j`'s points have radius `r` evenly spaced in `[0, 1]` and angle
/// `t = linspace(4j, 4(j + 1)) + noise · N(0, 1)`, at `(r sin t, r cos t)`. Not linearly
/// separable: a linear classifier reaches about 50% on three classes, a small MLP about 99%.
///
/// Returns the points as a `[classes · points_per_class, 2]` tensor, class by class, and their
/// labels. Panics, naming both counts and the caller's line, if they need more memory than
/// there is.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// use tapegrad::datasets::make_spiral;
///
/// let (x, labels) = make_spiral(100, 3, 0.2, &mut StdRng::seed_from_u64(0));
/// assert_eq!(x.shape(), &[300, 2]);
/// assert_eq!((labels[0], labels[100], labels[299]), (0, 1, 2));
/// assert_eq!(x.data()[..2], [0.0, 0.0]); // every arm starts at the centre
/// ```
#[track_caller]
pub fn make_spiral<R: Rng + ?Sized>(
    points_per_class: usize,
    classes: usize,
    noise: f64,
    rng: &mut R,
) -> (Tensor, Vec<usize>) {
    let points = points_per_class.checked_mul(classes);
    let what = format!("{classes} classes of {points_per_class} points");
    let mut coordinates = room_for("make_spiral", &what, points.and_then(|n| n.checked_mul(2)));
    let mut labels = room_for("make_spiral", &what, points);
    for class in 0..classes {
        let start = 4.0 * class as f64;
        let radii = linspace(0.0, 1.0, points_per_class);
        let angles = linspace(start, start + 4.0, points_per_class);
        for (r, t) in radii.zip(angles) {
            let draw: f64 = StandardNormal.sample(rng);
            let t = t + noise * draw;
            coordinates.extend([r * t.sin(), r * t.cos()]);
            labels.push(class);
        }
    }
    let x = Tensor::new(coordinates, &[labels.len(), 2]).expect("two coordinates per point");
    (x, labels)
}
