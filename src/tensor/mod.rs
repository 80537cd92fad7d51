//! [`Tensor`]: an n-dimensional array of `f64`, row-major and contiguous, with no gradient attached.
//!
//! Tensors are the values the tape records. Their math is split by kind: `elementwise` (with
//! NumPy broadcasting from `broadcast`), `linalg` (matrix products, transpose, reshape),
//! `reduce` (sums, maxima and softmax along axes), `math` (vectorised `exp`, `tanh`, `ln`);
//! `display` prints them.

mod broadcast;
mod compare;
mod display;
mod elementwise;
mod few_columns;
mod linalg;
mod math;
mod pool;
mod reduce;
mod select;
mod threads;

use std::fmt;
use std::ops::{Index, IndexMut};
use std::panic::Location;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use smallvec::SmallVec;

pub(crate) use broadcast::{broadcast_shapes, broadcast_shapes_checked};
pub(crate) use math::ln_in_place;
pub use math::vector_isa;
pub use pool::release_buffer_pool;
pub(crate) use reduce::softmax_lanes;
pub use threads::{MAX_THREADS_PER_CORE, set_threads, threads};

/// The shape of a tensor: one length per axis, outermost first. Rank 4 and below need no allocation.
pub type Shape = SmallVec<[usize; 4]>;

/// An n-dimensional array of `f64` in row-major (C) order.
///
/// A rank-0 tensor (shape `[]`) holds one number, a scalar.
///
/// ```
/// use tapegrad::Tensor;
///
/// let a = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
/// assert_eq!(a.shape(), &[2, 2]);
/// assert_eq!(a[[1, 0]], 3.0);
/// assert_eq!(a.sum().item(), 10.0);
/// ```
#[derive(PartialEq)]
pub struct Tensor {
    data: Vec<f64>,
    shape: Shape,
}

/// A tensor could not be built from the values given: their number does not fill the shape, or
/// the shape has more elements than memory can address (see [`Tensor::new`]).
///
/// Returned by constructors that take outside data, such as [`Tensor::new`]; shape mismatches
/// between tensors inside a computation panic instead, naming the op and the caller's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// The shape that was asked for.
    pub shape: Shape,
    /// How many values came.
    pub len: usize,
}

impl ShapeError {
    /// Whether the shape itself is impossible: its element count overflows (see [`Tensor::new`]).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// assert!(Tensor::new(vec![], &[1 << 32, 1 << 32]).unwrap_err().is_overflow());
    /// assert!(!Tensor::new(vec![1.0], &[2]).unwrap_err().is_overflow());
    /// ```
    pub fn is_overflow(&self) -> bool {
        checked_len(&self.shape).is_none()
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = self.shape.as_slice();
        match checked_len(shape) {
            Some(expected) => write!(
                f,
                "Tensor::new: {} values do not fill shape {shape:?} (it needs {expected})",
                self.len
            ),
            None => write!(f, "Tensor::new: shape {shape:?} {TOO_LARGE}"),
        }
    }
}

impl std::error::Error for ShapeError {}

/// How an overflowing shape is described, in errors and panics alike.
const TOO_LARGE: &str =
    "has more elements than memory can address (the product of its lengths overflows)";

/// The number of elements of `shape`, or `None` if it cannot exist: the product of its nonzero
/// lengths overflows, or its `f64`s would exceed `isize::MAX` bytes (Rust's limit on one
/// allocation). Zero lengths are left out of the check so that every sub-product of a valid
/// shape (the `outer`/`inner` counts of the axis kernels, a stride) fits in a `usize` too.
pub(crate) fn checked_len(shape: &[usize]) -> Option<usize> {
    let nonzero = shape
        .iter()
        .filter(|&&len| len != 0)
        .try_fold(1usize, |product, &len| product.checked_mul(len))?;
    let bytes = nonzero.checked_mul(size_of::<f64>())?;
    if bytes > isize::MAX as usize {
        return None;
    }
    Some(if shape.contains(&0) { 0 } else { nonzero })
}

/// The number of elements of `shape`; panics naming `op`, the shape and the caller's line if
/// it overflows (a programming error: data from outside goes through [`Tensor::new`]'s `Result`).
#[track_caller]
pub(crate) fn shape_len(op: &str, shape: &[usize]) -> usize {
    match checked_len(shape) {
        Some(len) => len,
        None => shape_panic(op, format_args!("shape {shape:?} {TOO_LARGE}")),
    }
}

