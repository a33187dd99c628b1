//! What a run reports, as it happens.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outcome::{FileLocation, Outcome};

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

/// One test's end: what reporters (human, JSON lines, JUnit) are made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TestFinished {
    pub name: String,
    /// The scenario's place (its name's line).
    pub location: FileLocation,
    pub outcome: Outcome,
    pub duration: Duration,
}

impl TestFinished {
    pub fn new(name: String, location: FileLocation, outcome: Outcome, duration: Duration) -> Self {
        Self {
            name,
            location,
            outcome,
            duration,
        }
    }

    /// The place a report points at: the first failure's (the failing
    /// step's), else the scenario's.
    pub fn failure_location(&self) -> &FileLocation {
        (self.outcome.failures().iter())
            .find_map(|f| f.location.as_ref())
            .unwrap_or(&self.location)
    }
}

/// The counts of a run, as its closing line gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuiteSummary {
    pub passed: usize,
    /// Failed, and not run (nothing passes unchecked).
    pub failed: usize,
    pub ignored: usize,
    /// Never started because the run was cancelled.
    pub cancelled: usize,
    pub duration: Duration,
}

impl SuiteSummary {
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Ignored { .. } => self.ignored += 1,
            Outcome::Cancelled => self.cancelled += 1,
            _ => self.failed += 1,
        }
    }

    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.cancelled == 0
    }
}
