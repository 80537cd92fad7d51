//! The message of a panic, for the tests that check what a refusal says: one definition,
//! included by each as `#[path = "common/panics.rs"] mod panics;`.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// The message of the panic `f` raises (the test fails if it returns normally).
pub fn panic_message<T>(f: impl FnOnce() -> T) -> String {
    let payload = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload,
    };
    match (
        payload.downcast_ref::<String>(),
        payload.downcast_ref::<&str>(),
    ) {
        (Some(message), _) => message.clone(),
        (None, Some(message)) => (*message).to_owned(),
        (None, None) => panic!("panic payload is not a string"),
    }
}
