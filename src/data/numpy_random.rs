//! NumPy's legacy random stream, `np.random.seed(s)` and the `np.random.*` functions on it,
//! reproduced draw for draw so that data and weights made in NumPy can be made here too.
//!
//! Underneath is the raw 32-bit Mersenne Twister (MT19937) of the `rand_mt` crate, seeded by the
//! reference `init_genrand`, which is what NumPy's integer seed uses; on top of it, NumPy's own
//! algorithms from `numpy/random/src/legacy` and `distributions.c`, each named on its method.
//!
//! Only these methods follow NumPy. [`RandomState`] is also a plain `rand` generator (it
//! implements [`rand::TryRng`], so [`rand::Rng`]), but functions that take one, such as
//! [`Tensor::randn`], use `rand`'s algorithms on top of the raw stream and give other numbers
//! than NumPy: use [`RandomState::randn`] for NumPy's.

use std::convert::Infallible;

use rand_mt::Mt;

use crate::Tensor;

/// NumPy's legacy generator, `np.random.RandomState` (the one behind `np.random.seed` and the
/// `np.random.*` functions), seeded with an integer.
///
/// ```
/// use tapegrad::numpy_random::RandomState;
///
/// // np.random.seed(0); np.random.randn()
/// let mut rng = RandomState::new(0);
/// assert_eq!(rng.standard_normal(), 1.764052345967664);
/// ```
///
/// **Passed as a plain `rand` generator** (to [`Tensor::randn`], `rand_distr`, `shuffle` from
/// `rand::seq`, …) it gives the raw stream to `rand`'s algorithms, which are not NumPy's: the
/// numbers then do not match NumPy's. Use the NumPy-named methods here for that.
#[derive(Clone, Debug)]
pub struct RandomState {
    twister: Mt,
    /// The legacy Box–Muller draws normals in pairs and keeps the second for the next call.
    cached_normal: Option<f64>,
}

impl RandomState {
    /// The generator as `np.random.seed(seed)` or `np.random.RandomState(seed)` leaves it.
    /// NumPy accepts integer seeds from 0 to 2³² − 1, exactly the range of `u32`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// // np.random.RandomState(0).randint(0, 2**32, dtype=np.uint32)
    /// assert_eq!(RandomState::new(0).next_raw_u32(), 2357136044);
    /// ```
    pub fn new(seed: u32) -> RandomState {
        RandomState {
            twister: Mt::new(seed),
            cached_normal: None,
        }
    }

    /// The next raw 32-bit output of the Mersenne Twister, as NumPy's
    /// `randint(0, 2**32, dtype=np.uint32)` returns it.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// let mut rng = RandomState::new(3);
    /// assert_eq!([rng.next_raw_u32(), rng.next_raw_u32()], [2365658986, 303761048]);
    /// ```
    pub fn next_raw_u32(&mut self) -> u32 {
        self.twister.next_u32()
    }

    /// NumPy's 64-bit draw (`mt19937_next64`): the first 32-bit output in the high half.
    fn next_raw_u64(&mut self) -> u64 {
        let high = u64::from(self.next_raw_u32());
        (high << 32) | u64::from(self.next_raw_u32())
    }

    /// A uniform double in `[0, 1)` with 53 random bits: `np.random.random_sample()` (also
    /// `np.random.random`, `np.random.rand()`). Two 32-bit draws, the top 27 and 26 bits.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// assert_eq!(RandomState::new(0).random_sample(), 0.5488135039273248);
    /// ```
    pub fn random_sample(&mut self) -> f64 {
        let high = f64::from(self.next_raw_u32() >> 5);
        let low = f64::from(self.next_raw_u32() >> 6);
        (high * 67_108_864.0 + low) / 9_007_199_254_740_992.0
    }

    /// A standard normal draw: `np.random.standard_normal()`, one element of `np.random.randn`.
    ///
    /// NumPy's legacy polar Box–Muller (`legacy_gauss`): draw a point uniformly in the unit
    /// disc by rejection, turn it into two independent normals, return one and keep the other
    /// for the next call. The kept one is why a fresh seed must also clear it.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// let mut rng = RandomState::new(0);
    /// assert_eq!([rng.standard_normal(), rng.standard_normal()], [1.764052345967664, 0.4001572083672233]);
    /// ```
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(kept) = self.cached_normal.take() {
            return kept;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let factor = (-2.0 * r2.ln() / r2).sqrt();
        self.cached_normal = Some(factor * x1);
        factor * x2
    }

