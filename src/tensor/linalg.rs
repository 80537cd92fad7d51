//! Matrix products (transposes by strides, no copies) and layout changes.
//!
//! One GEMM, matrixmultiply's, through ndarray's safe interface: its `f64` kernels are chosen at
//! run time (AVX-512 with its feature `avx512`, which Cargo.toml turns on; else FMA and AVX2, or
//! scalar). Products with at most 8 output columns and a short inner dimension take
//! [`few_columns`] instead, which gives the same bits faster. Large products are shared among
//! threads when [`set_threads`](super::set_threads) asks for several.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};

use super::broadcast::{broadcast_strides, for_each_strided};
use super::{Shape, Tensor, few_columns, pool, shape_len, shape_panic, threads};

/// Products of at least this many multiply-adds are shared among the threads (the MLP step's
/// have 51 M and 655 k): below it, a product takes about as long as waking a thread.
const PARALLEL_PRODUCT: usize = 1 << 19;

/// On several threads, each thread computes a block of at least this many rows of the output.
const MIN_BLOCK_ROWS: usize = 64;

impl Tensor {
    /// The matrix product `self · other` of two 2-D tensors; or, with a leading batch axis on one
    /// operand or both (`[B, m, k]`), the product of each matrix of the batch (PyTorch:
    /// `torch.matmul`, which broadcasts the batch the same way).
    ///
    /// Panics, naming both shapes and the caller's line, if either is neither 2-D nor 3-D, the
    /// batches differ, or the inner dimensions differ:
    /// `matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at …`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// let b = Tensor::from_rows(&[[5.0], [6.0]]);
    /// assert_eq!(a.matmul(&b), Tensor::from_rows(&[[17.0], [39.0]]));
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        self.gemm("matmul", false, other, false)
    }

    /// `self · w + b` (PyTorch: `torch.addmm(b, self, w)`): the product, then the bias `b`
    /// added in place; `b` must broadcast to the product's shape (a row, usually).
    ///
    /// Panics, naming `affine`, the shapes and the caller's line, if the inner dimensions differ
    /// or `b` does not broadcast to the product.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// let w = Tensor::from_rows(&[[1.0, 0.0], [0.0, 1.0]]);
    /// let b = Tensor::from_rows(&[[10.0, 20.0]]);
    /// assert_eq!(x.affine(&w, &b), &x.matmul(&w) + &b);
    /// ```
    #[track_caller]
    pub fn affine(&self, w: &Tensor, b: &Tensor) -> Tensor {
        if self.rank() == 2 && w.rank() == 2 {
            let (m, _, n) = self.product_dims("affine", false, w, false);
            // A bias of one row is added as each row of a narrow product is made: one pass.
            let one_row = matches!(b.shape(), &[len] | &[1, len] if len == n);
            if one_row
                && let Some(data) =
                    few_columns::product(self.into(), false, w.into(), false, Some(b.data()))
            {
                return Tensor::from_parts(data, Shape::from_slice(&[m, n]));
            }
        }
        let mut product = self.gemm("affine", false, w, false);
        product.add_assign_named("affine", b);
        product
    }

    /// `self · otherᵀ` without copying `other`: the input gradient `grad_output · Bᵀ` of a matmul.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_rows(&[[1.0, 2.0]]);
    /// let b = Tensor::from_rows(&[[3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(a.matmul_t(&b), a.matmul(&b.transpose()));
    /// ```
    #[track_caller]
    pub fn matmul_t(&self, other: &Tensor) -> Tensor {
        self.gemm("matmul_t", false, other, true)
    }

    /// `selfᵀ · other` without copying `self`: the weight gradient `Aᵀ · grad_output` of a matmul.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// let b = Tensor::from_rows(&[[5.0], [6.0]]);
    /// assert_eq!(a.t_matmul(&b), a.transpose().matmul(&b));
    /// ```
    #[track_caller]
    pub fn t_matmul(&self, other: &Tensor) -> Tensor {
        self.gemm("t_matmul", true, other, false)
    }

    /// `selfᵀ · grad` and `grad` summed down to `bias_shape` (`[n]` or `[1, n]`), the weight and
    /// bias gradients of a layer `self · W + b`, from one pass over the rows where the layer is
    /// narrow (at most 8 inputs and 8 outputs); `None` for any other shapes. The values of
    /// `self.t_matmul(grad)` and `grad.sum_to(bias_shape)`, bit for bit: the pass only runs
    /// their two chains of dependent additions side by side.
    pub(crate) fn t_matmul_and_bias_sum(
        &self,
        grad: &Tensor,
        bias_shape: &[usize],
    ) -> Option<(Tensor, Tensor)> {
        let (&[_, m], &[_, n]) = (self.shape(), grad.shape()) else {
            return None;
        };
        if !matches!(bias_shape, [b] | [1, b] if *b == n) {
            return None;
        }
        let (product, sums) = few_columns::t_product_and_column_sums(self.into(), grad.into())?;
        Some((
            Tensor::from_parts(product, Shape::from_slice(&[m, n])),
            Tensor::from_parts(sums, Shape::from_slice(bias_shape)),
        ))
    }

    /// `op(self) · op(other)` where `op` transposes when asked; one GEMM call, no copies.
    #[track_caller]
    fn gemm(
        &self,
        op: &str,
        transpose_self: bool,
        other: &Tensor,
        transpose_other: bool,
    ) -> Tensor {
        if matches!((self.rank(), other.rank()), (3, 2 | 3) | (2, 3)) {
            return self.gemm_batched(op, transpose_self, other, transpose_other);
        }
        if self.rank() != 2 || other.rank() != 2 {
            shape_panic(
                op,
                format_args!(
                    "{:?} x {:?}: both operands must be 2-D (or 3-D, a batch of matrices)",
                    self.shape(),
                    other.shape()
                ),
            );
        }
        let (m, _, n) = self.product_dims(op, transpose_self, other, transpose_other);
        if let Some(data) = few_columns::product(
            self.into(),
            transpose_self,
            other.into(),
            transpose_other,
            None,
        ) {
            return Tensor::from_parts(data, Shape::from_slice(&[m, n]));
        }
        // With beta 0 the GEMM writes every element of `c` without reading it.
        let mut data = pool::overwritable(m * n);
        let c = ArrayViewMut2::from_shape((m, n), &mut data).expect("m * n elements");
        let (a, b) = (
            matrix_view(self, transpose_self),
            matrix_view(other, transpose_other),
        );
        product(a, b, c);
        Tensor::from_parts(data, Shape::from_slice(&[m, n]))
    }

    /// `(m, k, n)` of `op(self) · op(other)`, from the last two axes of each; panics, naming both
    /// shapes and the caller's line, if the inner dimensions differ.
    #[track_caller]
    fn product_dims(
        &self,
        op: &str,
        transpose_self: bool,
        other: &Tensor,
        transpose_other: bool,
    ) -> (usize, usize, usize) {
        let dims = |t: &Tensor, transpose: bool| {
            let (rows, cols) = (t.shape[t.rank() - 2], t.shape[t.rank() - 1]);
            if transpose {
                (cols, rows)
            } else {
                (rows, cols)
            }
        };
        let ((m, k), (k_other, n)) = (dims(self, transpose_self), dims(other, transpose_other));
        if k != k_other {
            shape_panic(
                op,
                format_args!(
                    "{:?} x {:?}: inner dimensions differ ({k} vs {k_other})",
                    self.shape(),
                    other.shape()
                ),
            );
        }
        (m, k, n)
    }

    /// [`gemm`](Tensor::gemm) with a leading batch axis on one operand or both (`[B, m, k]`): a
    /// product per matrix of the batch, how a batched Jacobian's seeds go through a matmul's rule.
    #[track_caller]
    fn gemm_batched(
        &self,
        op: &str,
        transpose_self: bool,
        other: &Tensor,
        transpose_other: bool,
    ) -> Tensor {
        let (m, k, n) = self.product_dims(op, transpose_self, other, transpose_other);
        if self.rank() == 3 && other.rank() == 2 && !transpose_self {
            // The batch's rows stacked: one product, no loop.
            let batch = self.shape[0];
            let stacked = self.reshape(&[batch * m, k]);
            let product = stacked.gemm(op, false, other, transpose_other);
            return product.reshape(&[batch, m, n]);
        }
        let batch_of = |t: &Tensor| (t.rank() == 3).then(|| t.shape[0]);
        let batch = match (batch_of(self), batch_of(other)) {
            (Some(a), Some(b)) if a != b => shape_panic(
                op,
                format_args!(
                    "{:?} x {:?}: the batches differ ({a} vs {b})",
                    self.shape(),
                    other.shape()
                ),
            ),
            (a, b) => a.or(b).expect("one operand is batched"),
        };
        let matrix = |t: &Tensor, index: usize| -> Tensor {
            if t.rank() == 2 {
                return t.clone();
            }
            let len = t.shape[1] * t.shape[2];
            let data = t.data[index * len..(index + 1) * len].to_vec();
            Tensor::from_parts(data, Shape::from_slice(&t.shape[1..]))
        };
        let mut data = Vec::new();
        let mut matrix_shape = Shape::new();
        for index in 0..batch {
            let (a, b) = (matrix(self, index), matrix(other, index));
            let product = a.gemm(op, transpose_self, &b, transpose_other);
            data.extend_from_slice(&product.data);
            matrix_shape = product.shape.clone();
        }
        if batch == 0 {
            matrix_shape = Shape::from_slice(&[m, n]); // no matrix to multiply
        }
        let mut shape = Shape::from_slice(&[batch]);
        shape.extend_from_slice(&matrix_shape);
        Tensor::from_parts(data, shape)
    }

    /// The tensor with its axes in reverse order (NumPy's `.T`): rows and columns swap for a matrix.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_rows(&[[1.0, 2.0, 3.0]]);
    /// assert_eq!(a.transpose(), Tensor::from_rows(&[[1.0], [2.0], [3.0]]));
    /// ```
    pub fn transpose(&self) -> Tensor {
        let shape: Shape = self.shape.iter().rev().copied().collect();
        if self.rank() < 2 {
            return self.clone();
        }
        // Walk the output in order; the input's strides read backwards follow the same element.
        let mut strides = broadcast_strides(&self.shape, &self.shape);
        strides.reverse();
        let mut data = pool::take(self.len());
        for_each_strided(&shape, &strides, &strides, |offset, _| {
            data.push(self.data[offset])
        });
        Tensor::from_parts(data, shape)
    }

    /// The same elements in the same order under a new shape with the same number of elements.
    ///
    /// Panics, naming both shapes and the caller's line, if the element counts differ.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0]).reshape(&[2, 2]);
    /// assert_eq!(t[[1, 0]], 3.0);
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let needed = shape_len("reshape", shape);
        if needed != self.len() {
            shape_panic(
                "reshape",
                format_args!(
                    "{:?} has {} elements, {shape:?} needs {needed}",
                    self.shape(),
                    self.len(),
                ),
            );
        }
        let mut reshaped = self.clone();
        reshaped.shape = shape.into();
        reshaped
    }
}

