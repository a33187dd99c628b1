//! Finished tests kept as files: one JSON document per test, written by the
//! test binaries (one process per test under nextest) and read back by the
//! driver that started them, which reports on them all (JUnit) and writes
//! each package's `[report]` files. Each package records into a folder of
//! its own, as two packages can have tests of the same name.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::outcome::TestFinished;

/// A folder of finished tests.
#[derive(Debug)]
pub struct ResultDir {
    dir: PathBuf,
    written: AtomicUsize,
}

impl ResultDir {
    /// The records of the package at `manifest_dir`, in the run's folder `dir`.
    pub fn for_package(dir: &Path, manifest_dir: &Path) -> Self {
        Self {
            dir: package_folder(dir, manifest_dir),
            written: AtomicUsize::new(0),
        }
    }

    /// Writes `test` as a file of its own (named by process and count, so
    /// processes writing at once never collide).
    pub fn record(&self, test: &TestFinished) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let n = self.written.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}.json", std::process::id());
        let json = serde_json::to_vec(test).map_err(std::io::Error::other)?;
        // Written aside then renamed: a reader never sees half a file.
        let partial = self.dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, json)?;
        std::fs::rename(&partial, self.dir.join(name))
    }

    /// Every test recorded in the run's folder `dir`, of every package, in
    /// name order; a missing folder holds none.
    pub fn read_all(dir: &Path) -> std::io::Result<Vec<TestFinished>> {
        let mut tests = Vec::new();
        for package in entries(dir)? {
            if package.is_dir() {
                tests.extend(read_folder(&package)?);
            }
        }
        tests.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tests)
    }

    /// The tests the package at `manifest_dir` recorded in `dir`, in name order.
    pub fn read_package(dir: &Path, manifest_dir: &Path) -> std::io::Result<Vec<TestFinished>> {
        read_folder(&package_folder(dir, manifest_dir))
    }
}

/// A package's folder: named by its manifest folder's digest (the same
/// for the driver, which has it from `cargo metadata`, and the test
/// binary, from `CARGO_MANIFEST_DIR`, whichever spelling of it they got).
fn package_folder(dir: &Path, manifest_dir: &Path) -> PathBuf {
    let real = manifest_dir
        .canonicalize()
        .unwrap_or_else(|_| manifest_dir.to_path_buf());
    let digest = super::digest(&real.to_string_lossy());
    dir.join(format!("package-{}", &digest[..16]))
}

/// The paths in `dir`; a missing folder has none.
fn entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.map(|e| e.path())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The tests recorded in one package's folder, in name order.
fn read_folder(dir: &Path) -> std::io::Result<Vec<TestFinished>> {
    let mut tests = Vec::new();
    for path in entries(dir)? {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read(&path)?;
        let test: TestFinished = serde_json::from_slice(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        tests.push(test);
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tests)
}
