//! The global cap on running containers, held across processes: nextest runs
//! one process per test, and several test binaries may run at once. Each slot
//! is a lock file; a scenario takes the slots for all its containers at once
//! (all or nothing, so two scenarios never wait on each other's halves), and a
//! scenario needing more than the cap takes every slot and runs alone.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use super::cancel::CancelToken;

/// How long to wait between attempts when every slot is taken.
const RETRY: Duration = Duration::from_millis(20);

/// Held slots; dropping them frees them (also when the process dies: the
/// kernel drops its locks).
#[derive(Debug)]
pub struct Slots {
    _held: Vec<Flock<File>>,
}

fn slot_dir() -> PathBuf {
    crate::config::slot_dir().unwrap_or_else(|| std::env::temp_dir().join("clnrm-container-slots"))
}

/// Takes `wanted` of the `cap` slots (all of them when `wanted` exceeds the
/// cap), waiting while they are taken. `None` when cancelled first.
pub fn acquire(wanted: usize, cap: usize, cancel: &CancelToken) -> std::io::Result<Option<Slots>> {
    acquire_in(&slot_dir(), wanted, cap, cancel)
}

fn acquire_in(
    dir: &std::path::Path,
    wanted: usize,
    cap: usize,
    cancel: &CancelToken,
) -> std::io::Result<Option<Slots>> {
    let cap = cap.max(1);
    let need = wanted.clamp(1, cap);
    std::fs::create_dir_all(dir)?;
    loop {
        let mut held = Vec::with_capacity(need);
        for slot in 0..cap {
            if held.len() == need {
                break;
            }
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!("{slot}.lock")))?;
            if let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                held.push(lock);
            }
        }
        if held.len() == need {
            return Ok(Some(Slots { _held: held }));
        }
        // Not enough: give back what was taken, so no one waits on a half.
        drop(held);
        if cancel.is_cancelled() {
            return Ok(None);
        }
        std::thread::sleep(RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_all_or_nothing_capped_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let gave_up = CancelToken::new();
        gave_up.cancel();
        let first = acquire_in(dir.path(), 1, 2, &gave_up)
            .unwrap()
            .expect("one of two");
        // Two more do not fit beside the first: nothing is taken.
        assert!(acquire_in(dir.path(), 2, 2, &gave_up).unwrap().is_none());
        let second = acquire_in(dir.path(), 1, 2, &gave_up)
            .unwrap()
            .expect("the other one");
        drop(first);
        drop(second);
        // More than the cap: every slot, so the scenario runs alone.
        let all = acquire_in(dir.path(), 5, 2, &gave_up)
            .unwrap()
            .expect("all slots");
        assert!(acquire_in(dir.path(), 1, 2, &gave_up).unwrap().is_none());
        drop(all);
        assert!(acquire_in(dir.path(), 1, 2, &gave_up).unwrap().is_some());
    }
}
