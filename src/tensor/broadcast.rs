//! NumPy broadcasting: the shape two operands broadcast to, the walk over it, and the way back
//! (summing a broadcast gradient down to an input's shape).

use super::few_columns::{sum_rows, with_width};
use super::{Shape, Tensor, shape_len, shape_panic};

/// The shape that `left` and `right` broadcast to under NumPy's rule: align the shapes on the
/// right; each pair of lengths must be equal or contain a 1. Panics naming `op` otherwise.
#[track_caller]
pub(crate) fn broadcast_shapes(op: &str, left: &[usize], right: &[usize]) -> Shape {
    match broadcast_shapes_checked(left, right) {
        // Two empty operands can broadcast to a shape whose nonzero lengths overflow.
        Ok(shape) => {
            shape_len(op, &shape);
            shape
        }
        Err(axis) => {
            let rank = left.len().max(right.len());
            let (l, r) = (axis_len(left, rank, axis), axis_len(right, rank, axis));
            shape_panic(
                op,
                format_args!("{left:?} and {right:?} do not broadcast (axis {axis}: {l} vs {r})"),
            )
        }
    }
}

/// The broadcast shape of `left` and `right`, or the first axis (of the longer shape) where
/// the lengths clash.
pub(crate) fn broadcast_shapes_checked(left: &[usize], right: &[usize]) -> Result<Shape, usize> {
    let rank = left.len().max(right.len());
    let mut shape = Shape::with_capacity(rank);
    for axis in 0..rank {
        // A missing (leading) axis acts as length 1.
        let (l, r) = (axis_len(left, rank, axis), axis_len(right, rank, axis));
        match (l, r) {
            _ if l == r => shape.push(l),
            (1, _) => shape.push(r),
            (_, 1) => shape.push(l),
            _ => return Err(axis),
        }
    }
    Ok(shape)
}

/// Length of `axis` of `shape` once left-padded with ones to `rank` axes.
fn axis_len(shape: &[usize], rank: usize, axis: usize) -> usize {
    let pad = rank - shape.len();
    if axis < pad { 1 } else { shape[axis - pad] }
}

/// Row-major strides of `shape` seen as broadcast to `target`: 0 on every broadcast axis.
pub(super) fn broadcast_strides(shape: &[usize], target: &[usize]) -> Shape {
    let mut strides = Shape::from_elem(0, target.len());
    let mut stride = 1;
    for axis in (0..target.len()).rev() {
        let len = axis_len(shape, target.len(), axis);
        if len != 1 {
            strides[axis] = stride;
        }
        stride *= len;
    }
    strides
}

/// Calls `visit(a_offset, b_offset)` for every element of `target` in row-major order, with the
/// offsets into tensors of shapes `a` and `b` broadcast to it.
pub(super) fn for_each_broadcast(
    target: &[usize],
    a: &[usize],
    b: &[usize],
    visit: impl FnMut(usize, usize),
) {
    let (stride_a, stride_b) = (broadcast_strides(a, target), broadcast_strides(b, target));
    for_each_strided(target, &stride_a, &stride_b, visit);
}

/// Walks `target` in row-major order and calls `visit(a_offset, b_offset)`, where each offset
/// moves by its own stride per step along an axis (0 to repeat, permuted to transpose).
/// An odometer: no allocation per element.
pub(super) fn for_each_strided(
    target: &[usize],
    stride_a: &[usize],
    stride_b: &[usize],
    mut visit: impl FnMut(usize, usize),
) {
    if target.contains(&0) {
        return;
    }
    let mut index = Shape::from_elem(0, target.len());
    let (mut offset_a, mut offset_b) = (0, 0);
    loop {
        visit(offset_a, offset_b);
        // Advance the odometer: bump the last axis, carrying into the ones before it.
        let mut axis = target.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            offset_a += stride_a[axis];
            offset_b += stride_b[axis];
            if index[axis] < target[axis] {
                break;
            }
            offset_a -= stride_a[axis] * target[axis];
            offset_b -= stride_b[axis] * target[axis];
            index[axis] = 0;
        }
    }
}

/// Whether `small`, without its leading ones, is the tail of `big`: then `small`'s elements repeat
/// as one contiguous block along `big` (a bias row added to every row, a scalar to everything).
pub(super) fn is_trailing_block(small: &[usize], big: &[usize]) -> bool {
    let first = small
        .iter()
        .position(|&len| len != 1)
        .unwrap_or(small.len());
    small.len() <= big.len() && big.ends_with(&small[first..])
}

