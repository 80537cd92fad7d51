//! Printing a tensor as NumPy does: nested rows, columns aligned, a common number of decimals,
//! scientific notation when magnitudes call for it, and `...` plus the shape for large tensors.

use std::fmt;

use super::Tensor;

/// Above this many elements, each long axis shows its first and last `EDGE_ITEMS` only (NumPy's threshold).
const SUMMARY_THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;
/// NumPy's default print precision.
const MAX_DECIMALS: usize = 8;

/// How every element of one tensor is written, so that columns line up.
struct NumberFormat {
    scientific: bool,
    decimals: usize,
    width: usize,
}

impl NumberFormat {
    fn for_values(values: &[f64]) -> NumberFormat {
        let finite = values.iter().filter(|x| x.is_finite()).map(|x| x.abs());
        let (max, min_nonzero) = finite.fold((0.0f64, f64::INFINITY), |(max, min), x| {
            (max.max(x), if x > 0.0 { min.min(x) } else { min })
        });
        let scientific = max >= 1e8 || min_nonzero < 1e-4;
        // As many decimals as the most precise element needs, up to NumPy's precision.
        let decimals = values
            .iter()
            .filter(|x| x.is_finite())
            .map(|&x| {
                let text = format!("{x:.MAX_DECIMALS$}");
                text.trim_end_matches('0')
                    .split('.')
                    .nth(1)
                    .map_or(0, str::len)
            })
            .max()
            .unwrap_or(0);
        let mut format = NumberFormat {
            scientific,
            decimals: if scientific { 4 } else { decimals },
            width: 0,
        };
        format.width = values
            .iter()
            .map(|&x| format.write(x).len())
            .max()
            .unwrap_or(0);
        format
    }

    fn write(&self, x: f64) -> String {
        if !x.is_finite() {
            return format!("{x}").to_lowercase();
        }
        if self.scientific {
            // NumPy writes the exponent with a sign and two digits: 1.0000e-07.
            let text = format!("{x:.prec$e}", prec = self.decimals);
            let (mantissa, exponent) = text.split_once('e').expect("`e` format has an exponent");
            let exponent: i32 = exponent
                .parse()
                .expect("`e` format has an integer exponent");
            let sign = if exponent < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{:02}", exponent.abs());
        }
        if self.decimals == 0 {
            return format!("{x:.0}.");
        }
        format!("{x:.prec$}", prec = self.decimals)
    }
}

impl Tensor {
    /// Whether the printout elides the middle of long axes.
    fn summarised(&self) -> bool {
        self.len() > SUMMARY_THRESHOLD
    }

    /// The indices shown along an axis of length `len`: all, or the edges with `None` for the gap.
    fn shown_indices(&self, len: usize) -> Vec<Option<usize>> {
        if self.summarised() && len > 2 * EDGE_ITEMS {
            let head = (0..EDGE_ITEMS).map(Some);
            let tail = (len - EDGE_ITEMS..len).map(Some);
            head.chain(std::iter::once(None)).chain(tail).collect()
        } else {
            (0..len).map(Some).collect()
        }
    }

    fn write_block(
        &self,
        f: &mut fmt::Formatter<'_>,
        format: &NumberFormat,
        axis: usize,
        offset: usize,
    ) -> fmt::Result {
        let rank = self.rank();
        let stride: usize = self.shape[axis + 1..].iter().product();
        write!(f, "[")?;
        for (position, index) in self.shown_indices(self.shape[axis]).into_iter().enumerate() {
            if position > 0 {
                if axis + 1 == rank {
                    write!(f, " ")?;
                } else {
                    // Rows go on new lines, indented past the open brackets; blocks get blank lines.
                    write!(
                        f,
                        "{}{}",
                        "\n".repeat(rank - axis - 1),
                        " ".repeat(axis + 1)
                    )?;
                }
            }
            match index {
                None if axis + 1 == rank => write!(f, "{:>width$}", "...", width = format.width)?,
                None => write!(f, "...")?,
                Some(i) if axis + 1 == rank => write!(
                    f,
                    "{:>width$}",
                    format.write(self.data[offset + i]),
                    width = format.width
                )?,
                Some(i) => self.write_block(f, format, axis + 1, offset + i * stride)?,
            }
        }
        write!(f, "]")
    }
}

impl fmt::Display for Tensor {
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, -2.5], [3.0, 4.0]]);
    /// assert_eq!(t.to_string(), "[[ 1.0 -2.5]\n [ 3.0  4.0]]");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = NumberFormat::for_values(&self.data);
        if self.rank() == 0 {
            return write!(f, "{}", format.write(self.data[0]));
        }
        self.write_block(f, &format, 0, 0)?;
        if self.summarised() {
            write!(f, ", shape={:?}", self.shape())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(shape={:?}, {self})", self.shape())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_print_with_a_point_like_numpy() {
        assert_eq!(
            Tensor::from_slice(&[1.0, 2.0, 10.0]).to_string(),
            "[ 1.  2. 10.]"
        );
        assert_eq!(Tensor::scalar(3.0).to_string(), "3.");
    }

    #[test]
    fn rank_three_separates_blocks_with_a_blank_line() {
        let t = Tensor::new((0..8).map(f64::from).collect(), &[2, 2, 2]).unwrap();
        assert_eq!(
            t.to_string(),
            "[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]"
        );
    }

    #[test]
    fn small_and_huge_values_use_scientific_notation() {
        assert_eq!(
            Tensor::from_slice(&[1e-7, 1.0]).to_string(),
            "[1.0000e-07 1.0000e+00]"
        );
        assert_eq!(
            Tensor::from_slice(&[f64::NAN, f64::NEG_INFINITY]).to_string(),
            "[ nan -inf]"
        );
    }

    #[test]
    fn large_tensors_are_summarised_with_their_shape() {
        let t = Tensor::zeros(&[600, 2]);
        let text = t.to_string();
        assert!(text.ends_with(", shape=[600, 2]"), "{text}");
        assert_eq!(text.lines().count(), 7);
        assert!(text.contains("\n ...\n"));
    }
}
