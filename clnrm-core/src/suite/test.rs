//! One test of a suite, with the file it comes from.

use std::sync::Arc;

use crate::outcome::FileLocation;
use crate::pipeline::FileReport;
use crate::plan::PlannedTest;

/// A planned test and its file's report, cheap to clone into a worker.
#[derive(Debug, Clone)]
pub struct SuiteTest {
    pub planned: PlannedTest,
    pub report: Arc<FileReport>,
    /// `Some(reason)`: not run (`[meta] ignore` without `--include-ignored`,
    /// or the machine cannot run it under `CLNRM_SKIP_UNAVAILABLE`).
    pub ignored: Option<String>,
    /// `Some(since)`: not run, as it passed with the same inputs then
    /// (`run --changed`, milliseconds since the epoch).
    pub unchanged_since: Option<u64>,
}

impl SuiteTest {
    pub fn name(&self) -> &str {
        &self.planned.name
    }

    /// The scenario's place in the file the user wrote (its name's line),
    /// the path relative to the working directory.
    pub fn location(&self) -> FileLocation {
        FileLocation::new(
            crate::executor::display_path(self.report.source.path()),
            self.planned.location.line,
            self.planned.location.column,
        )
    }
}
