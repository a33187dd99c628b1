//! Spans that do not come through the receiver: the ones the steps print on
//! stdout (`artifacts.collect = ["spans:NAME"]`) and span files the steps
//! write (`artifacts.collect = ["spans:file:PATH"]`), read after the steps.

use std::path::Path;

use crate::outcome::{Failure, FailureKind};
use crate::scenario::Scenario;
use crate::spans::{Span, from_otlp_json, spans_in_lines};

use super::super::place::Place;
use super::super::record::ScenarioRun;

const FILE_PREFIX: &str = "spans:file:";

/// With `artifacts.collect = ["spans:NAME"]`, the spans the steps printed on
/// stdout (one JSON object per line); a line that looks like JSON but is not
/// is skipped, and counted in a note.
pub(super) fn printed_spans(scenario: &Scenario, run: &mut ScenarioRun) -> Vec<Span> {
    let printed = (scenario.collect.iter())
        .any(|c| c.value.starts_with("spans:") && !c.value.starts_with(FILE_PREFIX));
    if !printed {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let mut invalid = 0;
    for output in run.steps.iter().filter_map(|s| s.output.as_ref()) {
        let found = spans_in_lines(&output.stdout);
        spans.extend(found.spans);
        invalid += found.invalid_lines;
    }
    if invalid > 0 {
        run.notes.push(format!(
            "{invalid} line(s) of the steps' stdout looked like span JSON but did not parse: skipped"
        ));
    }
    spans
}

/// The spans of each `spans:file:PATH` (OTLP JSON lines, one OTLP JSON
/// document, or span objects per line), the path taken in the scenario's
/// working directory on the host or in the runner container. A file that
/// cannot be read fails the scenario where `artifacts.collect` names it.
pub(super) fn file_spans(scenario: &Scenario, place: &Place, run: &mut ScenarioRun) -> Vec<Span> {
    let mut spans = Vec::new();
    for entry in &scenario.collect {
        let Some(path) = entry.value.strip_prefix(FILE_PREFIX) else {
            continue;
        };
        let text = match place.read_file(Path::new(path)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(reason) => {
                run.problems.push(Failure::new(
                    FailureKind::SpanExpectation,
                    format!(
                        "the span file `{path}` (`artifacts.collect`) could not be read after the steps: {reason}"
                    ),
                ));
                continue;
            }
        };
        let whole = serde_json::from_str(&text)
            .ok()
            .and_then(|document| from_otlp_json(&document));
        let found = match whole {
            Some(found) => found,
            None => {
                let lines = spans_in_lines(&text);
                if lines.invalid_lines > 0 {
                    run.notes.push(format!(
                        "{} line(s) of the span file `{path}` did not parse: skipped",
                        lines.invalid_lines
                    ));
                }
                lines.spans
            }
        };
        spans.extend(found);
    }
    spans
}
