//! The store on disk: a folder of logs, one per writing process, and a
//! snapshot.
//!
//! A writer appends one JSON line per result to a log of its own (nextest
//! runs a process per test, `cargo test` one process for hundreds): an
//! append is one `write` to a file no other process writes, so writers never
//! meet, and a crash mid-write leaves at most a cut last line. A reader takes
//! the snapshot and every log, the latest result of each test winning. Each
//! line carries a checksum of itself: a line that does not parse or does not
//! match is damaged, never trusted, and said once as a warning. A reader
//! that finds many logs of processes that have ended folds them into the
//! snapshot (written aside and renamed, under a lock file) and removes them.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::store::{Lookup, ResultStore, StoredResult, TestKey};

/// The record format; a line of another one is not read.
const FORMAT: u32 = 1;
const SNAPSHOT: &str = "snapshot.jsonl";
const LOG_PREFIX: &str = "log-";
const LOG_SUFFIX: &str = ".jsonl";
const LOCK: &str = "compact.lock";
/// Ended processes' logs a reader leaves before folding them in.
const LOGS_BEFORE_COMPACTING: usize = 16;
/// A lock file older than this was left by a compaction that died.
const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(60);

/// Results in a folder (created when the first result is saved).
#[derive(Debug)]
pub struct DirStore {
    dir: PathBuf,
    /// This store's own log, opened at the first save.
    log: Mutex<Option<std::fs::File>>,
    log_name: String,
    /// Every result read, by key, and what was damaged; read at the first
    /// load and kept up to date by saves.
    index: OnceLock<Mutex<Index>>,
}

#[derive(Debug, Default)]
struct Index {
    results: HashMap<TestKey, StoredResult>,
    damage: Vec<String>,
}

/// One line of a log or the snapshot. `result` is kept as the text that was
/// written, so the checksum is of exactly those bytes.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    format: u32,
    clnrm_version: &'a str,
    #[serde(borrow)]
    result: &'a RawValue,
    /// SHA-256 of `result`'s JSON.
    check: String,
}

fn checksum(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

fn line_of(result: &StoredResult) -> std::io::Result<Vec<u8>> {
    let json = serde_json::value::to_raw_value(result).map_err(std::io::Error::other)?;
    let record = Record {
        format: FORMAT,
        clnrm_version: env!("CARGO_PKG_VERSION"),
        check: checksum(json.get()),
        result: &json,
    };
    let mut line = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    Ok(line)
}

/// A line's result, or why it cannot be trusted.
fn read_line(line: &str) -> Result<StoredResult, String> {
    let record: Record =
        serde_json::from_str(line).map_err(|e| format!("not a result record ({e})"))?;
    if record.format != FORMAT {
        return Err(format!(
            "record format {} (this clnrm reads {FORMAT})",
            record.format
        ));
    }
    if checksum(record.result.get()) != record.check {
        return Err("its checksum does not match".into());
    }
    serde_json::from_str(record.result.get()).map_err(|e| format!("not a result ({e})"))
}

/// The writer's pid in a log's name, `log-<pid>-<nanos>-<n>.jsonl`.
fn writer_of(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(LOG_PREFIX)?.strip_suffix(LOG_SUFFIX)?;
    rest.split('-').next()?.parse().ok()
}

fn is_running(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e != Errno::ESRCH,
    }
}

impl DirStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        static STORES: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = STORES.fetch_add(1, Ordering::Relaxed);
        Self {
            dir: dir.into(),
            log: Mutex::new(None),
            log_name: format!("{LOG_PREFIX}{}-{nanos}-{n}{LOG_SUFFIX}", std::process::id()),
            index: OnceLock::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The snapshot first, then the logs in name order; a later result of
    /// a test wins over an earlier one.
    fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut logs: Vec<PathBuf> = (entries.filter_map(Result::ok))
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with(LOG_PREFIX) && name.ends_with(LOG_SUFFIX)
            })
            .collect();
        logs.sort();
        let snapshot = self.dir.join(SNAPSHOT);
        snapshot
            .is_file()
            .then_some(snapshot)
            .into_iter()
            .chain(logs)
            .collect()
    }

    fn read_index(&self) -> Index {
        let mut index = Index::default();
        let files = self.files();
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match read_line(line) {
                    Ok(result) => {
                        let newer = (index.results.get(&result.key))
                            .is_none_or(|old| old.finished_unix_ms <= result.finished_unix_ms);
                        if newer {
                            index.results.insert(result.key.clone(), result);
                        }
                    }
                    Err(why) => index
                        .damage
                        .push(format!("{}:{}: {why}", path.display(), n + 1)),
                }
            }
        }
        self.compact(&files, &index);
        index
    }

    /// Folds the logs of ended processes into the snapshot once there are
    /// many, or when something was damaged (so damage is said once, and the
    /// store rebuilt without it); a store another reader is compacting is
    /// left to it.
    fn compact(&self, files: &[PathBuf], index: &Index) {
        let ended: Vec<&PathBuf> = (files.iter())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                writer_of(&name).is_some_and(|pid| !is_running(pid))
            })
            .collect();
        if ended.len() < LOGS_BEFORE_COMPACTING && index.damage.is_empty() {
            return;
        }
        let lock = self.dir.join(LOCK);
        let stale = std::fs::metadata(&lock)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_LOCK);
        if stale {
            let _ = std::fs::remove_file(&lock);
        }
        let Ok(_held) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        else {
            return;
        };
        let mut text = Vec::new();
        let mut results: Vec<&StoredResult> = index.results.values().collect();
        results.sort_by(|a, b| a.key.cmp(&b.key));
        for result in results {
            if let Ok(line) = line_of(result) {
                text.extend(line);
            }
        }
        let written = tempfile::NamedTempFile::new_in(&self.dir).and_then(|mut partial| {
            partial.write_all(&text)?;
            partial
                .persist(self.dir.join(SNAPSHOT))
                .map_err(|e| e.error)?;
            Ok(())
        });
        if written.is_ok() {
            for log in ended {
                let _ = std::fs::remove_file(log);
            }
        }
        let _ = std::fs::remove_file(&lock);
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        let index = self.index.get_or_init(|| Mutex::new(self.read_index()));
        index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ResultStore for DirStore {
    fn load(&self, key: &TestKey) -> Lookup {
        (self.index().results.get(key).cloned()).map_or(Lookup::Missing, Lookup::Found)
    }

    fn damage(&self) -> Vec<String> {
        std::mem::take(&mut self.index().damage)
    }

    fn save(&self, result: &StoredResult) -> std::io::Result<()> {
        let line = line_of(result)?;
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(&self.log_name))?;
            *log = Some(file);
        }
        if let Some(file) = log.as_mut() {
            // One write per line: a reader sees whole lines, or a cut last one.
            file.write_all(&line)?;
        }
        drop(log);
        if let Some(index) = self.index.get() {
            let mut index = index.lock().unwrap_or_else(|e| e.into_inner());
            index.results.insert(result.key.clone(), result.clone());
        }
        Ok(())
    }

    fn clear(&self) -> std::io::Result<usize> {
        let count = self.index().results.len();
        for path in self.files() {
            std::fs::remove_file(&path)?;
        }
        // Leftovers of a write or a compaction cut short.
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp") || name == LOCK {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        *self.log.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.index().results.clear();
        Ok(count)
    }
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
