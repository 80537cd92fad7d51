//! Recycled element buffers. A dropped tensor's buffer goes to a small per-thread pool, and the
//! next tensor of a similar size takes it instead of asking the allocator.
//!
//! Why: a training step makes the same shapes every pass. Without the pool, the allocator hands
//! the freed pages of large buffers back to the OS at the end of each step and the next step
//! faults them in again (`perf stat -e page-faults` on `benches/training.rs`' MLP step; the
//! figures are in docs/performance-log.md).
//!
//! Small buffers (below 128 KiB) are kept apart, by exact size: a tape's pass makes the same few
//! sizes each time, and reusing them keeps glibc's malloc out of a moons pass.
//!
//! The pool keeps at most 32 large buffers and 64 MiB per thread, and small ones in at most 32
//! sizes, 16 of each and 8 MiB together; beyond that, buffers are freed, and
//! [`release_buffer_pool`] frees the rest on demand (the pool lives until its thread exits).

use std::cell::RefCell;

/// Buffers shorter than this (128 KiB) are small: kept by exact size, apart from the large ones.
const MIN_POOLED: usize = 16 * 1024;
/// Small buffers are kept in at most this many sizes (a moons pass makes about ten),
const MAX_SMALL_SIZES: usize = 32;
/// at most this many of each size,
const MAX_SMALL_PER_SIZE: usize = 16;
/// and at most this many elements together (8 MiB).
const MAX_SMALL_ELEMENTS: usize = 1024 * 1024;
/// At most this many idle buffers are kept per thread,
const MAX_POOLED: usize = 32;
/// holding at most this many elements together (64 MiB): an MNIST-sized MLP step needs a few
/// MiB, and this bounds what one huge temporary can leave behind.
const MAX_POOLED_ELEMENTS: usize = 8 * 1024 * 1024;

/// The idle buffers of one thread and their total capacity.
struct Pool {
    buffers: Vec<Vec<f64>>,
    elements: usize,
    /// Small buffers by exact capacity. A tape's pass asks for the same few sizes every time, and
    /// glibc serves sizes above 1 KiB from its slower bins; one list searched for a fitting size
    /// was slower still (docs/performance-log.md).
    small: Vec<(usize, Vec<Vec<f64>>)>,
    small_elements: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            buffers: Vec::new(),
            elements: 0,
            small: Vec::new(),
            small_elements: 0,
        })
    };
}

/// An empty buffer with room for at least `len` elements, recycled if one of a fitting size
/// (up to twice `len`) is idle.
pub(crate) fn take(len: usize) -> Vec<f64> {
    let mut buffer = take_dirty(len);
    buffer.clear();
    buffer
}

/// `len` elements whose values are left from the buffer's last use (zero where it had fewer),
/// for an output that will be overwritten whole: a large matrix product's, which need not be
/// zeroed first.
pub(crate) fn overwritable(len: usize) -> Vec<f64> {
    let mut buffer = take_dirty(len);
    buffer.truncate(len);
    buffer.resize(len, 0.0);
    buffer
}

/// A recycled buffer as it was given back, or a new empty one.
fn take_dirty(len: usize) -> Vec<f64> {
    if len < MIN_POOLED {
        let recycled = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let (_, idle) = pool.small.iter_mut().find(|(size, _)| *size == len)?;
            let buffer = idle.pop()?;
            pool.small_elements -= len;
            Some(buffer)
        });
        if let Ok(Some(buffer)) = recycled {
            return buffer;
        }
    } else {
        let recycled = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let fits = len..=2 * len;
            let position = pool
                .buffers
                .iter()
                .position(|buffer| fits.contains(&buffer.capacity()))?;
            let buffer = pool.buffers.swap_remove(position);
            pool.elements -= buffer.capacity();
            Some(buffer)
        });
        if let Ok(Some(buffer)) = recycled {
            return buffer;
        }
    }
    Vec::with_capacity(len)
}

/// `len` copies of `value` in a recycled buffer.
pub(crate) fn filled(len: usize, value: f64) -> Vec<f64> {
    let mut buffer = take(len);
    buffer.resize(len, value);
    buffer
}

