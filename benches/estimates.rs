//! Reading back the medians criterion wrote, for the benches that print ratios after their run.

use std::path::PathBuf;
use std::time::SystemTime;

/// Where criterion keeps its results: the workspace's target directory, as criterion finds it.
fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// The median of one benchmark in nanoseconds, read from criterion's `estimates.json` if the
/// run that started at `run_start` wrote it.
pub fn median_nanoseconds(group: &str, bench: &str, run_start: SystemTime) -> Option<f64> {
    let path = criterion_dir().join(format!("{group}/{bench}/new/estimates.json"));
    if std::fs::metadata(&path).ok()?.modified().ok()? < run_start {
        return None; // left by an earlier run; this one filtered it out
    }
    let json = std::fs::read_to_string(path).ok()?;
    let median = &json[json.find("\"median\"")?..];
    let estimate = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    estimate[..estimate.find([',', '}'])?].trim().parse().ok()
}
