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
mod model;
#[path = "../common/plot.rs"]
#[allow(dead_code)] // the page draws its own pictures: only the palette is used here
mod plot;
mod run;
mod server;
mod settings;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use args::Config;
use server::Playground;

/// Threads answering requests; each run's stream has a thread of its own besides.
const REQUEST_THREADS: usize = 4;

fn main() -> ExitCode {
    cli::quiet_on_broken_pipe();
    let config: Config = match cli::parse("playground") {
        Ok(config) => config,
        Err(code) => return code,
    };
    let address = SocketAddr::new(config.host, config.port);
    let server = match tiny_http::Server::http(address) {
        Ok(server) => Arc::new(server),
        Err(error) => {
            eprintln!(
                "playground: cannot listen on {address}: {error} (--port 0 picks a free port)"
            );
            return ExitCode::from(2);
        }
    };
    let bound = server
        .server_addr()
        .to_ip()
        .expect("an IP listener, as asked");
    // The first line is the address alone, for scripts and tests to read.
    println!("http://{bound}");
    println!(
        "open it in a browser; up to {} tabs train at once; Ctrl-C stops the server",
        config.max_runs
    );
    let playground = Arc::new(Playground::new(config.max_runs, bound));
    let threads: Vec<_> = (0..REQUEST_THREADS)
        .map(|_| {
            let (server, playground) = (Arc::clone(&server), Arc::clone(&playground));
            std::thread::spawn(move || playground.serve(&server))
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    ExitCode::SUCCESS
}
