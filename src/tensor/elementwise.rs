//! Elementwise math: `map`, broadcasting `zip_map`, the arithmetic operators, in-place updates
//! and the comparison helpers tests use.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use pulp::{Simd, WithSimd};

use super::broadcast::{for_each_broadcast, is_trailing_block};
use super::few_columns::{with_width, zip_rows_in_place};
use super::{Shape, Tensor, broadcast_shapes, pool, shape_panic, threads};

/// `out[i] = f(input[i])`, the loop compiled for this CPU's vector instruction set (pulp's
/// dispatch): 4 or 8 lanes where code built for baseline x86-64 takes SSE2's 2. The bits are the
/// same on every path (Rust never fuses a multiply and an add into one rounding); `exp`, `tanh`
/// and `log` rely on it for their kernels' fused multiply-adds.
pub(super) fn map_into(input: &[f64], out: &mut [f64], f: impl Fn(f64) -> f64) {
    struct MapInto<'a, F> {
        input: &'a [f64],
        out: &'a mut [f64],
        f: F,
    }
    impl<F: Fn(f64) -> f64> WithSimd for MapInto<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) {
            (self.out.iter_mut().zip(self.input)).for_each(|(y, &x)| *y = (self.f)(x));
        }
    }
    super::math::arch().dispatch(MapInto { input, out, f });
}

/// `out[i] = f(a[i], b[i])`, dispatched as [`map_into`] is.
fn zip_into(a: &[f64], b: &[f64], out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    struct ZipInto<'a, F> {
        a: &'a [f64],
        b: &'a [f64],
        out: &'a mut [f64],
        f: F,
    }
    impl<F: Fn(f64, f64) -> f64> WithSimd for ZipInto<'_, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) {
            let pairs = self.a.iter().zip(self.b);
            (self.out.iter_mut().zip(pairs)).for_each(|(out, (&a, &b))| *out = (self.f)(a, b));
        }
    }
    super::math::arch().dispatch(ZipInto { a, b, out, f });
}

impl Tensor {
    /// `f` applied to every element.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_slice(&[1.0, 4.0]).map(f64::sqrt);
    /// assert_eq!(t.data(), &[1.0, 2.0]);
    /// ```
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Tensor {
        let mut data = pool::overwritable(self.len());
        map_into(&self.data, &mut data, f);
        Tensor::from_parts(data, Shape::from_slice(&self.shape))
    }

    /// `f(a, b)` for each pair of elements of `self` and `other` broadcast together (NumPy rules).
    ///
    /// `op` names the operation in the panic message when the shapes do not broadcast, which
    /// also gives both shapes and the caller's line.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// let bias = Tensor::from_slice(&[10.0, 20.0]);
    /// let y = x.zip_map(&bias, "add", |a, b| a + b);
    /// assert_eq!(y, Tensor::from_rows(&[[11.0, 22.0], [13.0, 24.0]]));
    /// ```
    #[track_caller]
    pub fn zip_map(&self, other: &Tensor, op: &str, f: impl Fn(f64, f64) -> f64) -> Tensor {
        // Fast paths, in order of how often a network meets them: equal shapes, then a block
        // (bias row or scalar) repeated over the other operand. The general walk handles the rest.
        if self.shape == other.shape {
            let mut data = pool::overwritable(self.len());
            zip_into(&self.data, &other.data, &mut data, &f);
            return Tensor::from_parts(data, Shape::from_slice(&self.shape));
        }
        let shape = broadcast_shapes(op, &self.shape, &other.shape);
        let mut data = pool::take(shape.iter().product());
        if shape == self.shape && is_trailing_block(&other.shape, &self.shape) && !other.is_empty()
        {
            // A bias added to every row: rows of a known width when short (moons: 3), where a
            // loop per row of three would pay its setup every three elements.
            data.extend_from_slice(&self.data);
            with_width!(other.len(), zip_rows_in_place(&mut data, &other.data, &f));
        } else if shape == other.shape
            && is_trailing_block(&self.shape, &other.shape)
            && !self.is_empty()
        {
            for block in other.data.chunks_exact(self.len()) {
                data.extend(self.data.iter().zip(block).map(|(&a, &b)| f(a, b)));
            }
        } else {
            for_each_broadcast(&shape, &self.shape, &other.shape, |i, j| {
                data.push(f(self.data[i], other.data[j]));
            });
        }
        Tensor::from_parts(data, shape)
    }

