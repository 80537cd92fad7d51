//! A reused tape over many passes: its node count, its capacity and the process's memory stay
//! put. Alone in its file, so that no other test's allocations share the process.

mod common;

use common::{network, network_inputs};
use tapegrad::{Tape, Tensor};

/// This process's resident memory in bytes (Linux), to see that a reused tape holds on to nothing.
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn a_reused_tape_does_not_grow_over_ten_thousand_passes() {
    let (params, x) = network_inputs();
    let mut tape = Tape::new();
    let mut shape_of_a_pass = None;
    let mut resident_after_warmup = None;
    for pass in 0..10_000 {
        tape.clear();
        let (loss, _) = network(&tape, &params, &x);
        let grads = loss.backward();
        std::hint::black_box(grads);
        let shape = (tape.len(), tape.capacity());
        assert_eq!(
            *shape_of_a_pass.get_or_insert(shape),
            shape,
            "pass {pass}: (nodes, capacity) changed"
        );
        if pass == 100 {
            resident_after_warmup = resident_bytes();
        }
    }
    if let (Some(before), Some(after)) = (resident_after_warmup, resident_bytes()) {
        // A leak of even one small tensor per pass would be megabytes.
        assert!(
            after < before + (4 << 20),
            "resident memory grew from {before} to {after} bytes"
        );
    }
}

#[test]
fn release_buffer_pool_frees_what_a_thread_keeps() {
    let released = std::thread::spawn(|| {
        // 4 MiB tensors, large enough to be pooled once dropped.
        let tensors: Vec<Tensor> = (0..4).map(|_| Tensor::zeros(&[512, 1024])).collect();
        drop(tensors);
        let first = tapegrad::release_buffer_pool();
        let second = tapegrad::release_buffer_pool();
        (first, second)
    })
    .join()
    .unwrap();
    assert_eq!(released, (4 * 512 * 1024 * 8, 0));
}
