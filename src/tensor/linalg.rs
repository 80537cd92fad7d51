//! Matrix products (transposes by strides, no copies) and layout changes.
//!
//! Two GEMMs: matrixmultiply's for small products, faer's for large ones. faer has AVX-512
//! kernels for `f64`, chosen at run time, where matrixmultiply's `f64` kernel is AVX2: on the
//! MLP step's products (256×784·784×256 and its transposed forms) faer took 0.5–0.7× the time
//! (`docs/book/11-performance.md`). Below [`LARGE_PRODUCT`] multiply-adds matrixmultiply is kept: the
//! tutorial's 200×2·2×3 products, and with them its printed losses, stay as they were. Large
//! products are shared among threads when [`set_threads`](super::set_threads) asks for several.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use super::broadcast::{broadcast_strides, for_each_strided};
use super::{Shape, Tensor, few_columns, pool, shape_len, shape_panic, threads};

/// Products of at least this many multiply-adds (`m·k·n`) go to faer's GEMM, faster from
/// 16×16·16×16 up (`cargo bench --bench ops -- matmul`); the tutorial's products (1200
/// multiply-adds) stay below, on matrixmultiply.
const LARGE_PRODUCT: usize = 16 * 16 * 16;

/// Products of at least this many multiply-adds are shared among the threads (the MLP step's
/// have 51 M and 655 k): below it, a product takes about as long as waking a thread.
const PARALLEL_PRODUCT: usize = 1 << 19;

/// On several threads, each thread computes a block of at least this many rows of the output.
const MIN_BLOCK_ROWS: usize = 64;

impl Tensor {
    /// The matrix product `self · other` of two 2-D tensors.
    ///
    /// Panics, naming both shapes and the caller's line, if either is not 2-D or the inner
    /// dimensions differ: `matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at …`.
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

    /// `op(self) · op(other)` where `op` transposes when asked; one GEMM call, no copies.
    #[track_caller]
    fn gemm(
        &self,
        op: &str,
        transpose_self: bool,
        other: &Tensor,
        transpose_other: bool,
    ) -> Tensor {
        if self.rank() != 2 || other.rank() != 2 {
            shape_panic(
                op,
                format_args!(
                    "{:?} x {:?}: both operands must be 2-D",
                    self.shape(),
                    other.shape()
                ),
            );
        }
        let a = matrix_view(self, transpose_self);
        let b = matrix_view(other, transpose_other);
        let ((m, k), (k_other, n)) = (a.dim(), b.dim());
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
        if let Some(data) =
            few_columns::product(self.into(), transpose_self, other.into(), transpose_other)
        {
            return Tensor::from_parts(data, Shape::from_slice(&[m, n]));
        }
        let data = if m * k * n >= LARGE_PRODUCT {
            let a = faer_view(self, transpose_self);
            let b = faer_view(other, transpose_other);
            let mut data = pool::overwritable(m * n);
            large_product(a, b, MatMut::from_row_major_slice_mut(&mut data, m, n));
            data
        } else {
            let mut data = pool::filled(m * n, 0.0);
            let mut c = ArrayViewMut2::from_shape((m, n), &mut data).expect("m * n elements");
            general_mat_mul(1.0, &a, &b, 0.0, &mut c);
            data
        };
        Tensor::from_parts(data, Shape::from_slice(&[m, n]))
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

/// The same view for faer.
fn faer_view(tensor: &Tensor, transpose: bool) -> MatRef<'_, f64> {
    let view = MatRef::from_row_major_slice(&tensor.data, tensor.shape[0], tensor.shape[1]);
    if transpose { view.transpose() } else { view }
}

/// `c = a · b` by faer's GEMM; on several threads ([`threads`]), each computes a block of rows.
///
/// Splitting the rows leaves every element's sum as it was, bit for bit: faer's x86 GEMM
/// (`private-gemm-x86`) cuts the inner dimension at fixed 512-element steps whatever the shape,
/// chooses its kernel by the number of columns (which a row block keeps), and each element of a
/// kernel's tile is one chain of fused multiply-adds. Blocks of at least [`MIN_BLOCK_ROWS`] rows
/// keep faer on this path (a single row would be a matrix-vector product). `tests/threads.rs`
/// holds the results of one and several threads equal over many shapes.
fn large_product(a: MatRef<'_, f64>, b: MatRef<'_, f64>, c: MatMut<'_, f64>) {
    let work = c.nrows() * a.ncols() * c.ncols();
    let blocks = if work < PARALLEL_PRODUCT {
        1
    } else {
        threads::threads().min(c.nrows() / MIN_BLOCK_ROWS).max(1)
    };
    if blocks == 1 {
        matmul(c, Accum::Replace, a, b, 1.0, Par::Seq);
        return clean_upper_vector_registers();
    }
    let rows_per_block = c.nrows().div_ceil(blocks);
    let mut pieces = Vec::with_capacity(blocks);
    let (mut rest, mut start) = (c, 0);
    while rest.nrows() > rows_per_block {
        let (block, tail) = rest.split_at_row_mut(rows_per_block);
        pieces.push((start, block));
        (rest, start) = (tail, start + rows_per_block);
    }
    pieces.push((start, rest));
    threads::for_each_block(pieces, |(start, block)| {
        let a = a.subrows(start, block.nrows());
        matmul(block, Accum::Replace, a, b, 1.0, Par::Seq);
        clean_upper_vector_registers();
    });
}

/// `vzeroupper`, after faer's GEMM. Its x86 kernels (`private-gemm-x86`, assembly) return with
/// the upper halves of the vector registers dirty, and until something clears them every SSE
/// instruction the thread runs is slowed (glibc's `tanh`, tapegrad's own loops; `perf record`
/// shows it, docs/performance-log.md has the figures). pulp holds the `unsafe` of the
/// instruction; on a CPU without AVX nothing is dirty and nothing is done.
fn clean_upper_vector_registers() {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.avx._mm256_zeroupper();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::counting;

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
}
