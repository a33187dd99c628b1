//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

use clnrm_core::discover::{DiscoveredFile, test_path_name};
use clnrm_core::pipeline::{FileReport, Pipeline};

/// The folder of checked-in fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs one fixture file through the pipeline, named relative to `fixtures/`.
pub fn process_fixture(relative: &str) -> FileReport {
    let root = fixtures();
    let path = root.join(relative);
    let discovered = DiscoveredFile {
        name: test_path_name(&path, &root),
        path,
        root,
    };
    Pipeline::default().process(&discovered)
}

/// Processes on this machine whose command line is exactly `argv`
/// (to prove a run left none of its processes behind).
pub fn count_processes(argv: &[&str]) -> usize {
    let wanted: String = argv.iter().map(|a| format!("{a}\u{0}")).collect();
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline) == wanted)
                .count()
        })
        .unwrap_or(0)
}
