//! Running a suite to its summary on the worker pool.

use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Instant;

use crate::executor::RunSettings;
use crate::suite::Suite;

use super::event::{Event, SuiteSummary};
use super::pool::WorkerPool;

/// How a suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOptions {
    /// Tests at once (at least one).
    pub jobs: usize,
    /// The first failure cancels the run: running steps are killed, no test starts.
    pub fail_fast: bool,
}

impl RunOptions {
    pub fn new(jobs: usize, fail_fast: bool) -> Self {
        Self { jobs, fail_fast }
    }
}

/// Runs every test of `suite` on a pool of `options.jobs` workers; `reporter`
/// sees every event on the calling thread, in the order they happen.
pub fn run_suite(
    suite: &Suite,
    options: RunOptions,
    reporter: &mut dyn FnMut(&Event),
) -> SuiteSummary {
    let started = Instant::now();
    let settings: Arc<RunSettings> = Arc::clone(&suite.settings);
    let jobs = options.jobs.clamp(1, suite.tests.len().max(1));
    reporter(&Event::SuiteStarted {
        tests: suite.tests.len(),
        jobs,
    });
    let (sender, events) = channel();
    let pool = WorkerPool::new(jobs, options.fail_fast, move |event| {
        let _ = sender.send(event);
    });
    for test in &suite.tests {
        pool.submit(test.clone(), Arc::clone(&settings));
    }
    let mut summary = SuiteSummary::default();
    let mut left = suite.tests.len();
    while left > 0 {
        let Ok(event) = events.recv() else { break };
        if let Event::TestFinished(finished) = &event {
            left -= 1;
            summary.count(&finished.outcome);
        }
        reporter(&event);
    }
    drop(pool);
    summary.duration = started.elapsed();
    reporter(&Event::SuiteFinished(summary.clone()));
    summary
}
