//! What the examples' command lines share: clap's errors as the one line on stderr that the
//! examples promise (exit status 2), and the checks of numbers that clap cannot express.

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, or prints `--help`/`--version` and exits 0, or prints a clap error
/// as one line (its message and any "a similar argument exists" tip) and exits 2.
pub fn parse<T: Parser>(program: &str) -> Result<T, ExitCode> {
    T::try_parse().map_err(|error| {
        if !error.use_stderr() {
            // --help and --version: clap's own text, on stdout.
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        let rendered = error.render().to_string();
        let lines: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .filter(|line| {
                !line.is_empty() && !line.starts_with("Usage:") && !line.starts_with("For more")
            })
            .map(|line| line.strip_prefix("error: ").unwrap_or(line))
            .collect();
        eprintln!("{program}: {} (see --help)", lines.join("; "));
        ExitCode::from(2)
    })
}

/// Ends the program quietly when its output is piped into a command that stops reading
/// (`moons | head`): Rust's `println!` panics on the broken pipe, which would print a backtrace.
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

/// A whole number ≥ 1, told apart from one too large to count.
pub fn positive_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        Err(error) if *error.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("'{text}' is too large"))
        }
        _ => Err(format!("'{text}' is not a whole number ≥ 1")),
    }
}

/// A finite number > 0.
pub fn positive_number(text: &str) -> Result<f64, String> {
    number(text, |x| x > 0.0, "a positive number")
}

/// A finite number ≥ 0.
pub fn non_negative_number(text: &str) -> Result<f64, String> {
    number(text, |x| x >= 0.0, "a number ≥ 0")
}

fn number(text: &str, valid: impl Fn(f64) -> bool, what: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && valid(x) => Ok(x),
        _ => Err(format!("'{text}' is not {what}")),
    }
}
