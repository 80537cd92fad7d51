//! The CSV reader against hostile input: endless and huge streams in bounded memory, random bytes
//! and random mutations of valid files. It must never panic, and every error names a line.
//!
//! The streams that would allocate without bound if a cap broke run in a child process limited
//! to 1 GiB of address space (`prlimit --as`), so that a regression fails here instead of
//! exhausting the machine.

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::datasets::{DataError, MAX_CSV_BYTES, load_csv, read_csv};

/// Set in the child that [`in_capped_child`] starts.
const CHILD: &str = "TAPEGRAD_CAPPED_CHILD";

/// True in the child; in the parent, reruns the test `name` in a child under a 1 GiB
/// address-space limit, asserts that it passed, and returns false.
fn in_capped_child(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("prlimit")
        .arg(format!("--as={}", 1u64 << 30))
        .arg(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("prlimit (util-linux) runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} under a 1 GiB limit: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

/// `head`, then `body` repeated to `body_len` bytes (forever if `None`), then `tail`: a large
/// input that never sits in memory.
struct Stream {
    head: Vec<u8>,
    body: Vec<u8>,
    body_left: Option<u64>,
    tail: Vec<u8>,
    position: usize,
}

impl Stream {
    fn new(head: &str, body: &str, body_len: Option<u64>, tail: &str) -> Stream {
        Stream {
            head: head.into(),
            body: body.into(),
            body_left: body_len,
            tail: tail.into(),
            position: 0,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buffer.len());
            buffer[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        if self.body_left != Some(0) {
            let mut n = buffer.len();
            if let Some(left) = self.body_left {
                n = n.min(left as usize);
                self.body_left = Some(left - n as u64);
            }
            for byte in &mut buffer[..n] {
                *byte = self.body[self.position % self.body.len()];
                self.position += 1;
            }
            return Ok(n);
        }
        let n = self.tail.len().min(buffer.len());
        buffer[..n].copy_from_slice(&self.tail[..n]);
        self.tail.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_hundred_megabyte_field_is_refused_without_echoing_it() {
    if !in_capped_child("a_hundred_megabyte_field_is_refused_without_echoing_it") {
        return;
    }
    let stream = Stream::new("x1,x2,label\n1,", "z", Some(100_000_000), ",0\n");
    let message = read_csv(stream).unwrap_err().to_string();
    assert_eq!(
        message,
        "line 2, column 2: longer than 4096 bytes (MAX_LINE_BYTES)"
    );
}

#[test]
fn a_line_of_a_hundred_million_commas_is_refused_in_bounded_memory() {
    if !in_capped_child("a_line_of_a_hundred_million_commas_is_refused_in_bounded_memory") {
        return;
    }
    let stream = Stream::new("", ",", Some(100_000_000), "\n");
    let message = read_csv(stream).unwrap_err().to_string();
    assert_eq!(
        message,
        "line 1, column 4098: longer than 4096 bytes (MAX_LINE_BYTES)"
    );
}

#[test]
fn endless_input_stops_at_the_byte_cap() {
    if !in_capped_child("endless_input_stops_at_the_byte_cap") {
        return;
    }
    // Endless rows would fill memory with data; endless blank lines would read forever.
    let rows = Stream::new("", "1.5,-2.25,3\n", None, "");
    let error = read_csv(rows).unwrap_err();
    let line = MAX_CSV_BYTES / 12 + 1; // 12 bytes a row: the cap falls inside this line
    assert_eq!(
        error.to_string(),
        format!("line {line}: the data goes on past 67108864 bytes (64 MiB), the most read")
    );
    let blank = format!("{}\n", " ".repeat(4000));
    let error = read_csv(Stream::new("", &blank, None, "")).unwrap_err();
    assert!(matches!(error, DataError::TooLarge { .. }), "{error}");
    let error = load_csv("/dev/zero").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 1, column 1: longer than 4096 bytes (MAX_LINE_BYTES)"
    );
}

/// How many inputs each property test tries: a few thousand in `cargo test`, more with
/// `TAPEGRAD_PROPERTY_CASES=1000000` for a long run.
fn cases(default: usize) -> usize {
    std::env::var("TAPEGRAD_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// A valid file as spreadsheets and scripts write them: maybe a BOM, maybe a header, maybe
/// quotes, LF or CRLF, numbers in several notations.
fn valid_file(rng: &mut StdRng) -> Vec<u8> {
    let ending = if rng.random_bool(0.5) { "\n" } else { "\r\n" };
    let quote = if rng.random_bool(0.3) { "\"" } else { "" };
    let mut text = String::new();
    if rng.random_bool(0.2) {
        text.push('\u{FEFF}');
    }
    if rng.random_bool(0.5) {
        text += &format!("{quote}x1{quote},{quote}x2{quote},{quote}label{quote}{ending}");
    }
    for _ in 0..rng.random_range(1..12) {
        let x1: f64 = rng.random_range(-1e3..1e3);
        let x2 = match rng.random_range(0..3) {
            0 => format!("{:e}", rng.random_range(-1.0..1.0)),
            1 => format!("{}", rng.random_range(-5..5)),
            _ => format!("{:.3}", rng.random_range(-2.0..2.0)),
        };
        let label = rng.random_range(0..5);
        text += &format!("{quote}{x1}{quote},{quote}{x2}{quote},{quote}{label}{quote}{ending}");
    }
    text.into_bytes()
}

/// Bytes that CSV parsing, UTF-8 decoding and number parsing treat specially.
const AWKWARD: &[&[u8]] = &[
    b",",
    b"\"",
    b"\r",
    b"\n",
    b"\xff",
    b"\xEF\xBB\xBF",
    b"\xc3",
    b"-",
    b"e",
    b".",
    b" ",
    b"\0",
    b"9",
    b"nan",
    b"inf",
    b"1e999",
    b"\"\"",
    b"\t",
];

/// `bytes` with a few random edits: bytes changed, inserted, deleted, a span duplicated.
fn mutate(mut bytes: Vec<u8>, rng: &mut StdRng) -> Vec<u8> {
    for _ in 0..rng.random_range(1..5) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..4) {
            0 if at < bytes.len() => bytes[at] = rng.random(),
            1 => {
                let insert = AWKWARD[rng.random_range(0..AWKWARD.len())];
                bytes.splice(at..at, insert.iter().copied());
            }
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {
                let end = rng.random_range(at..=bytes.len());
                let span = bytes[at..end].to_vec();
                bytes.splice(at..at, span);
            }
        }
    }
    bytes
}

/// Reads `bytes`; fails the test, showing them, if reading panics, if an error other than
/// `Empty` names no line, or names a line past the end.
fn check_input(bytes: &[u8]) {
    let shown = String::from_utf8_lossy(bytes);
    let result = catch_unwind(AssertUnwindSafe(|| read_csv(bytes)))
        .unwrap_or_else(|_| panic!("read_csv panicked on {shown:?}"));
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    match result {
        Ok((x, labels)) => {
            assert_eq!(x.shape(), &[labels.len(), 2], "{shown:?}");
            assert!(labels.len() <= lines && x.is_finite(), "{shown:?}");
        }
        Err(DataError::Empty) => {}
        Err(error) => {
            let line = match &error {
                DataError::Parse { line, .. }
                | DataError::Read { line, .. }
                | DataError::TooLarge { line } => *line,
                other => panic!("unexpected {other:?} for {shown:?}"),
            };
            assert!((1..=lines).contains(&line), "{error} for {shown:?}");
            assert!(
                error.to_string().starts_with(&format!("line {line}")),
                "{error}"
            );
        }
    }
}

#[test]
fn random_bytes_never_panic_and_every_error_names_a_line() {
    let mut rng = StdRng::seed_from_u64(12);
    for _ in 0..cases(3000) {
        let len = rng.random_range(0..200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.random_range(0..3) {
                0 => rng.random(),
                _ => b"0123456789,.-e\"\r\n x"[rng.random_range(0..19)],
            })
            .collect();
        check_input(&bytes);
    }
}

#[test]
fn mutated_valid_files_never_panic_and_every_error_names_a_line() {
    let mut rng = StdRng::seed_from_u64(34);
    for _ in 0..cases(3000) {
        let valid = valid_file(&mut rng);
        let (x, labels) = read_csv(&valid[..])
            .unwrap_or_else(|e| panic!("{e} for {:?}", String::from_utf8_lossy(&valid)));
        assert_eq!(x.shape()[0], labels.len());
        check_input(&mutate(valid, &mut rng));
    }
}
