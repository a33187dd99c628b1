//! Runs one planned test (a scenario of a file, or a broken file) to its
//! outcome. Every driver runs tests through here.

use std::path::Path;

use crate::diagnostic::LocatedDiagnostic;
use crate::outcome::{Failure, FailureKind, FileLocation, Outcome};
use crate::pipeline::FileReport;
use crate::plan::PlannedTest;

use super::record::StepRun;
use super::scenario::run_scenario_observed;
use super::settings::RunSettings;
use super::spans::keep_spans;
use super::verdict::judge;

/// Whether a test needs the container engine: its scenario runs on the
/// container backend (or `--backend container` says so), or has services.
pub fn needs_engine(test: &PlannedTest, report: &FileReport, settings: &RunSettings) -> bool {
    let Some(target) = test.target else {
        return false;
    };
    report.variants[target.variant]
        .file
        .as_ref()
        .is_some_and(|file| {
            settings.backend.unwrap_or(file.header.backend) == crate::scenario::Backend::Container
                || file.services.iter().any(|s| !s.is_collector())
        })
}

/// A planned test's end: its outcome, and the spans it recorded (its own,
/// then those collected from its programs).
#[derive(Debug)]
pub(crate) struct PlannedRun {
    pub(crate) outcome: Outcome,
    pub(crate) spans: Vec<crate::spans::Span>,
}

impl From<Outcome> for PlannedRun {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            spans: Vec::new(),
        }
    }
}

/// Runs `test`; `on_step` sees each step as it finishes.
pub fn run_planned(
    test: &PlannedTest,
    report: &FileReport,
    settings: &RunSettings,
    on_step: &dyn Fn(&StepRun),
) -> PlannedRun {
    let file_name = display_path(report.source.path());
    let Some(target) = test.target else {
        let failures = report.diagnostics.iter().map(|d| {
            let at = d.span.as_ref().map(|s| report.source.location(s.start));
            Failure::new(
                FailureKind::InvalidFile,
                LocatedDiagnostic::new(d, &report.source).to_string(),
            )
            .at(at.map(|at| FileLocation::new(&file_name, at.line, at.column)))
        });
        return Outcome::NotRun(crate::outcome::Failures {
            list: failures.collect(),
            ..Default::default()
        })
        .into();
    };
    let variant = &report.variants[target.variant];
    let Some(file) = &variant.file else {
        return Outcome::not_run(Failure::new(
            FailureKind::InvalidFile,
            "the file did not parse",
        ))
        .into();
    };
    let dir = report.source.path().parent().unwrap_or(Path::new(""));
    let mut run = run_scenario_observed(file, target.scenario, dir, settings, on_step);
    keep_spans(&test.name, &mut run, settings);
    let mut spans = std::mem::take(&mut run.trace);
    spans.extend(run.spans.iter().flatten().cloned());
    forward_to_otel_endpoint(file, &spans, &mut run);
    let locate = |span: std::ops::Range<usize>| {
        let at = variant.locate(&report.source, span);
        Some(FileLocation::new(&file_name, at.line, at.column))
    };
    PlannedRun {
        outcome: judge(&run, &file.scenarios[target.scenario], &locate),
        spans,
    }
}

/// `[otel] endpoint`: the scenario's spans, its own and its programs', sent
/// on; a failure is a note of the report, never a verdict.
fn forward_to_otel_endpoint(
    file: &crate::scenario::ScenarioFile,
    spans: &[crate::spans::Span],
    run: &mut super::record::ScenarioRun,
) {
    let Some(otel) = &file.otel else { return };
    let Some(endpoint) = &otel.endpoint else {
        return;
    };
    if let Err(e) = crate::run_trace::forward(endpoint, &otel.headers, spans) {
        run.notes.push(format!("`[otel] endpoint`: {e}"));
    }
}

/// Paths relative to the working directory (the package, under cargo), as
/// cargo and rustc print them.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}
