//! Checking gradients: against central finite differences ([`gradcheck`], [`gradgradcheck`], as
//! PyTorch's do), and against formulas derived by hand ([`compare_gradients`]).

mod gradcheck;
mod hand_vs_tape;

pub use gradcheck::{
    GradCheck, GradCheckError, GradCheckReport, function, gradcheck, gradgradcheck,
};
pub use hand_vs_tape::{
    GradientDifference, GradientReport, compare_gradients, compare_gradients_with_numeric,
};