/// The multi-index of row-major offset `offset` in `shape`.
pub(crate) fn unravel(mut offset: usize, shape: &[usize]) -> Shape {
    let mut index = Shape::from_elem(0, shape.len());
    for (axis, &len) in shape.iter().enumerate().rev() {
        index[axis] = offset % len;
        offset /= len;
    }
    index
}

/// Panics with `op: detail at file:line:col`, the line being the caller's (through `#[track_caller]`).
#[track_caller]
pub(crate) fn shape_panic(op: &str, detail: fmt::Arguments<'_>) -> ! {
    panic!("{op}: {detail} at {}", Location::caller())
}

impl Tensor {
    /// A tensor from row-major `data` and a `shape`; an error if the lengths disagree, or if the
    /// shape's element count overflows ([`ShapeError::is_overflow`]). PyTorch: `torch.tensor(data).reshape(shape)`.
    ///
    /// Every shape a tensor has is checked this way, so the product of its lengths, and of any
    /// of them, fits in a `usize`. Where the shape is the program's own (`zeros`, `reshape`,
    /// `broadcast_to`), an overflow panics instead, naming the op, the shape and the caller's line.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(t[[1, 2]], 6.0);
    /// assert!(Tensor::new(vec![1.0, 2.0], &[3]).is_err());
    /// assert!(Tensor::new(vec![], &[1 << 32, 1 << 32]).is_err()); // 2⁶⁴ elements, not 0
    /// ```
    pub fn new(data: Vec<f64>, shape: &[usize]) -> Result<Tensor, ShapeError> {
        if checked_len(shape) != Some(data.len()) {
            return Err(ShapeError {
                shape: shape.into(),
                len: data.len(),
            });
        }
        Ok(Tensor {
            data,
            shape: shape.into(),
        })
    }

    /// Builds a tensor whose data is known to fit its shape (internal constructors only).
    pub(crate) fn from_parts(data: Vec<f64>, shape: Shape) -> Tensor {
        debug_assert_eq!(Some(data.len()), checked_len(&shape));
        Tensor { data, shape }
    }

    /// A tensor of `shape` (of a size already checked) in a recycled buffer whose values are left
    /// from its last use: for an output whose every element is written before it is read.
    pub(crate) fn for_overwrite(shape: &[usize]) -> Tensor {
        let len = shape.iter().product();
        Tensor::from_parts(pool::overwritable(len), shape.into())
    }

    /// A tensor of `shape` filled with `value`. PyTorch: `torch.full`.
    ///
    /// Panics, naming the shape and the caller's line, if its element count overflows.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// assert_eq!(Tensor::full(&[2], 7.0).data(), &[7.0, 7.0]);
    /// ```
    #[track_caller]
    pub fn full(shape: &[usize], value: f64) -> Tensor {
        Tensor::filled("Tensor::full", shape, value)
    }

