//! The content-hash gate: a path is looked at again only when its bytes
//! changed, and an empty read is believed only once it stayed empty a while
//! with nothing writing it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// The SHA-256 of a file's bytes.
pub type Hash = [u8; 32];

/// The SHA-256 of no bytes: a file already known to be empty.
const OF_NOTHING: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

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
    /// Files read empty, since when, and their modification time then
    /// (believed once empty for `EMPTY_GRACE` with that time unchanged).
    empty_since: HashMap<PathBuf, (Instant, Option<SystemTime>)>,
}

impl Gate {
    /// Passes the bytes just read from `path` through the gate; `modified`
    /// is the file's modification time, asked when `bytes` are empty.
    pub fn admit(&mut self, path: &Path, bytes: &[u8], modified: Option<SystemTime>) -> Admit {
        // An editor that truncates, then writes, shows an empty file between
        // the two: an empty file is believed once it stayed empty a while,
        // unwritten. (A burst of saves can be caught empty twice, at two
        // truncations: the modification time tells them apart.)
        if bytes.is_empty() && self.hashes.get(path).is_some_and(|h| *h != OF_NOTHING) {
            let now = Instant::now();
            let (since, _) = *self
                .empty_since
                .entry(path.to_path_buf())
                .and_modify(|seen| {
                    if seen.1 != modified {
                        *seen = (now, modified);
                    }
                })
                .or_insert((now, modified));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_of_nothing_is_sha256s() {
        assert_eq!(OF_NOTHING, <Hash>::from(Sha256::digest([])));
    }

    #[test]
    fn an_empty_read_is_believed_only_after_the_grace_with_no_write_between() {
        let path = Path::new("a.clnrm.toml");
        let at = |ms| Some(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        let mut gate = Gate::default();
        assert!(matches!(gate.admit(path, b"x", at(1)), Admit::Changed(_)));
        assert!(matches!(gate.admit(path, b"", at(2)), Admit::Deferred(_)));
        std::thread::sleep(EMPTY_GRACE);
        // Empty again after the grace, but written since (a later save's
        // truncation): not believed yet.
        assert!(matches!(gate.admit(path, b"", at(3)), Admit::Deferred(_)));
        std::thread::sleep(EMPTY_GRACE);
        assert!(matches!(gate.admit(path, b"", at(3)), Admit::Changed(_)));
        assert_eq!(gate.admit(path, b"", at(3)), Admit::Unchanged);
        // A file first seen empty is believed at once.
        assert!(matches!(
            gate.admit(Path::new("new"), b"", at(4)),
            Admit::Changed(_)
        ));
    }
}
