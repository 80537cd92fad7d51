//! An optimizer step allocates nothing after its first: counted by a global allocator, in a
//! process of its own so that no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tapegrad::Tensor;
use tapegrad::nn::{ParamGrads, Params};
use tapegrad::optim::{Adam, AdamConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn optimizer_steps_after_the_first_allocate_nothing() {
    let optimizers: Vec<(&str, Box<dyn Optimizer>)> = vec![
        ("sgd", Box::new(Sgd::new(0.1))),
        (
            "sgd nesterov",
            Box::new(Sgd::with(SgdConfig {
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.01,
                ..SgdConfig::default()
            })),
        ),
        (
            "adam amsgrad",
            Box::new(Adam::with(AdamConfig {
                amsgrad: true,
                weight_decay: 0.01,
                ..AdamConfig::default()
            })),
        ),
        ("adamw", Box::new(Adam::adamw(1e-3))),
        (
            "rmsprop",
            Box::new(RmsProp::with(RmsPropConfig {
                centered: true,
                momentum: 0.9,
                ..RmsPropConfig::default()
            })),
        ),
    ];
    for (name, mut optimizer) in optimizers {
        let mut params = Params::new();
        params.insert("w", Tensor::ones(&[256, 784]));
        params.insert("b", Tensor::ones(&[1, 256]));
        let grads: ParamGrads = vec![
            Some(Tensor::full(&[256, 784], 0.5)),
            Some(Tensor::full(&[1, 256], -0.5)),
        ]
        .into();
        optimizer.step(&mut params, &grads); // makes the state
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..5 {
            optimizer.step(&mut params, &grads);
        }
        let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(
            allocated, 0,
            "{name}: {allocated} allocations in 5 steps after the first"
        );
    }
}
