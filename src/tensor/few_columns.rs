//! Matrices of few columns, at most 8: the tutorial's 2-3-2 network makes nothing else. Their
//! rows are fixed-size arrays here ([`with_width`]), so a row costs a few instructions, not a
//! loop's setup: the small matrix products below (an affine map's bias row added as each row
//! is stored; a layer's weight gradient with its bias gradient summed in the same pass), and the
//! bias add and bias sum (`zip_map`, `sum_to`) through [`zip_rows_in_place`] and [`sum_rows`].
//!
//! Products with at most 8 output columns and a short inner dimension: a general GEMM
//! (matrixmultiply) packs both operands into panels and zeroes a masked tile for each edge, and
//! on a 200×2 · 2×3 product that setup is most of the work (docs/performance-log.md). Here one
//! output row is a fixed-size array of sums, a vector register or two.
//!
//! Each output element is `fma(a_k, b_k, … fma(a_1, b_1, a_0 · b_0))` over each block of 256 of
//! the inner dimension, the blocks then added in order: the order of matrixmultiply's FMA kernels
//! (AVX2 and AVX-512), so the same bits come out either way on a CPU with FMA.

use pulp::{Simd, WithSimd};

use super::math::arch;

/// Calls `$run::<N>($args)` with `N` the number `$n` as a constant when it is 1 to 8, so that each
/// row is a fixed-size array: its loads and stores are a few moves, not a `memcpy` call or a
/// loop's setup per row. A wider `$n` calls `$run::<0>`: not fixed, the width comes at run time.
macro_rules! with_width {
    ($n:expr, $run:ident($($args:expr),*)) => {
        with_width!($n, $run::<_>($($args),*))
    };
    ($n:expr, $run:ident::<_ $(, $more:tt)*>($($args:expr),*)) => {
        match $n {
            1 => $run::<1 $(, $more)*>($($args),*),
            2 => $run::<2 $(, $more)*>($($args),*),
            3 => $run::<3 $(, $more)*>($($args),*),
            4 => $run::<4 $(, $more)*>($($args),*),
            5 => $run::<5 $(, $more)*>($($args),*),
            6 => $run::<6 $(, $more)*>($($args),*),
            7 => $run::<7 $(, $more)*>($($args),*),
            8 => $run::<8 $(, $more)*>($($args),*),
            _ => $run::<0 $(, $more)*>($($args),*),
        }
    };
}
pub(super) use with_width;

/// Widest output handled here: one accumulator of 8 lanes.
pub(super) const LANES: usize = 8;
/// Longest inner dimension handled here (`A · B` with `A` m × k): `B` is copied into a
/// `K_MAX × LANES` block on the stack.
const K_MAX: usize = 16;

/// matrixmultiply's block of the inner dimension for `f64` (its `D_KC`): a product's sums run
/// in blocks of this many terms, each from zero, then added.
const INNER_BLOCK: usize = 256;

/// A row-major matrix by its elements and its row and column counts.
#[derive(Clone, Copy)]
pub(super) struct Matrix<'a> {
    pub data: &'a [f64],
    pub rows: usize,
    pub cols: usize,
}

impl<'a> From<&'a super::Tensor> for Matrix<'a> {
    fn from(tensor: &'a super::Tensor) -> Matrix<'a> {
        Matrix {
            data: tensor.data(),
            rows: tensor.shape()[0],
            cols: tensor.shape()[1],
        }
    }
}

/// `op(a) · op(b)`, where `op` transposes when asked, plus `bias` (one row of the output's
/// width) added to every row if given, if the product is one this module handles; `None` sends
/// it to the general GEMM. The bias is added to each row's finished sums, so the bits are those
/// of the product and then the add. `Aᵀ·B` takes no bias, nor does any product with a bias not
/// of the output's width: `None`, and the caller adds it.
pub(super) fn product(
    a: Matrix,
    transpose_a: bool,
    b: Matrix,
    transpose_b: bool,
    bias: Option<&[f64]>,
) -> Option<Vec<f64>> {
    product_on(arch(), a, transpose_a, b, transpose_b, bias)
}

