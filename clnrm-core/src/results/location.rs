//! Where the store lives on disk: in the crate's target directory, as cargo
//! keeps what it builds, so `cargo clean` clears it too.

use std::path::{Path, PathBuf};

use crate::config::Config;

/// The store's folder inside a target directory.
pub const RESULTS_FOLDER: &str = "clnrm/results";

/// The store's folder for a driver working in `cwd` under `config`:
///
/// 1. `$CARGO_TARGET_DIR/clnrm/results` (relative to `cwd`, as cargo takes it);
/// 2. inside a crate, `<workspace root>/target/clnrm/results` (the package's
///    folder for a crate outside any workspace);
/// 3. outside any crate, `$XDG_CACHE_HOME/clnrm/results`, else
///    `$HOME/.cache/clnrm/results`, else in the temporary folder.
///
/// The harness and the `cargo clnrm` commands take the same rule, so a
/// nextest run fills the store a later `run --changed` reads.
pub fn default_location(cwd: &Path, config: &Config) -> PathBuf {
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        return cwd.join(target).join(RESULTS_FOLDER);
    }
    if let Some(root) = &config.cargo_root {
        return root.join("target").join(RESULTS_FOLDER);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")));
    match cache {
        Some(cache) => cache.join("clnrm/results"),
        None => std::env::temp_dir().join("clnrm-results"),
    }
}
