//! What the examples' command lines share: clap's errors as the one line on stderr that the
//! examples promise (exit status 2), and the checks of numbers that clap cannot express.

use std::process::ExitCode;

use clap::Parser;

#[path = "pipe.rs"]
mod pipe;
pub use pipe::quiet_on_broken_pipe;

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

/// `value` if it is at most `limit`, else a message naming both and what they count.
pub fn at_most(value: usize, limit: usize, what: &str) -> Result<usize, String> {
    if value <= limit {
        Ok(value)
    } else {
        Err(format!(
            "{value} is more than the {limit} {what} this example allows"
        ))
    }
}

/// A hidden layer size, 1 to [`MAX_HIDDEN`].
pub fn hidden_size(text: &str) -> Result<usize, String> {
    at_most(positive_count(text)?, MAX_HIDDEN, "hidden units")
}

/// The widest hidden layer the examples accept (the tutorial's widest is 50, cs231n's 100): the
/// decision-region picture classifies ~250,000 pixels, and at this width takes seconds.
pub const MAX_HIDDEN: usize = 1000;

/// A number as a person reads it: plain in a familiar range, else in scientific notation.
pub fn readable(x: f64) -> String {
    if x == 0.0 || (1e-4..1e6).contains(&x.abs()) {
        let shortest = format!("{x}");
        if shortest.len() <= 10 {
            shortest
        } else {
            format!("{x:.6}")
        }
    } else {
        format!("{x:.4e}")
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
