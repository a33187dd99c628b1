//! The store's contract, and the store that lives in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::hasher::InputDigest;

/// Which test a result is of: its scenario file (canonical path) and its
/// name, so two packages' tests of the same name never share a result.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TestKey {
    pub file: String,
    pub test: String,
}

impl TestKey {
    pub fn new(file: &std::path::Path, test: &str) -> Self {
        let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        Self {
            file: file.to_string_lossy().into_owned(),
            test: test.to_string(),
        }
    }

    /// A name for the key in a flat namespace (a file name, a cache key).
    pub fn digest(&self) -> String {
        let text = format!("{}\0{}", self.file, self.test);
        crate::report::digest(&text)[..32].to_string()
    }
}

/// How the test ended, as far as skipping is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredOutcome {
    Passed,
    /// Failed, or could not run: it runs again next time.
    Failed,
}

/// One test's last result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResult {
    pub key: TestKey,
    /// The digest of what it ran with.
    pub inputs: InputDigest,
    pub outcome: StoredOutcome,
    /// When it finished, in milliseconds since the epoch.
    pub finished_unix_ms: u64,
}

/// What a store has for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(StoredResult),
    Missing,
}

/// Where results are kept. Writers may be many processes at once (nextest);
/// a store never hands back a result it cannot trust. A store shared by
/// several machines would implement this too.
pub trait ResultStore: Send + Sync + std::fmt::Debug {
    fn load(&self, key: &TestKey) -> Lookup;
    /// What was found damaged (and is ignored) since this was last asked:
    /// each says what and where, once.
    fn damage(&self) -> Vec<String> {
        Vec::new()
    }
    /// Keeps `result`, replacing the key's last one.
    fn save(&self, result: &StoredResult) -> std::io::Result<()>;
    /// Forgets every result; how many there were.
    fn clear(&self) -> std::io::Result<usize>;
}

/// Results in this process only (tests, and a `watch` without a disk).
#[derive(Debug, Default)]
pub struct MemoryStore {
    results: Mutex<HashMap<TestKey, StoredResult>>,
}

impl ResultStore for MemoryStore {
    fn load(&self, key: &TestKey) -> Lookup {
        let results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results
            .get(key)
            .cloned()
            .map_or(Lookup::Missing, Lookup::Found)
    }

    fn save(&self, result: &StoredResult) -> std::io::Result<()> {
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results.insert(result.key.clone(), result.clone());
        Ok(())
    }

    fn clear(&self) -> std::io::Result<usize> {
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        let count = results.len();
        results.clear();
        Ok(count)
    }
}