    /// A tensor of `shape` filled with zeros. PyTorch: `torch.zeros`.
    ///
    /// Panics, naming the shape and the caller's line, if its element count overflows.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// assert_eq!(Tensor::zeros(&[1, 3]).data(), &[0.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::filled("Tensor::zeros", shape, 0.0)
    }

    /// A tensor of `shape` filled with ones. PyTorch: `torch.ones`.
    ///
    /// Panics, naming the shape and the caller's line, if its element count overflows.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// assert_eq!(Tensor::ones(&[2, 2]).sum().item(), 4.0);
    /// ```
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::filled("Tensor::ones", shape, 1.0)
    }

    /// `full` under the name of the constructor the user called, for its overflow message.
    #[track_caller]
    fn filled(op: &str, shape: &[usize], value: f64) -> Tensor {
        let len = shape_len(op, shape);
        Tensor::from_parts(pool::filled(len, value), Shape::from_slice(shape))
    }

    /// A rank-0 tensor holding `value`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let s = Tensor::scalar(2.5);
    /// assert_eq!(s.shape(), &[] as &[usize]);
    /// assert_eq!(s.item(), 2.5);
    /// ```
    pub fn scalar(value: f64) -> Tensor {
        Tensor::from_parts(vec![value], Shape::new())
    }

    /// A 1-D tensor holding `values`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// assert_eq!(Tensor::from_slice(&[1.0, 2.0]).shape(), &[2]);
    /// ```
    pub fn from_slice(values: &[f64]) -> Tensor {
        Tensor::from_parts(values.to_vec(), Shape::from_slice(&[values.len()]))
    }

    /// A 2-D tensor from rows of equal length: `from_rows(&[[1.0, 2.0], [3.0, 4.0]])` has shape `[2, 2]`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_rows(&[[1.0, 2.0, 3.0]]);
    /// assert_eq!(x.shape(), &[1, 3]);
    /// ```
    pub fn from_rows<const N: usize>(rows: &[[f64; N]]) -> Tensor {
        let data = rows.iter().flatten().copied().collect();
        Tensor::from_parts(data, Shape::from_slice(&[rows.len(), N]))
    }

    /// A tensor of `shape` with independent standard-normal entries drawn from `rng`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// use tapegrad::Tensor;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let w = Tensor::randn(&[2, 3], &mut rng);
    /// assert_eq!(w.shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn randn<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Tensor {
        let len = shape_len("Tensor::randn", shape);
        let data = (0..len).map(|_| StandardNormal.sample(rng)).collect();
        Tensor::from_parts(data, shape.into())
    }

    /// The `n` by `n` identity matrix.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// assert_eq!(Tensor::eye(2), Tensor::from_rows(&[[1.0, 0.0], [0.0, 1.0]]));
    /// ```
    #[track_caller]
    pub fn eye(n: usize) -> Tensor {
        let mut eye = Tensor::filled("Tensor::eye", &[n, n], 0.0);
        for i in 0..n {
            eye.data[i * n + i] = 1.0;
        }
        eye
    }

    /// The length of each axis, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes: 0 for a scalar, 2 for a matrix.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements (the product of the shape; 1 for a scalar).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some axis has length 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The elements in row-major order, writable.
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// Gives up the tensor and returns its elements in row-major order.
    pub fn into_data(mut self) -> Vec<f64> {
        std::mem::take(&mut self.data)
    }

    /// The value of a one-element tensor (a scalar, or any shape holding one number).
    ///
    /// Panics, naming the shape and the caller's line, if the tensor has more or fewer elements.
    #[track_caller]
    pub fn item(&self) -> f64 {
        if self.data.len() != 1 {
            shape_panic(
                "item",
                format_args!(
                    "tensor of shape {:?} has {} elements, not 1",
                    self.shape(),
                    self.len()
                ),
            );
        }
        self.data[0]
    }

    /// The row-major offset of a multi-index; panics naming the index and the shape when it is outside.
    #[track_caller]
    fn offset(&self, index: &[usize]) -> usize {
        if index.len() != self.rank() || index.iter().zip(self.shape()).any(|(i, n)| i >= n) {
            shape_panic(
                "index",
                format_args!("{index:?} is outside a tensor of shape {:?}", self.shape()),
            );
        }
        index
            .iter()
            .zip(self.shape())
            .fold(0, |offset, (i, n)| offset * n + i)
    }
}

impl<const N: usize> Index<[usize; N]> for Tensor {
    type Output = f64;

    /// `t[[i, j]]` reads one element; panics if the index has the wrong rank or is out of range.
    #[track_caller]
    fn index(&self, index: [usize; N]) -> &f64 {
        &self.data[self.offset(&index)]
    }
}

impl<const N: usize> IndexMut<[usize; N]> for Tensor {
    #[track_caller]
    fn index_mut(&mut self, index: [usize; N]) -> &mut f64 {
        let offset = self.offset(&index);
        &mut self.data[offset]
    }
}

impl Clone for Tensor {
    fn clone(&self) -> Tensor {
        let mut data = pool::take(self.len());
        data.extend_from_slice(&self.data);
        Tensor::from_parts(data, Shape::from_slice(&self.shape))
    }
}

impl Drop for Tensor {
    /// Hands the element buffer to the pool of recycled buffers (see `tensor/pool.rs`).
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.data));
    }
}

impl Default for Tensor {
    /// An empty 1-D tensor (shape `[0]`), what [`Tape::take`](crate::Tape::take) leaves behind.
    fn default() -> Tensor {
        Tensor::from_parts(Vec::new(), Shape::from_slice(&[0]))
    }
}

impl From<f64> for Tensor {
    fn from(value: f64) -> Tensor {
        Tensor::scalar(value)
    }
}

/// `0, 1, 2, …` laid out in `shape`: a tensor whose every element says where it came from.
#[cfg(test)]
pub(crate) fn counting(shape: &[usize]) -> Tensor {
    let len = shape.iter().product::<usize>();
    Tensor::new((0..len).map(|i| i as f64).collect(), shape).expect("len fills shape")
}
