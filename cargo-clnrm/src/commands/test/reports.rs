//! Each scenario file's `[report]` files after a nextest run. nextest runs
//! each test in a process of its own, and a process that ran one test of a
//! file cannot write the file's report; so the test binaries record their
//! tests (`CLNRM_RESULT_DIR`) and the reports are written here, from those
//! records, once every test has run. (Under `cargo test` one process runs
//! a binary's tests, and the harness writes them itself.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::report::{ReportFiles, ResultDir};
use clnrm_core::suite::SuiteBuilder;

use super::HarnessTarget;

/// Writes the `[report]` files of each target's package from what its tests
/// recorded in `results`; the files written. `tags` selects the scenarios
/// as the harness did (`CLNRM_TAGS`).
pub fn write(
    targets: &[HarnessTarget],
    results: &Path,
    tags: &[String],
) -> Result<Vec<PathBuf>, String> {
    let packages: BTreeSet<&Path> = targets.iter().map(|t| t.manifest_dir.as_path()).collect();
    let mut written = Vec::new();
    for manifest_dir in packages {
        let finished = ResultDir::read_package(results, manifest_dir)
            .map_err(|e| format!("cannot read the recorded tests: {e}"))?;
        if finished.is_empty() {
            continue;
        }
        // The package's scenarios as its test binary saw them: its
        // configuration, read from its folder, with the same tags.
        let config =
            Config::load(manifest_dir, &ConfigOverrides::default()).map_err(|e| e.to_string())?;
        let suite = SuiteBuilder::new(config)
            .tags(tags.to_vec())
            .build()
            .map_err(|e| e.to_string())?;
        let files = ReportFiles::new(&suite.tests).relative_to(manifest_dir);
        written.extend(files.write(&finished).map_err(|e| e.to_string())?);
    }
    Ok(written)
}
