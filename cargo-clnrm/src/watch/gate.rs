//! The content-hash gate: a path is looked at again only when its bytes
//! changed, and an empty read is believed only once it stayed empty a while.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The SHA-256 of a file's bytes.
pub type Hash = [u8; 32];

/// How long a file must stay empty before an empty read is believed.
pub const EMPTY_GRACE: Duration = Duration::from_millis(50);

/// What the gate makes of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// New or different bytes, now remembered.
    Changed(Hash),
    /// The same bytes as last time.
    Unchanged,
    /// Caught empty in the middle of a save: look again at the time given.
    Deferred(Instant),
}

/// The last bytes seen of every path, as hashes.
#[derive(Debug, Default)]
pub struct Gate {
    hashes: HashMap<PathBuf, Hash>,
    /// Files read empty, since when (believed once empty for `EMPTY_GRACE`).
    empty_since: HashMap<PathBuf, Instant>,
}

impl Gate {
    /// Passes the bytes just read from `path` through the gate.
    pub fn admit(&mut self, path: &Path, bytes: &[u8]) -> Admit {
        // An editor that truncates, then writes, shows an empty file between
        // the two: an empty file is believed once it stayed empty a while.
        if bytes.is_empty() && self.hashes.contains_key(path) {
            let since = *self
                .empty_since
                .entry(path.to_path_buf())
                .or_insert_with(Instant::now);
            if since.elapsed() < EMPTY_GRACE {
                return Admit::Deferred(since + EMPTY_GRACE);
            }
        }
        self.empty_since.remove(path);
        let hash: Hash = Sha256::digest(bytes).into();
        if self.hashes.get(path) == Some(&hash) {
            return Admit::Unchanged;
        }
        self.hashes.insert(path.to_path_buf(), hash);
        Admit::Changed(hash)
    }

    /// Takes `text` as what `path` holds, unless the gate has seen it already
    /// (templates as rendered, so a `touch` of one is no change either).
    pub fn remember(&mut self, path: &Path, text: &str) {
        let hash: Hash = Sha256::digest(text.as_bytes()).into();
        self.hashes.entry(path.to_path_buf()).or_insert(hash);
    }

    /// Forgets the bytes of `path`: its next read counts as a change.
    pub fn forget_bytes(&mut self, path: &Path) {
        self.hashes.remove(path);
    }

    /// Forgets everything about `path` (it went away).
    pub fn forget(&mut self, path: &Path) {
        self.hashes.remove(path);
        self.empty_since.remove(path);
    }
}