/// [`product`] on the instruction set `arch` (on pulp's scalar path each fused multiply-add is
/// the standard library's software `fma`, slow but the same bits).
fn product_on(
    arch: pulp::Arch,
    a: Matrix,
    transpose_a: bool,
    b: Matrix,
    transpose_b: bool,
    bias: Option<&[f64]>,
) -> Option<Vec<f64>> {
    let (m, k) = if transpose_a {
        (a.cols, a.rows)
    } else {
        (a.rows, a.cols)
    };
    let n = if transpose_b { b.rows } else { b.cols };
    if m == 0 || n == 0 || k == 0 || n > LANES || bias.is_some_and(|bias| bias.len() != n) {
        return None;
    }
    if !transpose_a && k <= K_MAX {
        Some(arch.dispatch(RowsTimesNarrow {
            a,
            b,
            transpose_b,
            bias,
            m,
            k,
            n,
        }))
    } else if transpose_a && !transpose_b && m <= LANES && bias.is_none() {
        let sum_columns = false;
        Some(
            arch.dispatch(SumOfOuterProducts {
                a,
                b,
                m,
                n,
                sum_columns,
            })
            .0,
        )
    } else {
        None
    }
}

/// `Aᵀ · B` and the sum of `B`'s rows (added in row order, from zero) for `A` r × m and `B` r × n
/// with m, n ≤ 8, in one pass over the rows: a narrow layer's weight and bias gradients. The
/// bits are those of [`product`] and of `sum_to`'s sum of rows; the two chains of dependent
/// additions run side by side instead of one after the other. `None` for other shapes.
pub(super) fn t_product_and_column_sums(a: Matrix, b: Matrix) -> Option<(Vec<f64>, Vec<f64>)> {
    t_product_and_column_sums_on(arch(), a, b)
}

/// [`t_product_and_column_sums`] on the instruction set `arch`.
fn t_product_and_column_sums_on(
    arch: pulp::Arch,
    a: Matrix,
    b: Matrix,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let (m, n) = (a.cols, b.cols);
    if a.rows != b.rows || a.rows == 0 || m == 0 || m > LANES || n == 0 || n > LANES {
        return None;
    }
    let sum_columns = true;
    let (product, sums) = arch.dispatch(SumOfOuterProducts {
        a,
        b,
        m,
        n,
        sum_columns,
    });
    Some((product, sums?))
}

/// `A · op(B)` for `A` m × k with k ≤ 16 and n ≤ 8 output columns: each output row is
/// `Σ_p A[i, p] · B[p, :]`, accumulated in registers, then `+ bias` if there is one (a layer's
/// affine map in one pass over the output).
struct RowsTimesNarrow<'a> {
    a: Matrix<'a>,
    b: Matrix<'a>,
    transpose_b: bool,
    bias: Option<&'a [f64]>,
    m: usize,
    k: usize,
    n: usize,
}

impl WithSimd for RowsTimesNarrow<'_> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Vec<f64> {
        // `n` is 1 to 8 here, so `with_width!`'s run-time arm (`::<0>`) is never taken.
        match self.k {
            // The inner dimension of a tiny network's layers (its inputs, its hidden units),
            // known too: each row is then straight-line code.
            1 => with_width!(self.n, rows_times_narrow::<_, 1>(&self)),
            2 => with_width!(self.n, rows_times_narrow::<_, 2>(&self)),
            3 => with_width!(self.n, rows_times_narrow::<_, 3>(&self)),
            4 => with_width!(self.n, rows_times_narrow::<_, 4>(&self)),
            _ => with_width!(self.n, rows_times_narrow::<_, 0>(&self)),
        }
    }
}

