//! Data from outside the engine (feature `data`, on by default): two moons, spirals and CSV files
//! ([`datasets`]), and NumPy's legacy random stream draw for draw ([`numpy_random`]), so that
//! the tutorial's data and weights come out as the tutorial's.

pub mod datasets;
pub mod numpy_random;
