//! The event source: one non-recursive `notify` watch per folder, so
//! `target/` and hidden folders are never watched (nor count against the
//! inotify limit). Folders that appear are added; a root that is deleted is
//! watched for through its nearest existing parent until it comes back.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use clnrm_core::discover::is_skipped_dir;
use notify::{RecursiveMode, Watcher as _};

/// Why watching cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "the inotify watch limit is reached (fs.inotify.max_user_watches = {limit}) while watching {path}: raise it, e.g. `sudo sysctl fs.inotify.max_user_watches=524288`, or watch fewer folders"
    )]
    Limit { path: String, limit: String },
    #[error("cannot watch {path}: {source}")]
    Other {
        path: String,
        #[source]
        source: notify::Error,
    },
}

impl WatchError {
    fn new(path: &Path, source: notify::Error) -> Self {
        let path = path.display().to_string();
        match source.kind {
            notify::ErrorKind::MaxFilesWatch => WatchError::Limit {
                path,
                limit: watch_limit(),
            },
            _ => WatchError::Other { path, source },
        }
    }
}

/// The system's inotify watch limit, as text for messages.
pub fn watch_limit() -> String {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map_or_else(|_| "?".into(), |s| s.trim().to_string())
}

/// Raw events and errors, as the backend sends them.
pub type RawEvent = notify::Result<notify::Event>;

#[derive(Debug)]
pub struct DirWatcher {
    watcher: notify::RecommendedWatcher,
    roots: Vec<PathBuf>,
    watched: BTreeSet<PathBuf>,
    /// Parents watched while a root is missing.
    anchors: BTreeSet<PathBuf>,
    /// Folders that cannot be watched (no permission), not yet said.
    skipped: Vec<String>,
    /// Every folder ever said to be unwatchable, so each is said once.
    said: BTreeSet<PathBuf>,
}

impl DirWatcher {
    /// Starts the backend; events go to `events` from its own thread.
    pub fn new(
        roots: Vec<PathBuf>,
        events: impl Fn(RawEvent) + Send + 'static,
    ) -> Result<Self, WatchError> {
        let watcher = notify::recommended_watcher(move |e: RawEvent| events(e))
            .map_err(|e| WatchError::new(Path::new("(the watcher)"), e))?;
        let mut this = Self {
            watcher,
            roots,
            watched: BTreeSet::new(),
            anchors: BTreeSet::new(),
            skipped: Vec::new(),
            said: BTreeSet::new(),
        };
        this.sync()?;
        Ok(this)
    }

    /// Whether the backend reports completed writes (close-after-write).
    pub fn reports_completions() -> bool {
        notify::RecommendedWatcher::kind() == notify::WatcherKind::Inotify
    }

    /// Brings the watches in line with the folders on disk: new folders under
    /// a root are added, vanished ones dropped, missing roots anchored.
    /// Returns the roots that (re)appeared, whose files must be read.
    pub fn sync(&mut self) -> Result<Vec<PathBuf>, WatchError> {
        self.watched.retain(|d| d.is_dir());
        let mut appeared = Vec::new();
        let mut anchors = BTreeSet::new();
        for root in self.roots.clone() {
            if root.is_dir() {
                if !self.watched.contains(&root) {
                    appeared.push(root.clone());
                }
                self.watch_tree(&root)?;
            } else if let Some(anchor) = root.ancestors().skip(1).find(|a| a.is_dir()) {
                anchors.insert(anchor.to_path_buf());
            }
        }
        for gone in self.anchors.difference(&anchors) {
            if !self.watched.contains(gone) {
                let _ = self.watcher.unwatch(gone);
            }
        }
        for anchor in anchors.difference(&self.anchors.clone()) {
            if !self.watched.contains(anchor) {
                self.watcher
                    .watch(anchor, RecursiveMode::NonRecursive)
                    .map_err(|e| WatchError::new(anchor, e))?;
            }
        }
        self.anchors = anchors;
        Ok(appeared)
    }

    /// Watches `dir` and every folder below it that discovery would enter.
    pub fn watch_tree(&mut self, dir: &Path) -> Result<(), WatchError> {
        if !self.roots.iter().any(|r| dir.starts_with(r)) {
            return Ok(());
        }
        let walk = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_skipped_dir(&e.file_name().to_string_lossy()));
        for entry in walk.filter_map(Result::ok) {
            if !entry.file_type().is_dir() || self.watched.contains(entry.path()) {
                continue;
            }
            let path = entry.path().to_path_buf();
            match self.watcher.watch(&path, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(path);
                }
                // Gone again already: its removal is in the event stream.
                Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => {}
                Err(e) if matches!(&e.kind, notify::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound) =>
                    {}
                // A folder this user may not read: its files cannot be read
                // either (discovery says so); the others are still watched.
                Err(e) if matches!(&e.kind, notify::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied) => {
                    if self.said.insert(path.clone()) {
                        self.skipped.push(format!(
                            "{}: not watched: permission denied; changes in it are not seen",
                            path.display()
                        ));
                    }
                }
                Err(e) => return Err(WatchError::new(&path, e)),
            }
        }
        Ok(())
    }

    /// Folders found unwatchable since the last call, as messages.
    pub fn take_skipped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.skipped)
    }

    /// Whether a folder that appeared at `path` is one to watch.
    pub fn wants(&self, path: &Path) -> bool {
        self.roots.iter().any(|root| {
            path.strip_prefix(root).is_ok_and(|rel| {
                !rel.components()
                    .any(|c| is_skipped_dir(&c.as_os_str().to_string_lossy()))
            })
        }) || self.roots.iter().any(|root| root.starts_with(path))
    }
}

/// Sends every raw event into the loop's channel, tagged by the caller.
pub fn forward<T: Send + 'static>(
    sender: Sender<T>,
    wrap: fn(RawEvent) -> T,
) -> impl Fn(RawEvent) + Send + 'static {
    move |event| {
        let _ = sender.send(wrap(event));
    }
}
