//! One test to its end, as a worker (or the harness, under libtest's own
//! scheduling) runs it.

use std::time::Instant;

use crate::executor::{RunSettings, StepRun, run_planned};
use crate::outcome::{Outcome, TestFinished};
use crate::suite::SuiteTest;

use super::event::{Event, StepFinished};

/// Runs one test: ignored and cancelled tests report so without running.
/// `sink` sees its start and its steps; the end is returned.
pub fn run_test(test: &SuiteTest, settings: &RunSettings, sink: &dyn Fn(Event)) -> TestFinished {
    let started = Instant::now();
    let ran = if let Some(since_unix_ms) = test.unchanged_since {
        Outcome::Unchanged { since_unix_ms }.into()
    } else if let Some(reason) = &test.ignored {
        Outcome::Ignored {
            reason: Some(reason.clone()).filter(|r| !r.is_empty()),
        }
        .into()
    } else if settings.cancel.is_cancelled() {
        Outcome::Cancelled.into()
    } else {
        sink(Event::TestStarted {
            name: test.name().to_string(),
        });
        let on_step = |step: &StepRun| {
            sink(Event::StepFinished(StepFinished {
                test: test.name().to_string(),
                step: step.name.clone(),
                exit_code: step.output.as_ref().and_then(|o| o.exit_code),
                passed: step.passed(),
                duration: step.output.as_ref().map(|o| o.duration).unwrap_or_default(),
            }));
        };
        run_planned(&test.planned, &test.report, settings, &on_step)
    };
    let mut finished = TestFinished::new(
        test.name().to_string(),
        test.location(),
        ran.outcome,
        started.elapsed(),
    );
    finished.spans = ran.spans;
    finished
}
