//! Writing the examples' output files whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A name beside `path` for its content while it is written: hidden, the same extension (the
/// picture writer chooses the format by it).
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |name| name.to_string_lossy());
    let extension = path
        .extension()
        .map_or_else(Default::default, |e| e.to_string_lossy());
    path.with_file_name(format!(
        ".{name}.{}.partial.{extension}",
        std::process::id()
    ))
}

/// Runs `write` on a file beside `path`, then renames it over `path`: a write that fails midway
/// (a full disk) leaves the previous file as it was, never half of a new one.
pub fn atomically<E: From<std::io::Error>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let partial = partial_path(path);
    let written = write(&partial).and_then(|()| Ok(std::fs::rename(&partial, path)?));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Writes `bytes` to `path` through [`atomically`].
#[allow(dead_code)] // used by `moons`, not by every example that draws
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    atomically(path, |partial| {
        let mut file = std::fs::File::create(partial)?;
        file.write_all(bytes)?;
        file.sync_all()
    })
}