#[inline(always)]
fn rows_times_narrow<const N: usize, const K: usize>(job: &RowsTimesNarrow) -> Vec<f64> {
    let RowsTimesNarrow {
        a,
        b,
        transpose_b,
        bias,
        m,
        k,
        ..
    } = *job;
    let k = if K == 0 { k } else { K };
    let mut b_rows = [[0.0; N]; K_MAX];
    for (p, row) in b_rows.iter_mut().enumerate().take(k) {
        for (j, b_pj) in row.iter_mut().enumerate() {
            *b_pj = if transpose_b {
                b.data[j * k + p]
            } else {
                b.data[p * N + j]
            };
        }
    }
    let bias: Option<[f64; N]> = bias.map(|bias| bias.try_into().expect("a bias of N"));
    let mut out = super::pool::overwritable(m * N);
    for (a_row, out_row) in a.data.chunks_exact(k).zip(out.chunks_exact_mut(N)) {
        let mut sum = [0.0; N];
        for (&a_ip, b_row) in a_row.iter().zip(&b_rows) {
            for (s, &b_pj) in sum.iter_mut().zip(b_row) {
                *s = a_ip.mul_add(b_pj, *s);
            }
        }
        if let Some(bias) = &bias {
            sum.iter_mut().zip(bias).for_each(|(s, b)| *s += b);
        }
        out_row.copy_from_slice(&sum);
    }
    out
}

/// `Aᵀ · B` for `A` r × m and `B` r × n with m, n ≤ 8, the weight gradient of a narrow layer:
/// `Σ_i A[i, :]ᵀ B[i, :]`, one outer product per row, summed in row order; with `sum_columns`,
/// also `Σ_i B[i, :]`.
struct SumOfOuterProducts<'a> {
    a: Matrix<'a>,
    b: Matrix<'a>,
    m: usize,
    n: usize,
    sum_columns: bool,
}

impl WithSimd for SumOfOuterProducts<'_> {
    type Output = (Vec<f64>, Option<Vec<f64>>);

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
        match self.m {
            1 => with_width!(self.n, sum_of_outer_products::<_, 1>(&self)),
            2 => with_width!(self.n, sum_of_outer_products::<_, 2>(&self)),
            3 => with_width!(self.n, sum_of_outer_products::<_, 3>(&self)),
            4 => with_width!(self.n, sum_of_outer_products::<_, 4>(&self)),
            _ => with_width!(self.n, sum_of_outer_products::<_, 0>(&self)),
        }
    }
}

#[inline(always)]
fn sum_of_outer_products<const N: usize, const M: usize>(
    job: &SumOfOuterProducts,
) -> (Vec<f64>, Option<Vec<f64>>) {
    let SumOfOuterProducts {
        a,
        b,
        m,
        sum_columns,
        ..
    } = *job;
    let m = if M == 0 { m } else { M };
    let mut sums = [[0.0; N]; LANES];
    // Across the blocks, from zero, as `sum_to` adds a bias's gradient.
    let mut column_sums = [0.0; N];
    // The rows in matrixmultiply's blocks of the inner dimension: each block's chain from zero,
    // then added to the blocks before it.
    let a_blocks = a.data.chunks(m * INNER_BLOCK);
    for (index, (a_block, b_block)) in a_blocks.zip(b.data.chunks(N * INNER_BLOCK)).enumerate() {
        let mut block = [[0.0; N]; LANES];
        for (a_row, b_row) in a_block.chunks_exact(m).zip(b_block.chunks_exact(N)) {
            let b_row: &[f64; N] = b_row.try_into().expect("rows of N");
            for (&a_ip, sum) in a_row.iter().zip(&mut block) {
                for (s, &b_ij) in sum.iter_mut().zip(b_row) {
                    *s = a_ip.mul_add(b_ij, *s);
                }
            }
            if sum_columns {
                (column_sums.iter_mut().zip(b_row)).for_each(|(s, &b_ij)| *s += b_ij);
            }
        }
        if index == 0 {
            sums = block; // not `0 + block`, which would turn a −0 into +0
        } else {
            for (sum, block) in sums.iter_mut().zip(&block).take(m) {
                sum.iter_mut().zip(block).for_each(|(s, b)| *s += b);
            }
        }
    }
    let mut out = super::pool::take(m * N);
    sums[..m].iter().for_each(|sum| out.extend_from_slice(sum));
    let column_sums = sum_columns.then(|| {
        let mut out = super::pool::take(N);
        out.extend_from_slice(&column_sums);
        out
    });
    (out, column_sums)
}

