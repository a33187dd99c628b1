//! The run loop: tests run under the concurrency limit, fail-fast and
//! cancellation, reported as one stream of typed [`Event`]s. Reporters are
//! sinks of that stream; the harness calls [`run_test`] under libtest's or
//! nextest's own scheduling.

mod event;
mod pool;
mod suite_run;
mod test_run;

pub use crate::outcome::TestFinished;
pub use event::{Event, StepFinished, SuiteSummary};
pub use pool::WorkerPool;
pub use suite_run::{RunOptions, run_suite};
pub use test_run::run_test;
