//! The store on disk: a folder of logs, one per writing process, and a
//! snapshot.
//!
//! A writer appends one JSON line per result to a log of its own (nextest
//! runs a process per test, `cargo test` one process for hundreds): an
//! append is one `write` to a file no other process writes, so writers never
//! meet, and a crash mid-write leaves at most a cut last line. A reader takes
//! the snapshot and every log, the latest result of each test winning. Each
//! line carries a checksum of itself: a line that does not parse or does not
//! match is damaged, never trusted, and said once as a warning.
//!
//! A writer holds a lock (`flock`) on its log while it lives, so a log
//! whose lock can be taken is finished: its writer ended, however it ended,
//! and its pid may be another process's by now. Once many logs are there,
//! the finished ones are folded into the snapshot (written aside and
//! renamed, under a lock file) and removed: by a reader that read them
//! anyway, and in the background by a writer as it opens its log (drivers
//! that never read, `cargo test` and nextest, would otherwise pile up a log
//! a run, or a log a test).

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
/// Finished logs left before they are folded in.
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

fn is_log(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with(LOG_PREFIX) && name.ends_with(LOG_SUFFIX)
}

/// The files of a store folder, read: the snapshot first, then the logs in
/// name order, a later result of a test winning over an earlier one. The
/// logs whose lock could be taken (finished) come back with it held.
#[derive(Default)]
struct Read {
    index: Index,
    finished: Vec<(PathBuf, std::fs::File)>,
}

fn read_folder(dir: &Path) -> Read {
    // A log that goes between the listing and its reading was folded into
    // the snapshot by another process: read again, the new snapshot first.
    // (Past a few tries, nothing: a store is a cache, its tests just run.)
    (0..5)
        .find_map(|_| read_files(&files_of(dir)))
        .unwrap_or_default()
}

/// `None` when a log was gone.
fn read_files(files: &[PathBuf]) -> Option<Read> {
    let mut read = Read::default();
    for path in files {
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && is_log(path) => return None,
            Err(_) => continue,
        };
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut file, &mut text).is_err() {
            continue;
        }
        for (n, line) in (text.lines().enumerate()).filter(|(_, l)| !l.trim().is_empty()) {
            match read_line(line) {
                Ok(result) => {
                    let newer = (read.index.results.get(&result.key))
                        .is_none_or(|old| old.finished_unix_ms <= result.finished_unix_ms);
                    if newer {
                        read.index.results.insert(result.key.clone(), result);
                    }
                }
                Err(why) => {
                    (read.index.damage).push(format!("{}:{}: {why}", path.display(), n + 1))
                }
            }
        }
        // A writer (this process's own stores too) holds its log's lock.
        if is_log(path) && file.try_lock().is_ok() {
            read.finished.push((path.clone(), file));
        }
    }
    Some(read)
}

/// Writes `index` as the snapshot and removes the `finished` logs, under
/// the folder's lock file; a folder another process is folding is left to
/// it. Temporary files of a fold that was cut short go too.
fn fold(dir: &Path, index: &Index, finished: Vec<(PathBuf, std::fs::File)>) {
    let lock = dir.join(LOCK);
    let stale = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_LOCK)
    };
    if stale(&lock) {
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
    let written = tempfile::NamedTempFile::new_in(dir).and_then(|mut partial| {
        partial.write_all(&text)?;
        partial.persist(dir.join(SNAPSHOT)).map_err(|e| e.error)?;
        Ok(())
    });
    if written.is_ok() {
        for (log, _locked) in finished {
            let _ = std::fs::remove_file(log);
        }
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(".tmp") && stale(&path) {
            let _ = std::fs::remove_file(path);
        }
    }
    let _ = std::fs::remove_file(&lock);
}

/// Whether the folder holds more logs than are left before folding.
fn many_logs(dir: &Path) -> bool {
    files_of(dir).iter().filter(|p| is_log(p)).count() > LOGS_BEFORE_COMPACTING
}

/// Folds the folder's finished logs into its snapshot if many are finished.
fn fold_finished(dir: &Path) {
    let read = read_folder(dir);
    if read.finished.len() >= LOGS_BEFORE_COMPACTING {
        fold(dir, &read.index, read.finished);
    }
}

/// The snapshot, then the logs in name order.
fn files_of(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut logs: Vec<PathBuf> = (entries.filter_map(Result::ok))
        .map(|e| e.path())
        .filter(|p| is_log(p))
        .collect();
    logs.sort();
    let snapshot = dir.join(SNAPSHOT);
    (snapshot.is_file().then_some(snapshot).into_iter())
        .chain(logs)
        .collect()
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

    fn files(&self) -> Vec<PathBuf> {
        files_of(&self.dir)
    }

    /// Everything in the folder; folds the finished logs in when there are
    /// many, or when something was damaged (so damage is said once, and
    /// the store rebuilt without it).
    fn read_index(&self) -> Index {
        let read = read_folder(&self.dir);
        if read.finished.len() >= LOGS_BEFORE_COMPACTING || !read.index.damage.is_empty() {
            fold(&self.dir, &read.index, read.finished);
        }
        read.index
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
            // Held while this store lives: the log is being written. A file
            // system without locks leaves the log unlocked, and it may be
            // folded in early; what is written after is lost, and its tests
            // run again next time.
            if let Err(e) = file.try_lock() {
                tracing::debug!(error = %e, "the result log is not locked");
            }
            *log = Some(file);
            // Listed here, so that a process per test (nextest) starts no
            // thread in the common case of a small store.
            if many_logs(&self.dir) {
                let dir = self.dir.clone();
                crate::background::spawn("clnrm-results-fold", move || fold_finished(&dir));
            }
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