    /// [`zip_map`](Tensor::zip_map) for a function that threads may share: large operands of
    /// equal shape, or a large one and a row repeated over it (a bias), are computed in pieces
    /// on several threads when [`set_threads`](crate::set_threads) asked for several. Each
    /// element is `f` of the same two numbers either way, so the bits are `zip_map`'s.
    #[track_caller]
    pub(crate) fn zip_map_shared(
        &self,
        other: &Tensor,
        op: &str,
        f: impl Fn(f64, f64) -> f64 + Send + Sync,
    ) -> Tensor {
        // The length first: small tensors (the moons pass's) never ask how many threads there are.
        if self.len() < threads::PARALLEL_ELEMENTS || threads::threads() == 1 {
            return self.zip_map(other, op, f);
        }
        let repeated = self.shape != other.shape;
        if repeated && (!is_trailing_block(&other.shape, &self.shape) || other.is_empty()) {
            return self.zip_map(other, op, f);
        }
        let mut data = pool::overwritable(self.len());
        threads::for_each_piece(&mut data, |start, piece| {
            if repeated {
                // `other` repeats along `self`, starting where this piece starts.
                let row = &other.data;
                let cycle = row[start % row.len()..].iter().chain(row.iter().cycle());
                let inputs = self.data[start..].iter();
                for (out, (&a, &b)) in piece.iter_mut().zip(inputs.zip(cycle)) {
                    *out = f(a, b);
                }
            } else {
                let end = start + piece.len();
                zip_into(&self.data[start..end], &other.data[start..end], piece, &f);
            }
        });
        Tensor::from_parts(data, self.shape.clone())
    }

    /// `self += alpha * other`, in place: the gradient-descent update `w.add_scaled(-lr, &grad)`.
    ///
    /// Panics, naming both shapes and the caller's line, unless the shapes are equal.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let mut w = Tensor::from_slice(&[1.0, 2.0]);
    /// w.add_scaled(-0.5, &Tensor::from_slice(&[2.0, 2.0]));
    /// assert_eq!(w.data(), &[0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn add_scaled(&mut self, alpha: f64, other: &Tensor) {
        if self.shape != other.shape {
            shape_panic(
                "add_scaled",
                format_args!("{:?} and {:?} differ", self.shape(), other.shape()),
            );
        }
        let other = &other.data;
        threads::for_each_piece(&mut self.data, |start, piece| {
            for (a, &b) in piece.iter_mut().zip(&other[start..]) {
                *a += alpha * b;
            }
        });
    }

    /// The largest `|a - b|` over all elements; panics unless the shapes are equal.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_slice(&[1.0, 2.0]);
    /// let b = Tensor::from_slice(&[1.5, 1.0]);
    /// assert_eq!(a.max_abs_diff(&b), 1.0);
    /// ```
    #[track_caller]
    pub fn max_abs_diff(&self, other: &Tensor) -> f64 {
        if self.shape != other.shape {
            shape_panic(
                "max_abs_diff",
                format_args!("{:?} and {:?} differ", self.shape(), other.shape()),
            );
        }
        let diffs = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs());
        diffs.fold(
            0.0,
            |worst, d| if d > worst || d.is_nan() { d } else { worst },
        )
    }

    /// Whether the shapes are equal and every element differs by at most `tolerance`
    /// (NaN never compares equal).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let a = Tensor::from_slice(&[1.0, 2.0]);
    /// assert!(a.approx_eq(&Tensor::from_slice(&[1.0, 2.0 + 1e-12]), 1e-9));
    /// assert!(!a.approx_eq(&Tensor::from_slice(&[1.0]), 1e-9));
    /// ```
    pub fn approx_eq(&self, other: &Tensor, tolerance: f64) -> bool {
        self.shape == other.shape && self.max_abs_diff(other) <= tolerance
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }

    /// Panics, naming `op`, both shapes and the caller's line, unless `other` broadcasts to our
    /// shape: an in-place update keeps the shape of its left side.
    #[track_caller]
    fn check_assign_broadcast(&self, op: &str, other: &Tensor) {
        if broadcast_shapes(op, self.shape(), other.shape()).as_slice() != self.shape() {
            shape_panic(
                op,
                format_args!(
                    "{:?} does not broadcast to {:?} (only the right side may broadcast)",
                    other.shape(),
                    self.shape()
                ),
            );
        }
    }

    /// `self = f(self, other)` with `other` broadcast to our shape (already checked): in place
    /// for a bias row, through `zip_map` otherwise.
    #[track_caller]
    fn zip_assign(&mut self, other: &Tensor, op: &str, f: impl Fn(f64, f64) -> f64) {
        if is_trailing_block(&other.shape, &self.shape) && !other.is_empty() {
            with_width!(
                other.len(),
                zip_rows_in_place(&mut self.data, &other.data, &f)
            );
        } else {
            *self = self.zip_map(other, op, f);
        }
    }
}

impl AddAssign<&Tensor> for Tensor {
    /// Adds `other` in place; `other` may broadcast to `self`'s shape, not the other way round.
    #[track_caller]
    fn add_assign(&mut self, other: &Tensor) {
        self.add_assign_named("add_assign", other);
    }
}

