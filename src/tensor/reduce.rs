//! Reductions (`sum`, `mean`, `max`, `argmax`, over everything or along one axis) and the
//! along-an-axis maps `softmax` and `log_softmax`.
//!
//! An axis splits a shape into `outer × len × inner`; a *lane* is the `len` elements that share
//! one outer and one inner index. Every axis op here works lane by lane.

use super::few_columns::with_width;
use super::math::{WithExp, exp_in_place, run_with_exp};
use super::{Shape, Tensor, shape_panic};

impl Tensor {
    /// `(outer, len, inner)` for `axis`; panics naming `op`, the axis and the shape when out of range.
    #[track_caller]
    fn lanes(&self, op: &str, axis: usize) -> (usize, usize, usize) {
        if axis >= self.rank() {
            shape_panic(
                op,
                format_args!("axis {axis} is out of range for shape {:?}", self.shape()),
            );
        }
        let outer = self.shape[..axis].iter().product();
        let inner = self.shape[axis + 1..].iter().product();
        (outer, self.shape[axis], inner)
    }

    /// One number per lane along `axis`, in row-major order of the remaining axes.
    #[track_caller]
    fn fold_lanes(
        &self,
        op: &str,
        axis: usize,
        keepdim: bool,
        fold: impl Fn(&[f64]) -> f64,
    ) -> Tensor {
        let (outer, len, inner) = self.lanes(op, axis);
        let mut shape: Shape = self.shape.clone();
        if keepdim {
            shape[axis] = 1;
        } else {
            shape.remove(axis);
        }
        let mut data = super::pool::take(outer * inner);
        if inner == 1 {
            // The last axis: lanes are contiguous.
            data.extend((0..outer).map(|o| fold(&self.data[o * len..(o + 1) * len])));
        } else {
            let mut lane = vec![0.0; len];
            for o in 0..outer {
                for i in 0..inner {
                    for (k, x) in lane.iter_mut().enumerate() {
                        *x = self.data[(o * len + k) * inner + i];
                    }
                    data.push(fold(&lane));
                }
            }
        }
        Tensor::from_parts(data, shape)
    }

    /// A tensor of our shape whose every lane along `axis` is `map(input_lane, output_lane)`.
    #[track_caller]
    fn map_lanes(&self, op: &str, axis: usize, map: impl Fn(&[f64], &mut [f64])) -> Tensor {
        let (outer, len, inner) = self.lanes(op, axis);
        let mut out = Tensor::zeros(&self.shape);
        if inner == 1 {
            for o in 0..outer {
                let lane = o * len..(o + 1) * len;
                map(&self.data[lane.clone()], &mut out.data[lane]);
            }
            return out;
        }
        let (mut lane_in, mut lane_out) = (vec![0.0; len], vec![0.0; len]);
        for o in 0..outer {
            for i in 0..inner {
                for (k, x) in lane_in.iter_mut().enumerate() {
                    *x = self.data[(o * len + k) * inner + i];
                }
                map(&lane_in, &mut lane_out);
                for (k, &y) in lane_out.iter().enumerate() {
                    out.data[(o * len + k) * inner + i] = y;
                }
            }
        }
        out
    }

    /// The sum of all elements, as a scalar tensor.
    pub fn sum(&self) -> Tensor {
        Tensor::scalar(self.data.iter().sum())
    }

    /// The mean of all elements, as a scalar tensor (NaN for an empty tensor).
    pub fn mean(&self) -> Tensor {
        Tensor::scalar(self.data.iter().sum::<f64>() / self.len() as f64)
    }

    /// Sums along `axis`; the axis is kept with length 1 when `keepdim` (as PyTorch's `sum(dim, keepdim)`).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.sum_axis(0, false), Tensor::from_slice(&[4.0, 6.0]));
    /// assert_eq!(t.sum_axis(1, true), Tensor::from_rows(&[[3.0], [7.0]]));
    /// ```
    #[track_caller]
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Tensor {
        self.fold_lanes("sum_axis", axis, keepdim, |lane| lane.iter().sum())
    }

    /// The mean along `axis`, kept with length 1 when `keepdim`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.mean_axis(1, false), Tensor::from_slice(&[1.5, 3.5]));
    /// ```
    #[track_caller]
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Tensor {
        self.fold_lanes("mean_axis", axis, keepdim, |lane| {
            lane.iter().sum::<f64>() / lane.len() as f64
        })
    }

