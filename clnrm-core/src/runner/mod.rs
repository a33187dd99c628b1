//! The run loop: tests run under the concurrency limit, fail-fast and
//! cancellation, reported as one stream of typed [`Event`]s. Reporters are
//! sinks of that stream; the harness calls [`run_test`] under libtest's or
//! nextest's own scheduling.

mod event;
mod pool;
mod suite_run;

pub use event::{Event, StepFinished, SuiteSummary, TestFinished};
pub use pool::WorkerPool;
pub use suite_run::{RunOptions, run_suite, run_test};
