//! What a run reports, as it happens.

use std::time::Duration;

use crate::outcome::{Outcome, TestFinished};

#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    SuiteStarted { tests: usize, jobs: usize },
    TestStarted { name: String },
    StepFinished(StepFinished),
    TestFinished(TestFinished),
    SuiteFinished(SuiteSummary),
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepFinished {
    pub test: String,
    pub step: String,
    /// `None` when the program did not start or was killed by a signal.
    pub exit_code: Option<i32>,
    pub passed: bool,
    pub duration: Duration,
}

/// The counts of a run, as its closing line gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuiteSummary {
    pub passed: usize,
    /// Failed, and not run (nothing passes unchecked).
    pub failed: usize,
    pub ignored: usize,
    /// Skipped by `run --changed`: passed before with the same inputs.
    pub skipped: usize,
    /// Never started because the run was cancelled.
    pub cancelled: usize,
    pub duration: Duration,
}

impl SuiteSummary {
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Ignored { .. } => self.ignored += 1,
            Outcome::Unchanged { .. } => self.skipped += 1,
            Outcome::Cancelled => self.cancelled += 1,
            _ => self.failed += 1,
        }
    }

    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.cancelled == 0
    }
}