/// Keeps `buffer` for a later [`take`] if it is large enough to be worth it and the pool has
/// room; otherwise it is freed.
pub(crate) fn give(buffer: Vec<f64>) {
    let capacity = buffer.capacity();
    if capacity == 0 {
        return;
    }
    // During thread teardown the pool may be gone; the buffer is then simply freed.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if capacity >= MIN_POOLED {
            let room = pool.elements + capacity <= MAX_POOLED_ELEMENTS;
            if pool.buffers.len() < MAX_POOLED && room {
                pool.elements += capacity;
                pool.buffers.push(buffer);
            }
            return;
        }
        if pool.small_elements + capacity > MAX_SMALL_ELEMENTS {
            return;
        }
        let position = match pool.small.iter().position(|(size, _)| *size == capacity) {
            Some(position) => position,
            None if pool.small.len() < MAX_SMALL_SIZES => {
                pool.small.push((capacity, Vec::new()));
                pool.small.len() - 1
            }
            None => return,
        };
        let idle = &mut pool.small[position].1;
        if idle.len() < MAX_SMALL_PER_SIZE {
            idle.push(buffer);
            pool.small_elements += capacity;
        }
    });
}

/// Frees the idle buffers this thread's pool keeps and returns how many bytes they held.
///
/// The pool holds at most 72 MiB per thread (64 MiB of large buffers, 8 MiB of small ones) until
/// the thread exits: a long-lived worker that is done with large tensors, or one of many threads,
/// can hand that memory back at once. It costs
/// nothing to correctness; the next large tensor just comes from the allocator again. PyTorch's
/// nearest is `torch.cuda.empty_cache()` for its caching allocator.
///
/// ```
/// use tapegrad::{Tensor, release_buffer_pool};
/// drop(Tensor::zeros(&[1000, 1000])); // 8 MB: its buffer goes to this thread's pool
/// assert!(release_buffer_pool() >= 8_000_000);
/// assert_eq!(release_buffer_pool(), 0); // nothing left
/// ```
pub fn release_buffer_pool() -> usize {
    POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let bytes = (pool.elements + pool.small_elements) * size_of::<f64>();
        pool.buffers = Vec::new();
        pool.elements = 0;
        pool.small = Vec::new();
        pool.small_elements = 0;
        bytes
    })
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_for_a_fitting_size() {
        let buffer = filled(100_000, 1.0);
        let address = buffer.as_ptr();
        give(buffer);
        // Too small a request does not take a buffer twice its size or more.
        let small = take(40_000);
        assert_ne!(small.as_ptr(), address);
        let again = take(90_000);
        assert_eq!((again.as_ptr(), again.len()), (address, 0));
    }

    #[test]
    fn a_small_buffer_is_taken_again_for_its_exact_size_only() {
        let buffer = filled(600, 1.0);
        let address = buffer.as_ptr();
        give(buffer);
        let other_size = take(599);
        assert_ne!(other_size.as_ptr(), address);
        let again = take(600);
        assert_eq!((again.as_ptr(), again.len()), (address, 0));
    }

    #[test]
    fn small_buffers_are_bounded_per_size() {
        (0..2 * MAX_SMALL_PER_SIZE).for_each(|_| give(Vec::with_capacity(77)));
        let kept = POOL.with(|pool| {
            let pool = pool.borrow();
            pool.small
                .iter()
                .find(|(size, _)| *size == 77)
                .map(|(_, idle)| idle.len())
        });
        assert_eq!(kept, Some(MAX_SMALL_PER_SIZE));
    }

    #[test]
    fn an_overwritable_buffer_has_the_length_asked_for() {
        give(filled(100_000, 1.0));
        assert_eq!(overwritable(90_000).len(), 90_000);
        give(filled(60_000, 1.0));
        let longer = overwritable(80_000);
        assert_eq!((longer.len(), longer[70_000]), (80_000, 0.0));
    }

    #[test]
    fn a_buffer_beyond_the_bound_is_freed_not_kept() {
        let huge = filled(MAX_POOLED_ELEMENTS + 1, 0.0);
        give(huge);
        let pooled = POOL.with(|pool| pool.borrow().elements);
        assert!(pooled <= MAX_POOLED_ELEMENTS, "{pooled} elements pooled");
    }
}
