//! Mini-batches of a data set: rows of `x` with their labels, in order or shuffled.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::Tensor;
use crate::tensor::shape_panic;

/// An iterator over mini-batches `(rows of x, their labels)` of a data set. PyTorch:
/// `DataLoader(TensorDataset(x, y), batch_size, shuffle, drop_last)`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// use tapegrad::Tensor;
/// use tapegrad::nn::Batches;
///
/// let x = Tensor::from_rows(&[[0.0], [1.0], [2.0], [3.0], [4.0]]);
/// let labels = [0, 1, 2, 3, 4];
/// let sizes: Vec<usize> = Batches::new(&x, &labels, 2).map(|(_, y)| y.len()).collect();
/// assert_eq!(sizes, [2, 2, 1]); // the last, partial batch is kept...
/// let dropped = Batches::new(&x, &labels, 2).drop_last(true).count();
/// assert_eq!(dropped, 2); // ...unless dropped
/// let mut rng = StdRng::seed_from_u64(0);
/// for (rows, y) in Batches::new(&x, &labels, 2).shuffled(&mut rng) {
///     for (row, &label) in rows.data().iter().zip(&y) {
///         assert_eq!(*row, label as f64); // rows and labels stay together
///     }
/// }
/// ```
pub struct Batches<'a> {
    x: &'a Tensor,
    labels: &'a [usize],
    order: Vec<usize>,
    batch_size: usize,
    drop_last: bool,
    next: usize,
}

impl<'a> Batches<'a> {
    /// Batches of `batch_size` rows of `x` (`[N, …]`) and of `labels` (N of them), in order.
    /// Panics, naming the caller's line, if the counts differ or `batch_size` is 0.
    #[track_caller]
    pub fn new(x: &'a Tensor, labels: &'a [usize], batch_size: usize) -> Batches<'a> {
        let rows = x.shape().first().copied().unwrap_or(0);
        if rows != labels.len() || batch_size == 0 {
            shape_panic(
                "Batches::new",
                format_args!(
                    "{} labels for x of shape {:?} in batches of {batch_size}: need one label per row and a batch of at least 1",
                    labels.len(),
                    x.shape()
                ),
            );
        }
        Batches {
            x,
            labels,
            order: (0..rows).collect(),
            batch_size,
            drop_last: false,
            next: 0,
        }
    }

    /// The same batches over the rows in an order shuffled by `rng` (one pass of an epoch).
    pub fn shuffled<R: Rng + ?Sized>(mut self, rng: &mut R) -> Batches<'a> {
        self.order.shuffle(rng);
        self
    }

    /// Whether to drop the last batch when it has fewer than `batch_size` rows.
    pub fn drop_last(mut self, drop_last: bool) -> Batches<'a> {
        self.drop_last = drop_last;
        self
    }
}

impl Iterator for Batches<'_> {
    type Item = (Tensor, Vec<usize>);

    fn next(&mut self) -> Option<(Tensor, Vec<usize>)> {
        let remaining = self.order.len() - self.next;
        if remaining == 0 || (self.drop_last && remaining < self.batch_size) {
            return None;
        }
        let rows = &self.order[self.next..self.next + remaining.min(self.batch_size)];
        self.next += rows.len();
        let labels = rows.iter().map(|&row| self.labels[row]).collect();
        Some((self.x.index_select(rows), labels))
    }
}
