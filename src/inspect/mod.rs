//! Seeing what the tape recorded: one line per node ([`Tape::summary`](crate::Tape::summary)) or
//! a Graphviz graph ([`Tape::to_dot`](crate::Tape::to_dot)), and [`anomaly::check`], which names
//! the op that made the first NaN.

pub mod anomaly;
mod summary;

pub use summary::Summary;
pub(crate) use summary::min_mean_max;
