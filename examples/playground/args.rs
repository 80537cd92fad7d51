//! The playground's command line, through clap like the other examples.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::cli::{at_most, positive_count};

/// Serves a page on which tapegrad trains a small network live: the tutorial's moons by default,
/// with the data, the network and the learning rate yours to change.
#[derive(Parser, Debug, Clone)]
#[command(name = "playground", version)]
pub struct Config {
    /// The address to listen on: the loopback interface unless you say otherwise (0.0.0.0
    /// serves every machine that can reach this one).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The port to listen on; 0 picks a free one (the address printed says which).
    #[arg(long, value_name = "N", default_value = "8080")]
    pub port: u16,
    /// How many runs (browser tabs) train at once; one more is told the server is full.
    #[arg(long, value_name = "N", default_value = "4", value_parser = max_runs, allow_negative_numbers = true)]
    pub max_runs: usize,
    /// Where to write the report of the page's self-test (`/?self-test`), replacing the file;
    /// without it the report's size alone is printed.
    #[arg(long, value_name = "FILE")]
    pub self_test_report: Option<PathBuf>,
}

/// The most runs `--max-runs` allows: each is a thread training as fast as it can.
pub const MAX_RUNS: usize = 64;

fn max_runs(text: &str) -> Result<usize, String> {
    at_most(positive_count(text)?, MAX_RUNS, "runs at once")
}
