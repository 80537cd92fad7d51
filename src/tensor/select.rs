//! Picking parts of tensors and putting them together: a range along an axis (`narrow`), rows by
//! index (`index_select`, the mini-batch and embedding lookup), and joining along an axis
//! (`concat`). Each walks the data as `outer × (axis × inner)` blocks, so every axis costs the same.

use super::{Shape, Tensor, pool, shape_len, shape_panic};

/// `(outer, length of axis, inner)`: the products of the lengths before, at and after `axis`.
#[track_caller]
fn split_at_axis(op: &str, shape: &[usize], axis: usize) -> (usize, usize, usize) {
    if axis >= shape.len() {
        shape_panic(
            op,
            format_args!("axis {axis} is out of range for shape {shape:?}"),
        );
    }
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

impl Tensor {
    /// The elements `start .. start + len` along `axis`. PyTorch: `x.narrow(dim, start, length)`,
    /// `x[:, start:start + len]`.
    ///
    /// Panics, naming the range, the shape and the caller's line, if it does not fit.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.narrow(1, 1, 2), Tensor::from_rows(&[[2.0, 3.0], [5.0, 6.0]]));
    /// ```
    #[track_caller]
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Tensor {
        let (outer, length, inner) = split_at_axis("narrow", self.shape(), axis);
        if start.checked_add(len).is_none_or(|end| end > length) {
            shape_panic(
                "narrow",
                format_args!(
                    "{start}..{start}+{len} is out of range for axis {axis} of shape {:?}",
                    self.shape()
                ),
            );
        }
        let mut data = pool::take(outer * len * inner);
        for lane in self
            .data()
            .chunks_exact((length * inner).max(1))
            .take(outer)
        {
            data.extend_from_slice(&lane[start * inner..(start + len) * inner]);
        }
        let mut shape: Shape = self.shape().into();
        shape[axis] = len;
        Tensor::from_parts(data, shape)
    }

    /// This tensor placed at `start` along `axis` in zeros of length `length` there: the undoing
    /// of [`narrow`](Tensor::narrow), its gradient.
    #[track_caller]
    pub(crate) fn unnarrow(&self, axis: usize, start: usize, length: usize) -> Tensor {
        let (outer, len, inner) = split_at_axis("narrow backward", self.shape(), axis);
        let mut shape: Shape = self.shape().into();
        shape[axis] = length;
        let mut placed = Tensor::zeros(&shape);
        if len * inner > 0 {
            let blocks = self.data().chunks_exact(len * inner);
            let lanes = placed.data_mut().chunks_exact_mut((length * inner).max(1));
            for (block, lane) in blocks.zip(lanes).take(outer) {
                lane[start * inner..(start + len) * inner].copy_from_slice(block);
            }
        }
        placed
    }

    /// The tensors joined along `axis`; every other axis must agree. PyTorch: `torch.cat(tensors, dim)`.
    ///
    /// Panics, naming the shapes and the caller's line, if there are none or they do not fit.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_rows(&[[1.0, 2.0]]);
    /// let b = Tensor::from_rows(&[[3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(Tensor::concat(&[&a, &b], 0).shape(), &[3, 2]);
    /// assert_eq!(Tensor::concat(&[&a, &a], 1).data(), &[1.0, 2.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn concat(tensors: &[&Tensor], axis: usize) -> Tensor {
        let Some(first) = tensors.first() else {
            shape_panic("concat", format_args!("no tensors to join"));
        };
        let (outer, _, inner) = split_at_axis("concat", first.shape(), axis);
        let fits = |t: &&Tensor| {
            t.rank() == first.rank()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(k, (a, b))| k == axis || a == b)
        };
        if !tensors.iter().all(fits) {
            let shapes: Vec<&[usize]> = tensors.iter().map(|t| t.shape()).collect();
            shape_panic(
                "concat",
                format_args!("shapes {shapes:?} differ outside axis {axis}"),
            );
        }
        // Empty tensors can join into a length, or a shape, that overflows: check both.
        let lengths = tensors.iter().map(|t| t.shape()[axis]);
        let Some(length) = lengths.clone().try_fold(0usize, usize::checked_add) else {
            let count = tensors.len();
            shape_panic(
                "concat",
                format_args!(
                    "the lengths along axis {axis} of {count} tensors add up past usize::MAX"
                ),
            );
        };
        let mut shape: Shape = first.shape().into();
        shape[axis] = length;
        let mut data = pool::take(shape_len("concat", &shape));
        for lane in 0..outer {
            for tensor in tensors {
                let block = tensor.shape()[axis] * inner;
                data.extend_from_slice(&tensor.data()[lane * block..(lane + 1) * block]);
            }
        }
        Tensor::from_parts(data, shape)
    }

    /// The rows (entries along axis 0) at `indices`, in that order, repeats allowed: a
    /// mini-batch of a data set, or an embedding lookup. PyTorch: `x.index_select(0, indices)`, `x[indices]`.
    ///
    /// Panics, naming the index, the shape and the caller's line, if one is out of range.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(t.index_select(&[2, 0, 2]), Tensor::from_rows(&[[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]));
    /// ```
    #[track_caller]
    pub fn index_select(&self, indices: &[usize]) -> Tensor {
        let (_, rows, row_len) = split_at_axis("index_select", self.shape(), 0);
        if let Some(&bad) = indices.iter().find(|&&i| i >= rows) {
            shape_panic(
                "index_select",
                format_args!("row {bad} is out of range for shape {:?}", self.shape()),
            );
        }
        let mut data = pool::take(indices.len() * row_len);
        for &row in indices {
            data.extend_from_slice(&self.data()[row * row_len..(row + 1) * row_len]);
        }
        let mut shape: Shape = self.shape().into();
        shape[0] = indices.len();
        Tensor::from_parts(data, shape)
    }

    /// Zeros of `rows` rows with row `k` of this tensor added into row `indices[k]`: the undoing
    /// of [`index_select`](Tensor::index_select), its gradient (repeated rows add up).
    /// PyTorch: `zeros.index_add(0, indices, x)`.
    #[track_caller]
    pub(crate) fn index_add(&self, indices: &[usize], rows: usize) -> Tensor {
        let (_, selected, row_len) = split_at_axis("index_add", self.shape(), 0);
        debug_assert_eq!(selected, indices.len());
        let mut shape: Shape = self.shape().into();
        shape[0] = rows;
        let mut sums = Tensor::zeros(&shape);
        for (k, &row) in indices.iter().enumerate() {
            let source = &self.data()[k * row_len..(k + 1) * row_len];
            let target = &mut sums.data_mut()[row * row_len..(row + 1) * row_len];
            target.iter_mut().zip(source).for_each(|(t, s)| *t += s);
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use crate::tensor::counting;

    #[test]
    fn narrow_and_its_undoing_on_every_axis() {
        let t = counting(&[2, 3, 4]);
        for axis in 0..3 {
            let length = t.shape()[axis];
            let part = t.narrow(axis, 1, length - 1);
            let back = part.unnarrow(axis, 1, length);
            // Everything but index 0 along the axis comes back; index 0 is zero.
            let zero_first = Tensor::concat(&[&t.narrow(axis, 0, 1).map(|_| 0.0), &part], axis);
            assert_eq!(back, zero_first, "axis {axis}");
        }
    }

    #[test]
    fn index_add_sums_repeated_rows() {
        let grad = Tensor::from_rows(&[[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]]);
        let sums = grad.index_add(&[2, 0, 2], 3);
        assert_eq!(
            sums,
            Tensor::from_rows(&[[10.0, 20.0], [0.0, 0.0], [101.0, 202.0]])
        );
    }
}