    /// A normal draw with mean `loc` and standard deviation `scale`: `np.random.normal(loc,
    /// scale)`, computed as NumPy does, `loc + scale * standard_normal()`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// assert_eq!(RandomState::new(0).normal(1.0, 0.5), 1.882026172983832);
    /// ```
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }

    /// A tensor of standard normal draws filled in row-major order: `np.random.randn(*shape)`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// let w = RandomState::new(0).randn(&[2, 3]);
    /// assert_eq!(w.shape(), &[2, 3]);
    /// assert_eq!(w.data()[1], 0.4001572083672233);
    /// ```
    #[track_caller]
    pub fn randn(&mut self, shape: &[usize]) -> Tensor {
        let values = (0..crate::tensor::shape_len("RandomState::randn", shape))
            .map(|_| self.standard_normal())
            .collect();
        Tensor::new(values, shape).expect("one value per element")
    }

    /// An integer uniform in `low..high`: `np.random.randint(low, high)`, by NumPy's masked
    /// rejection (draw, keep the bits below the range's highest bit, retry while too large),
    /// with 32-bit draws when the range fits in 32 bits and 64-bit ones otherwise.
    ///
    /// Panics, as NumPy raises, when `low >= high`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// let mut rng = RandomState::new(0);
    /// let draws: Vec<i64> = (0..5).map(|_| rng.randint(0, 10)).collect();
    /// assert_eq!(draws, [5, 0, 3, 3, 7]); // np.random.RandomState(0).randint(0, 10, size=5)
    /// ```
    #[track_caller]
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        if low >= high {
            panic!(
                "randint: low ({low}) >= high ({high}) at {}",
                std::panic::Location::caller()
            );
        }
        let largest_offset = high.abs_diff(low) - 1;
        low.wrapping_add_unsigned(self.bounded(largest_offset))
    }

    /// A uniform integer in `0..=max` by masked rejection: NumPy's `random_interval`, which
    /// `shuffle` uses, and the masked path of its bounded integers (`buffered_bounded_masked`).
    fn bounded(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let draw = if max <= u64::from(u32::MAX) {
                u64::from(self.next_raw_u32())
            } else {
                self.next_raw_u64()
            };
            if draw & mask <= max {
                return draw & mask;
            }
        }
    }

    /// Shuffles in place as `np.random.shuffle` does: Fisher–Yates from the last element down,
    /// element `i` swapped with one drawn uniformly from `0..=i`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// let mut items: Vec<usize> = (0..10).collect();
    /// RandomState::new(0).shuffle(&mut items);
    /// assert_eq!(items, [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.bounded(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `0..n` in shuffled order: `np.random.permutation(n)`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    ///
    /// assert_eq!(RandomState::new(0).permutation(4).len(), 4);
    /// ```
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..n).collect();
        self.shuffle(&mut indices);
        indices
    }
}

/// The raw Mersenne Twister stream for `rand`'s algorithms (not NumPy's: see [`RandomState`]).
impl rand::TryRng for RandomState {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.next_raw_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_raw_u64())
    }

    fn try_fill_bytes(&mut self, destination: &mut [u8]) -> Result<(), Infallible> {
        self.twister.fill_bytes(destination);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_above_32_bits_draws_64_bits() {
        // max = 2^32 needs 33 bits: one 64-bit draw (two 32-bit outputs) per try.
        let mut wide = RandomState::new(5);
        let mut raw = RandomState::new(5);
        let value = wide.bounded(1 << 32);
        let mut expected = None;
        while expected.is_none() {
            let draw = raw.next_raw_u64() & ((1 << 33) - 1);
            expected = (draw <= 1 << 32).then_some(draw);
        }
        assert_eq!(Some(value), expected);
        assert_eq!(wide.next_raw_u32(), raw.next_raw_u32());
    }

    #[test]
    fn randint_spans_negative_ranges() {
        let mut rng = RandomState::new(1);
        let draws: Vec<i64> = (0..200).map(|_| rng.randint(-3, 2)).collect();
        assert!(draws.iter().all(|d| (-3..2).contains(d)));
        assert!(draws.contains(&-3) && draws.contains(&1));
        assert_eq!(
            RandomState::new(1).randint(i64::MIN, i64::MIN + 1),
            i64::MIN
        );
    }

    #[test]
    #[should_panic(expected = "randint: low (2) >= high (2)")]
    fn randint_refuses_an_empty_range() {
        RandomState::new(0).randint(2, 2);
    }
}
