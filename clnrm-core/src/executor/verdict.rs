//! A scenario run judged: its failures, with `expect_failure` applied to them.

use std::ops::Range;

use crate::outcome::{Failure, FailureKind, FileLocation, Outcome};
use crate::scenario::Scenario;

use super::record::ScenarioRun;

/// The outcome of `run`. `expect_failure = "text"` is matched against the
/// failures' own data (messages, expected and actual values, output), never
/// against a rendered report, so rewording a report cannot change a verdict.
pub(crate) fn judge(
    run: &ScenarioRun,
    scenario: &Scenario,
    locate: &dyn Fn(Range<usize>) -> Option<FileLocation>,
) -> Outcome {
    let mut failures = run.failures(locate);
    if !run.unchecked.is_empty() {
        // Nothing passes on what nobody ran or checked, `expect_failure` or not.
        return if run.ran_nothing() {
            Outcome::NotRun(failures)
        } else {
            Outcome::Failed(failures)
        };
    }
    match (&scenario.expect_failure, run.failed()) {
        (None, false) => Outcome::Passed,
        (None, true) => Outcome::Failed(failures),
        (Some(_), false) => Outcome::failed(vec![Failure::new(
            FailureKind::ExpectedFailure,
            "expected this scenario to fail (`expect_failure`), but it passed",
        )]),
        (Some(text), true) if text.is_empty() || failures.list.iter().any(|f| f.mentions(text)) => {
            Outcome::Passed
        }
        (Some(text), true) => {
            let mut unmet = Failure::new(
                FailureKind::ExpectedFailure,
                format!("the scenario failed, but none of its failures mentions {text:?}"),
            );
            unmet.expected = Some(text.clone());
            failures.list.insert(0, unmet);
            Outcome::Failed(failures)
        }
    }
}
