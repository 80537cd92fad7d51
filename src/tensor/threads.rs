//! Several cores for the large kernels, opt-in: the cargo feature `threads` (micropool's thread pool)
//! and then [`set_threads`] at run time. Without both, everything runs on the calling thread.
//!
//! The results do not depend on the number of threads, bit for bit: work is only ever split into
//! independent pieces of output, each computed as the one-thread run computes it. A large matrix
//! product is cut into blocks of output rows (`linalg.rs` says why that keeps every element's
//! sum as it was); an elementwise kernel computes each element on its own wherever it lies in
//! the slice. No summation is ever split, so no sum changes its order. `tests/threads.rs` checks
//! products of many shapes, the vectorised functions and whole MLP steps.
//!
//! Small work stays on the calling thread: waking a worker costs tens of microseconds, more than
//! the moons pass's tensors (200 × 3) take to compute. A fresh `std::thread::scope` for each op
//! would spawn a thread each time; a pool keeps its threads. micropool's rather than rayon's: in
//! a split, its calling thread computes a share and then spins briefly for the others' shares,
//! where rayon's sleeps at once and has to be woken, twice a split.

#[cfg(feature = "threads")]
use std::sync::{Arc, RwLock};

/// Elementwise kernels over at least this many elements are split over the threads (the MLP
/// step's hidden layer, 256 × 256, is; the moons pass's 200 × 3 is not).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
pub(crate) const PARALLEL_ELEMENTS: usize = 32 * 1024;

/// The most threads a core [`set_threads`] starts.
///
/// ```
/// assert_eq!(tapegrad::MAX_THREADS_PER_CORE, 4);
/// ```
pub const MAX_THREADS_PER_CORE: usize = 4;

/// How long a pool thread spins for more work after a share before it sleeps, in rounds of a
/// spin loop: long enough for the gap between one large op and the next of a training step, so
/// that the next split finds it awake; micropool's default, 3,000, is not.
#[cfg(feature = "threads")]
const SPIN_ROUNDS: usize = 100_000;

#[cfg(feature = "threads")]
static POOL: RwLock<Option<Arc<micropool::ThreadPool>>> = RwLock::new(None);

/// Sets how many threads tapegrad's large matrix products and elementwise kernels use, and
/// returns the number now in force: `threads`, or all the cores this process may use for `0`,
/// or 1 when the library was built without the cargo feature `threads`. More than
/// [`MAX_THREADS_PER_CORE`] threads a core are clamped to that: beyond it threads only wait on
/// each other (2,000 made a `tanh` thousands of times slower), and `usize::MAX` would never start.
///
/// The results are the same, bit for bit, whatever the number of threads (see the book's
/// chapter 11, `docs/book/11-performance.md`). After each split op the pool's threads spin a
/// while for the next before they sleep, so threads beyond the cores cost more than they give.
/// The default is 1. The calling thread computes a share of each split
/// op; the other threads are kept in a pool of tapegrad's own, apart from any global one.
/// PyTorch: `torch.set_num_threads`.
///
/// ```
/// // With `features = ["threads"]` in Cargo.toml, this runs the large kernels on two threads.
/// let in_force = tapegrad::set_threads(2);
/// assert_eq!(in_force, if cfg!(feature = "threads") { 2 } else { 1 });
/// assert_eq!(tapegrad::threads(), in_force);
/// tapegrad::set_threads(1);
/// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
/// let clamped = tapegrad::set_threads(usize::MAX);
/// assert!(clamped <= cores * tapegrad::MAX_THREADS_PER_CORE);
/// tapegrad::set_threads(1);
/// ```
pub fn set_threads(threads: usize) -> usize {
    #[cfg(feature = "threads")]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = match threads {
            0 => cores,
            n => n.min(cores.saturating_mul(MAX_THREADS_PER_CORE)),
        };
        // The calling thread computes a share itself: the pool holds the others.
        let pool = (threads > 1).then(|| {
            let pool = micropool::ThreadPoolBuilder::default()
                .num_threads(threads - 1)
                .idle_spin_cycles(SPIN_ROUNDS)
                .spawn_handler(move |i, run| {
                    std::thread::Builder::new()
                        .name(format!("tapegrad-{i}"))
                        .spawn(run)
                        .expect("tapegrad: could not start the thread pool")
                })
                .build();
            Arc::new(pool)
        });
        let old = std::mem::replace(&mut *POOL.write().unwrap_or_else(|e| e.into_inner()), pool);
        // Dropping a pool joins its threads: not while others wait for the lock.
        drop(old);
    }
    let _ = threads;
    self::threads()
}

/// The number of threads tapegrad's large kernels use: 1 unless [`set_threads`] said otherwise.
///
/// ```
/// assert_eq!(tapegrad::threads(), 1);
/// ```
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    if let Some(pool) = pool() {
        return pool.num_threads() + 1;
    }
    1
}

#[cfg(feature = "threads")]
fn pool() -> Option<Arc<micropool::ThreadPool>> {
    POOL.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `work` on each of `blocks`, spread over the threads if there are several: the calling
/// thread computes blocks too, and takes any that no pool thread is free for. A panic in `work`
/// aborts the process (micropool does not carry it back), so callers check their inputs before.
pub(crate) fn for_each_block<Block: Send>(blocks: Vec<Block>, work: impl Fn(Block) + Send + Sync) {
    #[cfg(feature = "threads")]
    if blocks.len() > 1
        && let Some(pool) = pool()
    {
        return halves(&pool, blocks, &work);
    }
    blocks.into_iter().for_each(work);
}

/// `work` on each of `blocks`, halved until single blocks, each pair of halves one
/// `micropool::ThreadPool::join` (as rayon's `join`).
#[cfg(feature = "threads")]
fn halves<Block: Send>(
    pool: &micropool::ThreadPool,
    mut blocks: Vec<Block>,
    work: &(impl Fn(Block) + Sync),
) {
    if blocks.len() < 2 {
        return blocks.into_iter().for_each(work);
    }
    let second = blocks.split_off(blocks.len() / 2);
    pool.join(|| halves(pool, blocks, work), || halves(pool, second, work));
}

/// Runs `work(start, piece)` on pieces of `values` that together cover it (`start` is the index
/// of the piece's first element), one piece a thread when there are several and `values` is
/// long ([`PARALLEL_ELEMENTS`]). `work` must treat each element on its own: where the cuts fall
/// depends on the number of threads.
pub(crate) fn for_each_piece(values: &mut [f64], work: impl Fn(usize, &mut [f64]) + Send + Sync) {
    #[cfg(feature = "threads")]
    if values.len() >= PARALLEL_ELEMENTS
        && let Some(pool) = pool()
    {
        let piece = values.len().div_ceil(pool.num_threads() + 1);
        let pieces = values.chunks_mut(piece).enumerate().collect();
        return for_each_block(pieces, |(i, chunk)| work(i * piece, chunk));
    }
    work(0, values);
}