impl Tensor {
    /// `+=`, naming `op` if `other` does not broadcast to our shape.
    #[track_caller]
    pub(super) fn add_assign_named(&mut self, op: &str, other: &Tensor) {
        if self.shape == other.shape {
            self.add_scaled(1.0, other);
        } else {
            self.check_assign_broadcast(op, other);
            self.zip_assign(other, op, |a, b| a + b);
        }
    }
}

impl SubAssign<&Tensor> for Tensor {
    /// Subtracts `other` in place; `other` may broadcast to `self`'s shape.
    #[track_caller]
    fn sub_assign(&mut self, other: &Tensor) {
        if self.shape == other.shape {
            self.add_scaled(-1.0, other);
        } else {
            self.check_assign_broadcast("sub_assign", other);
            self.zip_assign(other, "sub_assign", |a, b| a - b);
        }
    }
}

impl MulAssign<f64> for Tensor {
    fn mul_assign(&mut self, factor: f64) {
        self.data.iter_mut().for_each(|x| *x *= factor);
    }
}

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        self.map(|x| -x)
    }
}

/// `a + b`, `a - b`, `a * b`, `a / b` with broadcasting, on references or owned tensors, and
/// each with an `f64` on either side.
///
/// ```
/// use tapegrad::Tensor;
/// let a = Tensor::from_slice(&[1.0, 2.0]);
/// let b = Tensor::from_slice(&[10.0, 20.0]);
/// assert_eq!((&a + &b).data(), &[11.0, 22.0]);
/// assert_eq!((a * 2.0 + b).data(), &[12.0, 24.0]);
/// ```
macro_rules! tensor_operator {
    ($Trait:ident, $method:ident, $name:literal, $op:tt) => {
        impl $Trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, other: &Tensor) -> Tensor {
                self.zip_map_shared(other, $name, |a, b| a $op b)
            }
        }
        impl $Trait<f64> for &Tensor {
            type Output = Tensor;
            fn $method(self, other: f64) -> Tensor {
                self.map(|a| a $op other)
            }
        }
        impl $Trait<&Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, other: &Tensor) -> Tensor {
                other.map(|b| self $op b)
            }
        }
        // The same on owned tensors, so that `a + b` and `c * 2.0` read as in NumPy.
        impl $Trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, other: Tensor) -> Tensor {
                (&self).$method(&other)
            }
        }
        impl $Trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, other: &Tensor) -> Tensor {
                (&self).$method(other)
            }
        }
        impl $Trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, other: Tensor) -> Tensor {
                self.$method(&other)
            }
        }
        impl $Trait<f64> for Tensor {
            type Output = Tensor;
            fn $method(self, other: f64) -> Tensor {
                (&self).$method(other)
            }
        }
        impl $Trait<Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, other: Tensor) -> Tensor {
                self.$method(&other)
            }
        }
    };
}

tensor_operator!(Add, add, "add", +);
tensor_operator!(Sub, sub, "sub", -);
tensor_operator!(Mul, mul, "mul", *);
tensor_operator!(Div, div, "div", /);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_general_paths_agree() {
        let a = Tensor::new((0..12).map(f64::from).collect(), &[4, 3]).unwrap();
        let row = Tensor::from_rows(&[[1.0, 2.0, 3.0]]);
        let column = Tensor::from_rows(&[[1.0], [2.0], [3.0], [4.0]]);
        // Row broadcast uses the block path, either side; the column uses the general walk.
        assert_eq!((&a + &row)[[2, 1]], 7.0 + 2.0);
        assert_eq!((&row - &a)[[3, 2]], 3.0 - 11.0);
        assert_eq!((&a * &column)[[3, 0]], 9.0 * 4.0);
        assert_eq!((&column / &a.map(|x| x + 1.0))[[1, 2]], 2.0 / 6.0);
        assert_eq!((&a + &Tensor::scalar(1.0)).sum().item(), 66.0 + 12.0);
        // [1, 1] against [3]: the result is [1, 3], not the block path.
        let grown = &Tensor::ones(&[1, 1]) + &Tensor::from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(grown.shape(), &[1, 3]);
    }

    #[test]
    fn outer_broadcast() {
        let column = Tensor::from_rows(&[[1.0], [2.0]]);
        let row = Tensor::from_rows(&[[10.0, 20.0, 30.0]]);
        let sum = &column + &row;
        assert_eq!(
            sum,
            Tensor::from_rows(&[[11.0, 21.0, 31.0], [12.0, 22.0, 32.0]])
        );
    }

    #[test]
    fn max_abs_diff_sees_nan() {
        let a = Tensor::from_slice(&[1.0, f64::NAN]);
        assert!(a.max_abs_diff(&Tensor::from_slice(&[1.0, 1.0])).is_nan());
        assert!(!a.approx_eq(&a, 1.0));
    }
}