    /// The largest element along `axis`, kept with length 1 when `keepdim`. PyTorch:
    /// `torch.amax(t, dim=axis)`.
    ///
    /// Panics, naming the axis, the shape and the caller's line, if the lanes are empty (the
    /// axis has length 0 and the others do not): an empty lane has no largest element.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let t = Tensor::from_rows(&[[1.0, 5.0], [3.0, 4.0]]);
    /// assert_eq!(t.max_axis(0, false), Tensor::from_slice(&[3.0, 5.0]));
    /// ```
    #[track_caller]
    pub fn max_axis(&self, axis: usize, keepdim: bool) -> Tensor {
        let (outer, len, inner) = self.lanes("max_axis", axis);
        if len == 0 && outer * inner > 0 {
            shape_panic(
                "max_axis",
                format_args!(
                    "axis {axis} of shape {:?} is empty: no element to pick",
                    self.shape()
                ),
            );
        }
        self.fold_lanes("max_axis", axis, keepdim, lane_max)
    }

    /// The index of the largest element of each lane along `axis` (the first one on ties), in
    /// row-major order of the other axes: the predicted class of each row is `argmax_axis(1)`.
    /// PyTorch: `torch.argmax(t, dim=axis)`.
    ///
    /// Panics, naming the axis, the shape and the caller's line, if the lanes are empty (the
    /// axis has length 0 and the others do not).
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let scores = Tensor::from_rows(&[[0.1, 0.9], [0.8, 0.2]]);
    /// assert_eq!(scores.argmax_axis(1), vec![1, 0]);
    /// ```
    #[track_caller]
    pub fn argmax_axis(&self, axis: usize) -> Vec<usize> {
        let (outer, len, inner) = self.lanes("argmax_axis", axis);
        if len == 0 && outer * inner > 0 {
            // An empty lane has no largest element; answering 0 would invent a class.
            shape_panic(
                "argmax_axis",
                format_args!(
                    "axis {axis} of shape {:?} is empty: no element to pick",
                    self.shape()
                ),
            );
        }
        let positions = self.fold_lanes("argmax_axis", axis, false, |lane| {
            let mut best = 0;
            for (k, &x) in lane.iter().enumerate() {
                if x > lane[best] {
                    best = k;
                }
            }
            best as f64
        });
        positions.data.iter().map(|&k| k as usize).collect()
    }

    /// `exp(x) / Σ exp(x)` along `axis`, computed as `exp(x - max)` so that large inputs do not
    /// overflow. A tensor without elements gives one of its shape, as `log_softmax` does.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let p = Tensor::from_rows(&[[1000.0, 1000.0]]).softmax(1);
    /// assert_eq!(p.data(), &[0.5, 0.5]);
    /// assert_eq!(Tensor::zeros(&[0, 3]).softmax(0).shape(), &[0, 3]);
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Tensor {
        let (outer, len, inner) = self.lanes("softmax", axis);
        if self.is_empty() {
            return Tensor::zeros(&self.shape); // no lanes, or empty ones: nothing to normalise
        }
        if inner != 1 {
            return self.map_lanes("softmax", axis, |lane, out| {
                let mut max_and_total = ([0.0], [0.0]);
                softmax_lanes(lane, len, out, &mut max_and_total.0, &mut max_and_total.1);
            });
        }
        // The last axis: lanes are contiguous and go through the kernel together.
        let mut out = Tensor::zeros(&self.shape);
        let mut scratch = Tensor::zeros(&[2, outer]); // from the pool of small buffers, not malloc
        let (maxes, totals) = scratch.data.split_at_mut(outer);
        if len > 0 {
            softmax_lanes(&self.data, len, &mut out.data, maxes, totals);
        }
        out
    }

    /// `log(softmax(x))` along `axis`, computed as `x - max - log Σ exp(x - max)`: finite for any finite input.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let logp = Tensor::from_rows(&[[0.0, -1000.0]]).log_softmax(1);
    /// assert_eq!(logp.data(), &[0.0, -1000.0]);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Tensor {
        self.map_lanes("log_softmax", axis, |lane, out| {
            let max = lane_max(lane);
            if max.is_infinite() {
                // All −inf, or some +inf: the shift below would make NaN of what is −inf or +inf.
                out.iter_mut().zip(lane).for_each(|(y, &x)| *y = x - max);
                return;
            }
            let log_sum = max + log_sum_exp_shifted(lane, max, out);
            out.iter_mut()
                .zip(lane)
                .for_each(|(y, &x)| *y = x - log_sum);
        })
    }
}

