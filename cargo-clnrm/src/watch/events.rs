//! From raw file-system events to "this path is ready to read", without a
//! fixed debounce window.
//!
//! A write is acted on when it completes: close-after-write, or a rename into
//! place (how `sed -i` and atomic-saving editors write). A removal waits a
//! short grace period, because a vim-style save moves the file away and
//! writes a new one at once. Only a backend that reports no completions
//! (polling, other platforms) gets a trailing window after a plain write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode};

/// How long a vanished path may take to come back before it counts as removed.
pub const GONE_GRACE: Duration = Duration::from_millis(40);
/// Quiet time after a plain write, on backends without completion events.
pub const TRAILING_WINDOW: Duration = Duration::from_millis(50);

/// What one raw event says about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// Written and closed, or renamed into place: safe to read now.
    Complete(PathBuf),
    /// A folder appeared (made, or moved in with its contents).
    FolderAppeared(PathBuf),
    /// Written, not yet closed.
    Partial(PathBuf),
    /// Deleted or renamed away.
    Gone(PathBuf),
    /// The backend lost events (queue overflow): look at everything again.
    Rescan,
}

/// The signals in one raw event; opens, reads and metadata changes say nothing.
pub fn classify(event: &notify::Event) -> Vec<Signal> {
    if event.need_rescan() {
        return vec![Signal::Rescan];
    }
    let each = |f: fn(PathBuf) -> Signal| event.paths.iter().cloned().map(f).collect();
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => each(Signal::Complete),
        EventKind::Create(CreateKind::Folder) => each(Signal::FolderAppeared),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => each(Signal::Complete),
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => each(Signal::Gone),
        // `To` and `From` arrive on their own as well.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => Vec::new(),
        EventKind::Modify(ModifyKind::Name(_)) => each(Signal::Complete),
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => each(Signal::Partial),
        EventKind::Create(_) => each(Signal::Partial),
        EventKind::Remove(_) => each(Signal::Gone),
        _ => Vec::new(),
    }
}

/// Paths waiting to be looked at, each with the time it becomes due.
#[derive(Debug)]
pub struct Pending {
    due: BTreeMap<PathBuf, Instant>,
    rescan: bool,
    /// Whether the backend reports completions (inotify does).
    completions: bool,
}

impl Pending {
    pub fn new(completions: bool) -> Self {
        Self {
            due: BTreeMap::new(),
            rescan: false,
            completions,
        }
    }

    pub fn add(&mut self, signal: Signal, now: Instant) {
        match signal {
            Signal::Complete(path) | Signal::FolderAppeared(path) => self.set(path, now),
            Signal::Gone(path) => self.at_least(path, now + GONE_GRACE),
            Signal::Partial(path) if !self.completions => {
                self.set(path, now + TRAILING_WINDOW);
            }
            // A completion follows; reading now could see half a file.
            Signal::Partial(_) => {}
            Signal::Rescan => self.rescan = true,
        }
    }

    /// Looks at `path` again later (a file caught empty mid-save).
    pub fn defer(&mut self, path: &Path, until: Instant) {
        self.at_least(path.to_path_buf(), until);
    }

    fn set(&mut self, path: PathBuf, at: Instant) {
        self.due.insert(path, at);
    }

    /// Never earlier than a due time already set, so a removal's grace holds
    /// against later plain writes, while a completion replaces it.
    fn at_least(&mut self, path: PathBuf, at: Instant) {
        let entry = self.due.entry(path).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// When the loop must wake up next, if anything is waiting.
    pub fn next_due(&self) -> Option<Instant> {
        if self.rescan {
            return Some(Instant::now());
        }
        self.due.values().min().copied()
    }

    /// Whether the backend lost events since the last call.
    pub fn take_rescan(&mut self) -> bool {
        std::mem::take(&mut self.rescan)
    }

    /// The paths due by `now`, in path order.
    pub fn take_due(&mut self, now: Instant) -> Vec<PathBuf> {
        let due: Vec<PathBuf> = (self.due.iter())
            .filter(|(_, at)| **at <= now)
            .map(|(p, _)| p.clone())
            .collect();
        for path in &due {
            self.due.remove(path);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{DataChange, MetadataKind, RemoveKind};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn classification_table() {
        let p = || PathBuf::from("/r/a.clnrm.toml");
        let table = [
            (
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                vec![Signal::Complete(p())],
            ),
            (
                EventKind::Modify(ModifyKind::Name(RenameMode::To)),
                vec![Signal::Complete(p())],
            ),
            (
                EventKind::Modify(ModifyKind::Name(RenameMode::From)),
                vec![Signal::Gone(p())],
            ),
            (
                EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                vec![Signal::Partial(p())],
            ),
            (
                EventKind::Create(CreateKind::File),
                vec![Signal::Partial(p())],
            ),
            (
                EventKind::Create(CreateKind::Folder),
                vec![Signal::FolderAppeared(p())],
            ),
            (EventKind::Remove(RemoveKind::File), vec![Signal::Gone(p())]),
            (
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
                vec![],
            ),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                vec![],
            ),
            (EventKind::Access(AccessKind::Open(AccessMode::Any)), vec![]),
        ];
        for (kind, expected) in table {
            assert_eq!(
                classify(&event(kind, "/r/a.clnrm.toml")),
                expected,
                "{kind:?}"
            );
        }
        let overflow = notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert_eq!(classify(&overflow), vec![Signal::Rescan]);
    }

    #[test]
    fn a_completion_is_due_at_once_and_a_partial_write_waits_for_it() {
        let now = Instant::now();
        let mut pending = Pending::new(true);
        pending.add(Signal::Partial("/r/a".into()), now);
        assert_eq!(pending.next_due(), None, "no read before the close");
        pending.add(Signal::Complete("/r/a".into()), now);
        assert_eq!(pending.take_due(now), vec![PathBuf::from("/r/a")]);
        assert_eq!(pending.next_due(), None);
    }

    #[test]
    fn without_completions_a_partial_write_gets_a_trailing_window() {
        let now = Instant::now();
        let mut pending = Pending::new(false);
        pending.add(Signal::Partial("/r/a".into()), now);
        assert!(pending.take_due(now).is_empty());
        assert_eq!(pending.next_due(), Some(now + TRAILING_WINDOW));
        let later = now + TRAILING_WINDOW;
        pending.add(Signal::Partial("/r/a".into()), later);
        assert!(pending.take_due(later).is_empty(), "each write restarts it");
        assert_eq!(pending.take_due(later + TRAILING_WINDOW).len(), 1);
    }

    #[test]
    fn a_removal_waits_its_grace_unless_the_file_is_written_back() {
        let now = Instant::now();
        let mut pending = Pending::new(true);
        pending.add(Signal::Gone("/r/a".into()), now);
        assert!(pending.take_due(now).is_empty());
        assert_eq!(pending.take_due(now + GONE_GRACE).len(), 1);
        // vim: the file moves to a backup, a new one is written and closed.
        pending.add(Signal::Gone("/r/a".into()), now);
        pending.add(Signal::Complete("/r/a".into()), now);
        assert_eq!(pending.take_due(now).len(), 1);
    }

    #[test]
    fn duplicates_collapse_and_overflow_asks_for_a_rescan() {
        let now = Instant::now();
        let mut pending = Pending::new(true);
        for _ in 0..3 {
            pending.add(Signal::Complete("/r/a".into()), now);
        }
        pending.add(Signal::Rescan, now);
        assert!(pending.take_rescan());
        assert!(!pending.take_rescan());
        assert_eq!(pending.take_due(now).len(), 1);
    }
}
