//! The examples end quietly when their reader has gone (`custom_op | head -1`): exit 0 and
//! nothing on stderr, where `println!` on a broken pipe panicked with exit status 101.

mod example_runs;

use std::process::{Command, Stdio};

use example_runs::binary;

#[test]
fn examples_end_quietly_on_a_closed_pipe() {
    for (name, args) in [("nan_hunt", &[][..]), ("custom_op", &["--passes", "2"][..])] {
        // The reading end is closed before the example starts, so its first line already fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(binary(name))
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{name}: {stderr}");
        assert!(stderr.is_empty(), "{name}: {stderr}");
    }
}
