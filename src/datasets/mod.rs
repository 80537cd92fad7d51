//! Two-dimensional classification data: scikit-learn's two moons, and `x1,x2,label` CSV files.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Tensor;

mod moons;
mod spiral;

pub use moons::{make_moons, make_moons_numpy};
pub use spiral::make_spiral;

/// Why a data file could not be loaded.
#[derive(Debug)]
pub enum DataError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A row is not `x1,x2,label` with two numbers and a class index.
    Parse {
        /// The 1-based line number.
        line: usize,
        /// The 1-based column (field) number.
        column: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The file has no data rows.
    Empty,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            DataError::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            DataError::Empty => write!(f, "no data rows (expected lines of x1,x2,label)"),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads 2-D points and labels from a CSV file of `x1,x2,label` rows; see [`parse_csv`].
pub fn load_csv(path: impl AsRef<Path>) -> Result<(Tensor, Vec<usize>), DataError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(&text)
}

/// Parses `x1,x2,label` rows into an `[n, 2]` tensor and the labels.
///
/// A first line whose fields are not numbers is taken as a header; blank lines are skipped.
/// Anything else that is not two finite numbers and a non-negative integer is an error naming
/// the line and the column.
///
/// ```
/// use tapegrad::datasets::parse_csv;
///
/// let (x, labels) = parse_csv("x1,x2,label\n0.5,1.0,0\n-1,2e-1,1\n").unwrap();
/// assert_eq!(x.data(), &[0.5, 1.0, -1.0, 0.2]);
/// assert_eq!(labels, vec![0, 1]);
///
/// let error = parse_csv("0.5,abc,0\n").unwrap_err();
/// assert_eq!(error.to_string(), "line 1, column 2: 'abc' is not a number");
/// ```
pub fn parse_csv(text: &str) -> Result<(Tensor, Vec<usize>), DataError> {
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() || (index == 0 && is_header(line)) {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let error = |column: usize, message: String| DataError::Parse {
            line: line_number,
            column,
            message,
        };
        if fields.len() != 3 {
            // The first missing field, or the first one too many.
            return Err(error(
                (fields.len() + 1).min(4),
                format!("expected 3 fields (x1,x2,label), found {}", fields.len()),
            ));
        }
        for (column, field) in fields[..2].iter().enumerate() {
            match field.parse::<f64>() {
                Ok(value) if value.is_finite() => data.push(value),
                Ok(_) => return Err(error(column + 1, format!("'{field}' is not finite"))),
                Err(_) => return Err(error(column + 1, format!("'{field}' is not a number"))),
            }
        }
        let label = fields[2].parse::<usize>().map_err(|_| {
            error(
                3,
                format!("'{}' is not a class label (0, 1, 2, …)", fields[2]),
            )
        })?;
        labels.push(label);
    }
    if labels.is_empty() {
        return Err(DataError::Empty);
    }
    let x = Tensor::new(data, &[labels.len(), 2]).expect("two numbers per row");
    Ok((x, labels))
}

/// Whether a first line is a header: none of its fields is a number.
fn is_header(line: &str) -> bool {
    line.split(',')
        .all(|field| field.trim().parse::<f64>().is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_name_line_and_column() {
        let cases = [
            (
                "1,2,0\n1,2\n",
                "line 2, column 3: expected 3 fields (x1,x2,label), found 2",
            ),
            (
                "1,2,0,4\n",
                "line 1, column 4: expected 3 fields (x1,x2,label), found 4",
            ),
            (
                "x,y,label\n1,2,0\n3,nan,1\n",
                "line 3, column 2: 'nan' is not finite",
            ),
            (
                "1,2,-1\n",
                "line 1, column 3: '-1' is not a class label (0, 1, 2, …)",
            ),
            (
                "1,2,0.5\n",
                "line 1, column 3: '0.5' is not a class label (0, 1, 2, …)",
            ),
            ("oops,1,0\n", "line 1, column 1: 'oops' is not a number"),
            (
                "x1,x2,label\n\n",
                "no data rows (expected lines of x1,x2,label)",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse_csv(text).unwrap_err().to_string(),
                message,
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_header_is_only_a_first_line_of_words() {
        // A non-numeric first line is a header; the same line further down is an error.
        assert!(parse_csv("x1,x2,label\n1,2,0\n").is_ok());
        let error = parse_csv("1,2,0\nx1,x2,label\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2, column 1: 'x1' is not a number");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let error = load_csv("/nonexistent/points.csv").unwrap_err();
        assert!(matches!(error, DataError::Io { .. }));
        assert!(
            error
                .to_string()
                .starts_with("cannot read /nonexistent/points.csv: ")
        );
    }
}
