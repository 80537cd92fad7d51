//! A playground in the browser: tapegrad trains a small network live while the page draws its
//! decision regions, its loss and, on request, its sharpness against 2/η, the tape of one pass
//! and the tape's gradients beside the tutorial's hand-derived ones. The training runs here, in
//! Rust; the page only draws and sends choices. Each tab gets its own run.
//!
//! Run: `cargo run --release --example playground`, then open the address it prints
//! (`-- --help` for the flags).

mod args;
#[path = "../common/cli.rs"]
#[allow(dead_code)] // the number parsers of the other examples' flags are not needed here
mod cli;
mod data;
mod http;
mod model;
#[path = "../common/plot.rs"]
#[allow(dead_code)] // the page draws its own pictures: only the palette is used here
mod plot;
mod run;
mod server;
mod settings;
mod sharpness;
mod stream;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use args::Config;
use server::Playground;

fn main() -> ExitCode {
    cli::quiet_on_broken_pipe();
    let config: Config = match cli::parse("playground") {
        Ok(config) => config,
        Err(code) => return code,
    };
    // A report file that could never be written is refused now, not after the page's test.
    if let Some(path) = &config.self_test_report {
        let folder = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty());
        if path.is_dir() || folder.is_some_and(|folder| !folder.is_dir()) {
            eprintln!(
                "playground: --self-test-report {}: not a file in an existing folder",
                path.display()
            );
            return ExitCode::from(2);
        }
    }
    let address = SocketAddr::new(config.host, config.port);
    let (listener, bound) = match TcpListener::bind(address).and_then(|listener| {
        let bound = listener.local_addr()?;
        Ok((listener, bound))
    }) {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!(
                "playground: cannot listen on {address}: {error} (--port 0 picks a free port)"
            );
            return ExitCode::from(2);
        }
    };
    // The first line is the address alone, for scripts and tests to read.
    println!("http://{bound}");
    println!(
        "open it in a browser; up to {} tabs train at once; Ctrl-C stops the server",
        config.max_runs
    );
    let playground = Arc::new(Playground::new(
        config.max_runs,
        bound,
        config.self_test_report,
    ));
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        // A failed accept (the process out of file descriptors, say) is the client's loss alone.
        let Ok(stream) = stream else { continue };
        if open.load(Ordering::SeqCst) >= http::MAX_CONNECTIONS {
            refuse_busy(stream);
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let connection = Connection(Arc::clone(&open));
        let playground = Arc::clone(&playground);
        let spawned = std::thread::Builder::new().spawn(move || {
            let _connection = connection;
            playground.serve(stream);
        });
        // A thread the system would not give: the connection is dropped, and counted out.
        drop(spawned);
    }
    ExitCode::SUCCESS
}

/// One open connection, counted until its thread ends.
struct Connection(Arc<AtomicUsize>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The answer past [`http::MAX_CONNECTIONS`]: a few bytes into an empty socket buffer, written
/// without waiting, so that the accepting thread is never held up.
fn refuse_busy(mut stream: TcpStream) {
    let body = r#"{"error":"the server has too many connections open: try again shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(answer.as_bytes());
}
