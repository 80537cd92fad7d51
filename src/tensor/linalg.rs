//! Matrix products (through matrixmultiply's GEMM, transposes by strides) and layout changes.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use super::broadcast::{broadcast_strides, for_each_strided};
use super::{Shape, Tensor, narrow, pool, shape_len, shape_panic};

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
            narrow::product(self.into(), transpose_self, other.into(), transpose_other)
        {
            return Tensor::from_parts(data, Shape::from_slice(&[m, n]));
        }
        let mut data = pool::filled(m * n, 0.0);
        let mut c = ArrayViewMut2::from_shape((m, n), &mut data).expect("m * n elements");
        general_mat_mul(1.0, &a, &b, 0.0, &mut c);
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
