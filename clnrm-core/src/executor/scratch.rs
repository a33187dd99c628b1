//! Scenarios' working directories on the host: a fresh, empty folder each.
//!
//! A folder its scenario left empty (most: `true`, `cargo run`, programs
//! that write to stdout) goes back to a small pool and is handed to the next
//! scenario instead of being removed and made again. Removing a folder frees
//! its block, and on a file system that discards freed blocks (ext4 mounted
//! with `discard`, as cloud disks often are) that waits on the disk: a
//! large share of a trivial test. The pool's folders are removed when the
//! last holder of the run's settings lets go of it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// Empty folders kept for reuse, at most this many (about the most
/// scenarios that run at once on the host).
const KEPT: usize = 32;

/// The folders a run's scenarios may reuse; clones share them.
#[derive(Debug, Clone, Default)]
pub struct ScratchDirs(Arc<Pool>);

#[derive(Debug, Default)]
struct Pool(Mutex<Vec<Made>>);

/// A folder, and the mode it was made with.
type Made = (PathBuf, u32);

impl Drop for Pool {
    fn drop(&mut self) {
        let dirs = std::mem::take(self.0.get_mut().unwrap_or_else(|e| e.into_inner()));
        dirs.iter().for_each(|(dir, _)| remove(dir));
    }
}

impl ScratchDirs {
    /// An empty folder of the scenario's own: a kept one, or a new one.
    pub(super) fn take(&self) -> std::io::Result<ScratchDir> {
        let kept = (self.0.0.lock().unwrap_or_else(|e| e.into_inner())).pop();
        let (path, mode) = match kept {
            Some((dir, mode)) if is_fresh(&dir, mode) => (dir, mode),
            stale => {
                // Something wrote into it since: not to be handed on.
                stale.iter().for_each(|(dir, _)| remove(dir));
                let dir = tempfile::Builder::new().prefix("clnrm-").tempdir()?;
                let mode = mode_of(dir.path()).unwrap_or_default();
                (dir.keep(), mode)
            }
        };
        Ok(ScratchDir {
            path,
            mode,
            pool: Arc::downgrade(&self.0),
        })
    }
}

/// A scenario's working directory; given back or removed when dropped,
/// however the scenario ended.
#[derive(Debug)]
pub(super) struct ScratchDir {
    path: PathBuf,
    mode: u32,
    pool: Weak<Pool>,
}

impl ScratchDir {
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if is_fresh(&self.path, self.mode)
            && let Some(pool) = self.pool.upgrade()
        {
            let mut dirs = pool.0.lock().unwrap_or_else(|e| e.into_inner());
            if dirs.len() < KEPT {
                dirs.push((std::mem::take(&mut self.path), self.mode));
                return;
            }
        }
        remove(&self.path);
    }
}

/// Empty, and with the mode it was made with: a step that changed its
/// mode leaves it to be removed, not handed on.
fn is_fresh(dir: &Path, made_with: u32) -> bool {
    mode_of(dir) == Some(made_with)
        && std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

/// A folder's permission bits (not a link's, nor a file's).
fn mode_of(dir: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(dir).ok()?;
    meta.is_dir().then(|| meta.permissions().mode() & 0o7777)
}

fn remove(dir: &Path) {
    if std::fs::remove_dir(dir).is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_handed_on_and_removed_with_the_pool() {
        let dirs = ScratchDirs::default();
        let first = dirs.take().unwrap();
        let path = first.path().to_path_buf();
        drop(first);
        let second = dirs.take().unwrap();
        assert_eq!(second.path(), path, "the empty folder is reused");
        drop(second);
        assert!(path.is_dir(), "kept while the pool lives");
        drop(dirs);
        assert!(!path.exists(), "removed with the pool");
    }

    #[test]
    fn a_folder_left_with_files_or_another_mode_is_removed_not_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dirs = ScratchDirs::default();
        let used = dirs.take().unwrap();
        let used_path = used.path().to_path_buf();
        std::fs::write(used_path.join("left"), "x").unwrap();
        let opened = dirs.take().unwrap();
        let opened_path = opened.path().to_path_buf();
        std::fs::set_permissions(&opened_path, std::fs::Permissions::from_mode(0o707)).unwrap();
        drop((used, opened));
        assert!(!used_path.exists() && !opened_path.exists());
        let next = dirs.take().unwrap();
        assert!(next.path() != used_path && next.path() != opened_path);
        assert_eq!(std::fs::read_dir(next.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_folder_outliving_its_pool_is_removed() {
        let dirs = ScratchDirs::default();
        let dir = dirs.take().unwrap();
        let path = dir.path().to_path_buf();
        drop(dirs);
        drop(dir);
        assert!(!path.exists());
    }
}