/// A 2-D view of `tensor`'s data, transposed by swapping strides when asked.
fn matrix_view(tensor: &Tensor, transpose: bool) -> ArrayView2<'_, f64> {
    let view = ArrayView2::from_shape((tensor.shape[0], tensor.shape[1]), &tensor.data)
        .expect("a 2-D tensor's data fills its shape");
    if transpose {
        view.reversed_axes()
    } else {
        view
    }
}

/// `c = a · b`; on several threads ([`threads`]), each computes a block of rows.
///
/// Splitting the rows leaves every element's sum as it was, bit for bit: matrixmultiply cuts the
/// inner dimension at fixed steps whatever the number of rows, and each element of a kernel's
/// tile is one chain of fused multiply-adds in the inner dimension's order. `tests/threads.rs`
/// holds the results of one and several threads equal over many shapes.
fn product(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, mut c: ArrayViewMut2<'_, f64>) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let blocks = if m * k * n < PARALLEL_PRODUCT {
        1
    } else {
        threads::threads().min(m / MIN_BLOCK_ROWS).max(1)
    };
    if blocks == 1 {
        return general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    }
    let rows_per_block = m.div_ceil(blocks);
    let mut pieces = Vec::with_capacity(blocks);
    let (mut rest_a, mut rest_c) = (a, c);
    while rest_c.nrows() > rows_per_block {
        let (block_a, tail_a) = rest_a.split_at(Axis(0), rows_per_block);
        let (block_c, tail_c) = rest_c.split_at(Axis(0), rows_per_block);
        pieces.push((block_a, block_c));
        (rest_a, rest_c) = (tail_a, tail_c);
    }
    pieces.push((rest_a, rest_c));
    threads::for_each_block(pieces, |(a, mut c)| {
        general_mat_mul(1.0, &a, &b, 0.0, &mut c)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::counting;

    #[test]
    fn affine_is_the_product_then_the_bias_bit_for_bit() {
        let x = counting(&[200, 2]).map(|v| (v * 0.37).sin());
        let w = counting(&[2, 3]).map(|v| (v * 0.91).cos());
        // Rows fused into the narrow product ([3], [1, 3]) and every other bias shape.
        for shape in [&[3][..], &[1, 3], &[200, 3], &[200, 1], &[1], &[]] {
            let b = Tensor::from_parts(
                (0..shape.iter().product())
                    .map(|i| i as f64 * 0.3 - 1.0)
                    .collect(),
                shape.into(),
            );
            assert_eq!(x.affine(&w, &b), &x.matmul(&w) + &b, "bias {shape:?}");
        }
    }

    #[test]
    fn transposed_products_match_explicit_transposes() {
        let a = counting(&[3, 4]);
        let b = counting(&[5, 4]);
        let c = counting(&[3, 5]);
        assert_eq!(a.matmul_t(&b), a.matmul(&b.transpose()));
        assert_eq!(a.t_matmul(&c), a.transpose().matmul(&c));
        assert_eq!(a.matmul(&Tensor::eye(4)), a);
    }

    #[test]
    fn transpose_of_rank_three_reverses_axes() {
        let t = counting(&[2, 3, 4]);
        let r = t.transpose();
        assert_eq!(r.shape(), &[4, 3, 2]);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(r[[k, j, i]], t[[i, j, k]]);
                }
            }
        }
        assert_eq!(r.transpose(), t);
    }

    #[test]
    #[should_panic(
        expected = "matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at src/"
    )]
    fn matmul_mismatch_message() {
        Tensor::zeros(&[200, 2]).matmul(&Tensor::zeros(&[3, 2]));
    }

    #[test]
    #[should_panic(expected = "matmul: [2, 3, 4] x [5, 2, 4, 6]: both operands must be 2-D")]
    fn a_four_dimensional_operand_is_refused() {
        Tensor::zeros(&[2, 3, 4]).matmul(&Tensor::zeros(&[5, 2, 4, 6]));
    }

    #[test]
    fn an_empty_batch_keeps_the_matrices_shape() {
        let product = Tensor::zeros(&[0, 3, 4]).matmul(&Tensor::zeros(&[4, 5]));
        assert_eq!(product.shape(), &[0, 3, 5]);
        let product = Tensor::zeros(&[0, 3, 4]).matmul_t(&Tensor::zeros(&[0, 5, 4]));
        assert_eq!(product.shape(), &[0, 3, 5]);
    }

    #[test]
    #[should_panic(expected = "matmul: [0, 2, 3] x [4, 5]: inner dimensions differ (3 vs 4)")]
    fn an_empty_batch_still_checks_the_inner_dimensions() {
        Tensor::zeros(&[0, 2, 3]).matmul(&Tensor::zeros(&[4, 5]));
    }
}
