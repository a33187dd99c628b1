//! The worker pool tests run on: a fixed number of threads taking tests from
//! one queue. `run` submits a whole suite; `watch` submits tests as files change.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::executor::RunSettings;
use crate::outcome::Outcome;
use crate::suite::SuiteTest;

use super::event::Event;
use super::test_run::run_test;

type Sink = Arc<dyn Fn(Event) + Send + Sync>;

struct Job {
    test: SuiteTest,
    settings: Arc<RunSettings>,
}

/// Threads that run submitted tests and send their events to one sink.
/// Dropping the pool waits for the tests already submitted.
pub struct WorkerPool {
    queue: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl WorkerPool {
    /// `size` threads (at least one); `sink` sees every event, on the
    /// worker's thread. With `fail_fast`, a failed test cancels its settings'
    /// token before the worker takes another test, so none starts after it.
    pub fn new(size: usize, fail_fast: bool, sink: impl Fn(Event) + Send + Sync + 'static) -> Self {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let sink: Sink = Arc::new(sink);
        let workers = (0..size.max(1))
            .map(|i| {
                let jobs = Arc::clone(&jobs);
                let sink = Arc::clone(&sink);
                std::thread::Builder::new()
                    .name(format!("clnrm-worker-{i}"))
                    .spawn(move || work(&jobs, fail_fast, &*sink))
                    .expect("spawning a worker thread")
            })
            .collect();
        Self {
            queue: Some(queue),
            workers,
        }
    }

    /// Queues `test`; a worker runs it (or reports it ignored or cancelled).
    pub fn submit(&self, test: SuiteTest, settings: Arc<RunSettings>) {
        if let Some(queue) = &self.queue {
            // Workers outlive the queue's sender, so the send cannot fail.
            let _ = queue.send(Job { test, settings });
        }
    }
}

fn work(jobs: &Mutex<Receiver<Job>>, fail_fast: bool, sink: &(dyn Fn(Event) + Send + Sync)) {
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        let finished = run_test(&job.test, &job.settings, sink);
        let outcome = &finished.outcome;
        if fail_fast && !outcome.is_success() && *outcome != Outcome::Cancelled {
            job.settings.cancel.cancel();
        }
        sink(Event::TestFinished(finished));
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.queue.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