/// The largest element of a lane (−∞ for an empty lane; NaN if any element is NaN).
pub(crate) fn lane_max(lane: &[f64]) -> f64 {
    lane.iter().fold(f64::NEG_INFINITY, |max, &x| {
        if x > max || x.is_nan() { x } else { max }
    })
}

/// Writes the softmax of each lane of `len` contiguous elements of `lanes` into `out`, each lane's
/// largest element into `maxes` and its `Σ exp(x - max)` into `totals` (so `log Σ exp(x)` is
/// `max + ln total`): the softmax and the log-normaliser of cross-entropy from one pass of `exp`.
pub(crate) fn softmax_lanes(
    lanes: &[f64],
    len: usize,
    out: &mut [f64],
    maxes: &mut [f64],
    totals: &mut [f64],
) {
    run_with_exp(SoftmaxLanes {
        lanes,
        len,
        out,
        maxes,
        totals,
    });
}

/// `softmax_lanes`' work, run inside the dispatch (`math::run_with_exp`) and in three passes, not
/// one per lane: the moons network's lanes have two classes, too short for vectors, so the `exp`s
/// run over all lanes at once (`cargo bench --bench instructions` under callgrind shows it).
struct SoftmaxLanes<'a> {
    lanes: &'a [f64],
    len: usize,
    out: &'a mut [f64],
    maxes: &'a mut [f64],
    totals: &'a mut [f64],
}

impl WithExp for SoftmaxLanes<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self, exp: impl Fn(f64) -> f64 + Copy) {
        with_width!(self.len, softmax_rows(self, exp));
    }
}

/// `SoftmaxLanes`' three passes, with lanes of `N` elements, or of `len` when `N` is 0: a known
/// short length unrolls the per-lane loops.
#[inline(always)]
fn softmax_rows<const N: usize>(job: SoftmaxLanes, exp: impl Fn(f64) -> f64 + Copy) {
    let len = if N == 0 { job.len } else { N };
    let lanes = job.lanes.chunks_exact(len);
    for ((lane, out), max) in lanes
        .zip(job.out.chunks_exact_mut(len))
        .zip(&mut *job.maxes)
    {
        *max = lane_max(lane);
        out.iter_mut().zip(lane).for_each(|(y, &x)| *y = x - *max);
    }
    job.out.iter_mut().for_each(|y| *y = exp(*y));
    for (out, total) in job.out.chunks_exact_mut(len).zip(&mut *job.totals) {
        *total = out.iter().sum::<f64>();
        out.iter_mut().for_each(|y| *y /= *total);
    }
}

/// Writes `exp(x - max)` of `lane` into `scratch` (vectorised) and returns `log Σ exp(x - max)`
/// (one logarithm per lane: the standard library's).
fn log_sum_exp_shifted(lane: &[f64], max: f64, scratch: &mut [f64]) -> f64 {
    scratch
        .iter_mut()
        .zip(lane)
        .for_each(|(y, &x)| *y = x - max);
    exp_in_place(scratch);
    scratch.iter().sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::counting;

    #[test]
    fn every_axis_of_a_rank_three_tensor() {
        let t = counting(&[2, 3, 4]);
        assert_eq!(t.sum_axis(0, false), &(&counting(&[3, 4]) * 2.0) + 12.0);
        assert_eq!(t.sum_axis(1, true).shape(), &[2, 1, 4]);
        assert_eq!(t.sum_axis(1, true)[[1, 0, 2]], 14.0 + 18.0 + 22.0);
        assert_eq!(t.max_axis(2, false)[[1, 2]], 23.0);
        assert_eq!(t.argmax_axis(1), vec![2; 8]);
        assert_eq!(t.sum_axis(2, false).sum(), t.sum());
    }

    #[test]
    fn softmax_lanes_sum_to_one_on_every_axis() {
        let t = counting(&[2, 3, 4]).map(|x| (x * 0.37).sin() * 3.0);
        for axis in 0..3 {
            let p = t.softmax(axis);
            let lane_sums = p.sum_axis(axis, false);
            assert!(lane_sums.approx_eq(&Tensor::ones(lane_sums.shape()), 1e-15));
            assert!(t.log_softmax(axis).approx_eq(&p.map(f64::ln), 1e-14));
        }
    }

    #[test]
    #[should_panic(expected = "sum_axis: axis 2 is out of range for shape [3, 4] at src/")]
    fn axis_out_of_range() {
        Tensor::zeros(&[3, 4]).sum_axis(2, false);
    }
}
