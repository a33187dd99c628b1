//! Work a process does on the side and waits for before it exits: the sweep
//! of what killed runs left, the folding of the result store's logs. Each
//! job runs on a thread of its own; a driver calls [`finish`] at its end,
//! which waits a bounded while, so a job is not cut short by the exit and an
//! exit is never held up for long by a job (an engine that does not answer).

use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a process waits at its end for its jobs.
const WAIT_AT_EXIT: Duration = Duration::from_secs(10);

fn jobs() -> &'static Mutex<Vec<JoinHandle<()>>> {
    static JOBS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());
    &JOBS
}

/// Starts `work` on a thread named `name`. Where no thread can be started
/// the work is left undone, for a later process (each job is one that can
/// wait).
pub(crate) fn spawn(name: &str, work: impl FnOnce() + Send + 'static) {
    let started = std::thread::Builder::new().name(name.into()).spawn(work);
    match started {
        Ok(handle) => jobs()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle),
        Err(e) => tracing::debug!(job = name, error = %e, "no thread for a background job"),
    }
}

/// Waits, at most a few seconds in all, for the jobs this process started.
pub fn finish() {
    let handles = std::mem::take(&mut *jobs().lock().unwrap_or_else(|e| e.into_inner()));
    let deadline = Instant::now() + WAIT_AT_EXIT;
    for handle in handles {
        while !handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn finish_waits_for_every_job() {
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let done = Arc::clone(&done);
            spawn("clnrm-test-job", move || {
                std::thread::sleep(Duration::from_millis(30));
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        finish();
        assert_eq!(done.load(Ordering::SeqCst), 3);
    }
}
