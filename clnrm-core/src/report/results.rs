//! Finished tests kept as files: one JSON document per test, written by the
//! test binaries (one process per test under nextest) and read back by the
//! driver that started them, which reports on them all (JUnit).

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
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
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

    /// Every test recorded in `dir`, in name order; a missing folder holds none.
    pub fn read_all(dir: &Path) -> std::io::Result<Vec<TestFinished>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut tests = Vec::new();
        for entry in entries {
            let path = entry?.path();
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
}