impl Tensor {
    /// This tensor repeated along its length-1 (or missing) axes to fill `shape`.
    ///
    /// Panics, naming both shapes and the caller's line, if it does not broadcast to `shape`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let row = Tensor::from_rows(&[[1.0, 2.0]]);
    /// assert_eq!(row.broadcast_to(&[2, 2]), Tensor::from_rows(&[[1.0, 2.0], [1.0, 2.0]]));
    /// ```
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        let one_element = self.shape.iter().all(|&len| len == 1);
        if let ([value], true) = (
            &self.data[..],
            one_element && self.shape.len() <= shape.len(),
        ) {
            return Tensor::filled("broadcast_to", shape, *value); // a scalar's gradient, spread
        }
        if broadcast_shapes("broadcast_to", self.shape(), shape).as_slice() != shape {
            shape_panic(
                "broadcast_to",
                format_args!("{:?} does not broadcast to {shape:?}", self.shape()),
            );
        }
        let mut data = super::pool::take(shape_len("broadcast_to", shape));
        for_each_broadcast(shape, self.shape(), shape, |offset, _| {
            data.push(self.data[offset])
        });
        Tensor::from_parts(data, shape.into())
    }

    /// Sums this tensor down to `shape`, undoing a broadcast from `shape` to this tensor's shape:
    /// the gradient of a broadcast input is the sum of the output gradient over the copies.
    ///
    /// Panics, naming both shapes and the caller's line, if `shape` does not broadcast to ours.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let grad = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(grad.sum_to(&[1, 2]), Tensor::from_rows(&[[4.0, 6.0]]));
    /// assert_eq!(grad.sum_to(&[]).item(), 10.0);
    /// ```
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Tensor {
        if shape == self.shape() {
            return self.clone();
        }
        if broadcast_shapes("sum_to", shape, self.shape()).as_slice() != self.shape() {
            shape_panic(
                "sum_to",
                format_args!("{:?} cannot be summed down to {shape:?}", self.shape()),
            );
        }
        let mut sums = Tensor::zeros(shape);
        if is_trailing_block(shape, self.shape()) && !sums.is_empty() {
            // A bias's gradient: add up the rows, one contiguous block at a time.
            with_width!(sums.len(), sum_rows(&self.data, &mut sums.data));
            return sums;
        }
        for_each_broadcast(self.shape(), self.shape(), shape, |from, to| {
            sums.data[to] += self.data[from];
        });
        sums
    }

    /// The old name of [`sum_to`](Tensor::sum_to), which [`Var`](crate::Var) has always used.
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// let t = tapegrad::Tensor::from_rows(&[[1.0, 2.0]]);
    /// assert_eq!(t.sum_to(&[]).item(), 3.0);
    /// ```
    #[deprecated(since = "0.2.0", note = "renamed to `sum_to`, the name `Var` uses")]
    #[track_caller]
    pub fn sum_to_shape(&self, shape: &[usize]) -> Tensor {
        self.sum_to(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_as_numpy() {
        assert_eq!(broadcast_shapes("t", &[5, 3], &[1, 3]).as_slice(), &[5, 3]);
        assert_eq!(broadcast_shapes("t", &[5, 3], &[3]).as_slice(), &[5, 3]);
        assert_eq!(broadcast_shapes("t", &[5, 1], &[1, 4]).as_slice(), &[5, 4]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 2]).as_slice(), &[2, 2]);
        assert_eq!(
            broadcast_shapes("t", &[2, 1, 3], &[4, 1]).as_slice(),
            &[2, 4, 3]
        );
    }

    #[test]
    #[should_panic(expected = "add: [5, 3] and [4] do not broadcast (axis 1: 3 vs 4) at src/")]
    fn mismatch_names_op_shapes_and_axis() {
        broadcast_shapes("add", &[5, 3], &[4]);
    }

    #[test]
    fn walk_visits_every_pair_once() {
        let mut pairs = Vec::new();
        for_each_broadcast(&[2, 3], &[2, 1], &[3], |a, b| pairs.push((a, b)));
        assert_eq!(pairs, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
    }

    #[test]
    fn sum_to_reduces_leading_and_unit_axes() {
        let t = crate::tensor::counting(&[2, 2, 3]);
        assert_eq!(t.sum_to(&[3]).data(), &[18.0, 22.0, 26.0]);
        assert_eq!(t.sum_to(&[2, 1, 1]).data(), &[15.0, 51.0]);
        assert_eq!(t.sum_to(&[1, 2, 1]).data(), &[24.0, 42.0]);
    }
}