/// `a = f(a, b)` for each row of `a` with the one row `b`, in place: a bias added to every row.
/// Rows of `N` elements, or of `b.len()` when `N` is 0.
#[inline(always)]
pub(super) fn zip_rows_in_place<const N: usize>(
    a: &mut [f64],
    b: &[f64],
    f: impl Fn(f64, f64) -> f64,
) {
    let width = if N == 0 { b.len() } else { N };
    let b = &b[..width];
    for row in a.chunks_exact_mut(width) {
        row.iter_mut().zip(b).for_each(|(x, &y)| *x = f(*x, y));
    }
}

/// The sum of the rows of `a`, added in row order into `sums`: a bias's gradient. Rows of `N`
/// elements, or of `sums.len()` when `N` is 0.
#[inline(always)]
pub(super) fn sum_rows<const N: usize>(a: &[f64], sums: &mut [f64]) {
    let width = if N == 0 { sums.len() } else { N };
    let sums = &mut sums[..width];
    for row in a.chunks_exact(width) {
        sums.iter_mut().zip(row).for_each(|(sum, x)| *sum += x);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::linalg::general_mat_mul;
    use ndarray::{Array2, ArrayView2};
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;
    use crate::Tensor;

    /// matrixmultiply's product of the same operands, the path every other size takes.
    fn gemm(a: &Tensor, transpose_a: bool, b: &Tensor, transpose_b: bool) -> Vec<f64> {
        let (a, b) = (view(a, transpose_a), view(b, transpose_b));
        let mut c = Array2::zeros((a.nrows(), b.ncols()));
        general_mat_mul(1.0, &a, &b, 0.0, &mut c);
        c.into_raw_vec_and_offset().0
    }

    fn has_fma() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    fn view(t: &Tensor, transpose: bool) -> ArrayView2<'_, f64> {
        let v = ArrayView2::from_shape((t.shape()[0], t.shape()[1]), t.data()).unwrap();
        if transpose { v.reversed_axes() } else { v }
    }

    #[test]
    fn products_and_bias_rows_equal_the_general_gemm_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut checked = 0;
        for (m, k, n) in [
            (200, 2, 3),
            (200, 3, 2),
            (1, 1, 1),
            (7, 16, 8),
            (33, 5, 1),
            (3, 200, 2),
            (3, 600, 2), // the inner dimension in three of matrixmultiply's blocks
        ] {
            for (transpose_a, transpose_b) in [(false, false), (false, true), (true, false)] {
                let a_shape = if transpose_a { [k, m] } else { [m, k] };
                let b_shape = if transpose_b { [n, k] } else { [k, n] };
                let a = Tensor::randn(&a_shape, &mut rng);
                let b = Tensor::randn(&b_shape, &mut rng);
                let Some(narrow) =
                    product((&a).into(), transpose_a, (&b).into(), transpose_b, None)
                else {
                    continue; // a size or form this module leaves to the GEMM
                };
                let form = format!("{m}x{k}x{n}, transposes {transpose_a} {transpose_b}");
                // matrixmultiply's FMA kernels (AVX2, AVX-512); without FMA it rounds twice.
                if has_fma() {
                    assert_eq!(narrow, gemm(&a, transpose_a, &b, transpose_b), "{form}");
                }
                // A bias added in the product's pass: the bits of the product, then the add.
                let bias = Tensor::randn(&[n], &mut rng);
                let plus_bias: Vec<f64> = (narrow.chunks_exact(n))
                    .flat_map(|row| row.iter().zip(bias.data()).map(|(x, b)| x + b))
                    .collect();
                for arch in crate::tensor::math::every_arch() {
                    let (a, b) = ((&a).into(), (&b).into());
                    let on_arch = product_on(arch, a, transpose_a, b, transpose_b, None);
                    assert_eq!(on_arch.as_ref(), Some(&narrow), "{form} on {arch:?}");
                    let fused = product_on(arch, a, transpose_a, b, transpose_b, Some(bias.data()));
                    let expected = (!transpose_a).then_some(&plus_bias); // Aᵀ·B takes none
                    assert_eq!(fused.as_ref(), expected, "{form} + bias on {arch:?}");
                    if transpose_a && !transpose_b {
                        // A layer's weight and bias gradients in one pass: the bits of the
                        // product and of `sum_to`'s sum of rows.
                        let fused = t_product_and_column_sums_on(arch, a, b).expect("narrow");
                        let sums =
                            bias_sums(&Tensor::from_parts(b.data.to_vec(), b_shape[..].into()));
                        assert_eq!(
                            fused,
                            (narrow.clone(), sums),
                            "{form} and its column sums on {arch:?}"
                        );
                    }
                    let short = product_on(arch, a, transpose_a, b, transpose_b, Some(&[0.5]));
                    assert!(
                        n == 1 || short.is_none(),
                        "{form}: a bias of 1 for {n} columns"
                    );
                }
                checked += 1;
            }
        }
        // Every form the moons network uses ran here.
        assert!(
            checked >= 12,
            "only {checked} products took the narrow path"
        );
    }

    /// `grad.sum_to(&[n])`, the bias gradient a fused pass must equal.
    fn bias_sums(grad: &Tensor) -> Vec<f64> {
        grad.sum_to(&[grad.shape()[1]]).data().to_vec()
    }

    #[test]
    fn column_sums_keep_signed_zeros_and_infinities_as_sum_to_does() {
        let b = Tensor::from_rows(&[
            [-0.0, f64::INFINITY, 1e308, 1.0],
            [-0.0, 1.0, 1e308, f64::NEG_INFINITY],
        ]);
        let a = Tensor::from_rows(&[[2.0], [-0.5]]);
        for arch in crate::tensor::math::every_arch() {
            let (product, sums) =
                t_product_and_column_sums_on(arch, (&a).into(), (&b).into()).expect("narrow");
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sums), bits(&bias_sums(&b)), "{arch:?}");
            assert_eq!(product, a.t_matmul(&b).data(), "{arch:?}");
        }
        // Rows that differ in number, and widths past 8, are not narrow.
        let tall = Tensor::zeros(&[3, 1]);
        assert!(t_product_and_column_sums((&tall).into(), (&b).into()).is_none());
        let wide = Tensor::zeros(&[2, 9]);
        assert!(t_product_and_column_sums((&a).into(), (&wide).into()).is_none());
    }

    #[test]
    fn bias_rows_add_and_sum_as_the_general_walk() {
        let x = crate::tensor::counting(&[5, 3]);
        let bias = Tensor::from_slice(&[0.5, -1.0, 2.0]);
        let added = x.zip_map(&bias, "add", |a, b| a + b);
        let expected = Tensor::from_parts(
            x.data()
                .iter()
                .enumerate()
                .map(|(i, &v)| v + bias.data()[i % 3])
                .collect(),
            [5, 3].as_slice().into(),
        );
        assert_eq!(added, expected);
        assert_eq!(x.sum_to(&[1, 3]).data(), &[30.0, 35.0, 40.0]);
    }
}
