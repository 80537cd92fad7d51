//! Elementwise comparisons, with NumPy broadcasting, giving 1.0 where true and 0.0 where false
//! (f64 tensors throughout: a mask multiplies, and its mean is a fraction).

use super::Tensor;

macro_rules! comparison {
    ($(#[$doc:meta])* $name:ident, $op:tt) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $name(&self, other: &Tensor) -> Tensor {
            self.zip_map(other, stringify!($name), |a, b| if a $op b { 1.0 } else { 0.0 })
        }
    };
}

impl Tensor {
    comparison!(
        /// 1 where `self > other`, else 0 (NaN compares false). PyTorch: `torch.gt`.
        ///
        /// ```
        /// use tapegrad::Tensor;
        /// let x = Tensor::from_slice(&[-1.0, 0.0, 2.0]);
        /// assert_eq!(x.gt(&Tensor::scalar(0.0)).data(), &[0.0, 0.0, 1.0]);
        /// ```
        gt, >
    );
    comparison!(
        /// 1 where `self >= other`, else 0. PyTorch: `torch.ge`.
        ///
        /// ```
        /// use tapegrad::Tensor;
        /// assert_eq!(Tensor::from_slice(&[0.0, 1.0]).ge(&Tensor::scalar(1.0)).data(), &[0.0, 1.0]);
        /// ```
        ge, >=
    );
    comparison!(
        /// 1 where `self < other`, else 0. PyTorch: `torch.lt`.
        ///
        /// ```
        /// use tapegrad::Tensor;
        /// assert_eq!(Tensor::from_slice(&[0.0, 1.0]).lt(&Tensor::scalar(1.0)).data(), &[1.0, 0.0]);
        /// ```
        lt, <
    );
    comparison!(
        /// 1 where `self <= other`, else 0. PyTorch: `torch.le`.
        ///
        /// ```
        /// use tapegrad::Tensor;
        /// assert_eq!(Tensor::from_slice(&[0.0, 2.0]).le(&Tensor::scalar(1.0)).data(), &[1.0, 0.0]);
        /// ```
        le, <=
    );
    comparison!(
        /// 1 where `self == other`, else 0, elementwise (`==` on tensors compares whole
        /// tensors). PyTorch: `torch.eq`.
        ///
        /// ```
        /// use tapegrad::Tensor;
        /// let labels = Tensor::from_slice(&[0.0, 1.0, 1.0]);
        /// let predicted = Tensor::from_slice(&[0.0, 0.0, 1.0]);
        /// assert_eq!(labels.eq_elementwise(&predicted).mean().item(), 2.0 / 3.0);
        /// ```
        eq_elementwise, ==
    );
}
