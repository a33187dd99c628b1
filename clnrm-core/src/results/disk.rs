//! The store on disk: one JSON file per test, named by its key's digest.
//!
//! A file per test keeps concurrent writers apart (nextest runs a process per
//! test): each result is written to a temporary file beside its place and
//! renamed over it, so a reader sees the old result or the new one, never
//! half of one, and a crash mid-write leaves at most a temporary file. Each
//! record carries a checksum of itself: a file that does not parse, does not
//! match its checksum or is of another key is damaged, and never trusted.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store::{Lookup, ResultStore, StoredResult, TestKey};

/// The record format; a record of another one is not read.
const FORMAT: u32 = 1;
const EXTENSION: &str = "json";
/// Temporary files are named so, to be told from records (and removed).
const PARTIAL_PREFIX: &str = ".partial-";

/// Results in a folder (created when the first result is saved).
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Record {
    format: u32,
    clnrm_version: String,
    result: StoredResult,
    /// SHA-256 of `result`'s JSON.
    check: String,
}

fn checksum(result: &StoredResult) -> String {
    let json = serde_json::to_vec(result).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl DirStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, key: &TestKey) -> PathBuf {
        self.dir.join(format!("{}.{EXTENSION}", key.digest()))
    }

    fn read(path: &Path, key: &TestKey) -> Result<StoredResult, String> {
        let text = std::fs::read(path).map_err(|e| e.to_string())?;
        let record: Record =
            serde_json::from_slice(&text).map_err(|e| format!("not a result record ({e})"))?;
        if record.format != FORMAT {
            return Err(format!(
                "record format {} (this clnrm reads {FORMAT})",
                record.format
            ));
        }
        if checksum(&record.result) != record.check {
            return Err("its checksum does not match".into());
        }
        if record.result.key != *key {
            return Err(format!("it is the result of `{}`", record.result.key.test));
        }
        Ok(record.result)
    }
}

impl ResultStore for DirStore {
    fn load(&self, key: &TestKey) -> Lookup {
        let path = self.path_of(key);
        if !path.exists() {
            return Lookup::Missing;
        }
        match Self::read(&path, key) {
            Ok(result) => Lookup::Found(result),
            Err(why) => Lookup::Damaged(format!("{}: {why}", path.display())),
        }
    }

    fn save(&self, result: &StoredResult) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let record = Record {
            format: FORMAT,
            clnrm_version: env!("CARGO_PKG_VERSION").to_string(),
            check: checksum(result),
            result: result.clone(),
        };
        let json = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
        let mut partial = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempfile_in(&self.dir)?;
        partial.write_all(&json)?;
        partial
            .persist(self.path_of(&result.key))
            .map_err(|e| e.error)?;
        Ok(())
    }

    fn clear(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut count = 0;
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let record = path.extension().is_some_and(|e| e == EXTENSION);
            if record || name.starts_with(PARTIAL_PREFIX) {
                std::fs::remove_file(&path)?;
                count += usize::from(record);
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{InputDigest, StoredOutcome};

    fn result(test: &str, outcome: StoredOutcome) -> StoredResult {
        StoredResult {
            key: TestKey::new(Path::new("/nowhere/a.clnrm.toml"), test),
            inputs: InputDigest([7; 32]),
            outcome,
            finished_unix_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_saved_result_loads_back_and_replaces_the_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path().join("results"));
        let key = result("a::x", StoredOutcome::Passed).key;
        assert_eq!(store.load(&key), Lookup::Missing);
        store
            .save(&result("a::x", StoredOutcome::Passed))
            .expect("save");
        store
            .save(&result("a::x", StoredOutcome::Failed))
            .expect("save");
        assert_eq!(
            store.load(&key),
            Lookup::Found(result("a::x", StoredOutcome::Failed))
        );
        store
            .save(&result("a::y", StoredOutcome::Passed))
            .expect("save");
        assert_eq!(store.clear().expect("clear"), 2);
        assert_eq!(store.load(&key), Lookup::Missing);
        assert_eq!(
            DirStore::new(dir.path().join("none"))
                .clear()
                .expect("clear"),
            0
        );
    }

    #[test]
    fn a_damaged_record_is_never_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path());
        let passed = result("a::x", StoredOutcome::Passed);
        store.save(&passed).expect("save");
        let path = store.path_of(&passed.key);
        let text = std::fs::read_to_string(&path).expect("read");
        let cases = [
            // Cut short, as a write cut off by a crash would be without the rename.
            text[..text.len() / 2].to_string(),
            // Edited: a failure made a pass, the checksum left as it was.
            text.replace("\"passed\"", "\"failed\""),
            String::new(),
            "{\"format\": 99}".to_string(),
        ];
        for damaged in cases {
            std::fs::write(&path, &damaged).expect("write");
            assert!(
                matches!(store.load(&passed.key), Lookup::Damaged(ref why) if why.contains(&path.display().to_string())),
                "{damaged:?}: {:?}",
                store.load(&passed.key)
            );
            // The next result replaces it.
            store.save(&passed).expect("save");
            assert_eq!(store.load(&passed.key), Lookup::Found(passed.clone()));
        }
        // Another key's record in this key's place (a copied file).
        let other = result("a::other", StoredOutcome::Passed);
        store.save(&other).expect("save");
        std::fs::copy(store.path_of(&other.key), &path).expect("copy");
        assert!(
            matches!(store.load(&passed.key), Lookup::Damaged(ref why) if why.contains("a::other"))
        );
    }

    #[test]
    fn writers_at_once_leave_one_whole_result() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = std::sync::Arc::new(DirStore::new(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for n in 0..50 {
                        let mut r = result("a::x", StoredOutcome::Passed);
                        r.finished_unix_ms = i * 1000 + n;
                        store.save(&r).expect("save");
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("join"));
        let key = result("a::x", StoredOutcome::Passed).key;
        assert!(
            matches!(store.load(&key), Lookup::Found(_)),
            "{:?}",
            store.load(&key)
        );
        // Nothing but the one record is left.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
