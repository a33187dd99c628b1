//! The reporters of `run` and `watch --run`: a finished test as a human line
//! (with its failure report) and as the `test-finished` JSON line, one shape
//! for both commands (docs/cli.md).

use clnrm_core::outcome::Outcome;
use clnrm_core::report::render_failures;
use clnrm_core::runner::TestFinished;
use serde_json::{Value, json};

use crate::diagnostics::FORMAT_VERSION;

/// The `test-finished` line. `stale`: watch started it before the latest
/// change (always `false` for `run`).
pub fn test_finished_json(finished: &TestFinished, stale: bool) -> Value {
    let mut line = json!({
        "reason": "test-finished",
        "format_version": FORMAT_VERSION,
        "name": finished.name,
        "passed": finished.outcome.reports_passed(),
        "ignored": matches!(finished.outcome, Outcome::Ignored { .. }),
        "duration_ms": finished.duration.as_millis() as u64,
        "outcome": outcome_status(&finished.outcome),
        "stale": stale,
    });
    if let Some(reason) = finished.outcome.skip_reason() {
        line["skip_reason"] = json!(reason);
    }
    let failures = finished.outcome.failures();
    if let Outcome::Failed(all) | Outcome::NotRun(all) = &finished.outcome {
        line["message"] = json!(render_failures(all));
        line["failures"] = json!(failures);
    }
    line
}

/// `passed`, `failed`, `not-run`, `ignored`, `cancelled`: as serialized outcomes name them.
fn outcome_status(outcome: &Outcome) -> Value {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.get("status").cloned())
        .unwrap_or(Value::Null)
}

/// `   PASS [ 0.012s] name`, then the failure report indented.
pub fn test_finished_human(finished: &TestFinished, color: bool, suffix: &str) -> String {
    let (label, paint) = match &finished.outcome {
        Outcome::Ignored { .. } => ("IGNORED", "\u{1b}[33m"),
        Outcome::Unchanged { .. } => ("SKIP", "\u{1b}[33m"),
        outcome if outcome.is_success() => ("PASS", "\u{1b}[32m"),
        _ => ("FAIL", "\u{1b}[31m"),
    };
    let label = if color {
        format!("{paint}{label:>7}\u{1b}[0m")
    } else {
        format!("{label:>7}")
    };
    let skipped = (finished.outcome.skip_reason()).map_or(String::new(), |r| format!(" ({r})"));
    let mut text = format!(
        "{label} [{:>6.3}s] {}{skipped}{suffix}\n",
        finished.duration.as_secs_f64(),
        finished.name
    );
    if let Outcome::Failed(failures) | Outcome::NotRun(failures) = &finished.outcome {
        for line in render_failures(failures).lines() {
            text.push_str("    ");
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}
