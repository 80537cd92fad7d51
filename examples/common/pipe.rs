//! Ending quietly when the output is piped into a command that stops reading (`example | head -1`):
//! shared by every example, each of which includes this file.

/// Ends the program quietly (exit 0) when its output is piped into a command that stops reading:
/// Rust's `println!` panics on the broken pipe, which would print a panic message and exit 101.
pub fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
