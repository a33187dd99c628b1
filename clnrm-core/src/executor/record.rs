//! What a scenario run did, step by step, before it is judged.

use std::ops::Range;
use std::time::Duration;

use crate::backend::{StepEnd, StepOutput};
use crate::expect::{Mismatch, SpanMiss};
use crate::outcome::{Failure, FailureKind, Failures, FileLocation, OutputExcerpt, ServiceLog};
use crate::report::render_failures;
use crate::scenario::Step;

#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepRun {
    pub name: String,
    pub argv: Vec<String>,
    /// Span of the step in the (rendered) file, for `path:line`.
    pub span: Range<usize>,
    pub output: Option<StepOutput>,
    pub(crate) mismatches: Vec<Mismatch>,
    /// The attempts before this one that failed (`retry_on_failure`), first
    /// first; empty when the step ran once.
    pub earlier_attempts: Vec<StepRun>,
}

impl StepRun {
    pub(crate) fn new(step: &Step) -> Self {
        Self {
            name: step.name.value.clone(),
            argv: step.command.value.clone(),
            span: step.span.clone(),
            output: None,
            mismatches: Vec::new(),
            earlier_attempts: Vec::new(),
        }
    }

    /// This attempt, the last, after the failed `earlier` ones.
    pub(crate) fn after(mut self, earlier: Vec<StepRun>) -> Self {
        self.earlier_attempts = earlier;
        self
    }

    /// How many times the step ran.
    pub fn attempts(&self) -> usize {
        self.earlier_attempts.len() + 1
    }

    /// What went wrong in each earlier attempt, for the report of the last.
    fn earlier_summary(&self) -> String {
        let earlier: Vec<String> = (self.earlier_attempts.iter().enumerate())
            .map(|(i, attempt)| {
                let why: Vec<String> = attempt.mismatches.iter().map(ToString::to_string).collect();
                format!("attempt {}: {}", i + 1, why.join("; "))
            })
            .collect();
        format!(
            " (attempt {n} of {n}, `retry_on_failure`; {})",
            earlier.join("; "),
            n = self.attempts()
        )
    }

    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// A timed-out or cancelled step ends its scenario, `continue_on_failure` or not.
    pub(crate) fn stops_scenario(&self) -> bool {
        self.output
            .as_ref()
            .is_some_and(|o| o.end != StepEnd::Exited)
    }

    fn failures(&self, location: Option<FileLocation>) -> impl Iterator<Item = Failure> + '_ {
        let output = self
            .output
            .as_ref()
            .map(|o| OutputExcerpt::new(o.stdout.clone(), o.stderr.clone()));
        let mut said = if self.earlier_attempts.is_empty() {
            String::new()
        } else {
            self.earlier_summary()
        };
        if let Some(note) = self.output.as_ref().and_then(|o| o.note.as_ref()) {
            said.push_str(&format!(" (it {note})"));
        }
        self.mismatches.iter().map(move |mismatch| {
            let (expected, actual) = mismatch.expected_actual();
            let message = format!("{mismatch}{said}");
            let mut failure = Failure::new(mismatch.kind(), message).at(location.clone());
            failure.step = Some(self.name.clone());
            failure.command = Some(self.argv.clone());
            failure.expected = expected;
            failure.actual = actual;
            failure.output = output.clone();
            failure
        })
    }
}

/// Something that was not run or checked: never a pass.
#[derive(Debug, Clone)]
pub(crate) struct Unchecked {
    /// [`FailureKind::Unsupported`] or [`FailureKind::Unavailable`].
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
    /// The place in the file that asked for what is missing (an image's name).
    pub(crate) span: Option<Range<usize>>,
}

#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ScenarioRun {
    pub steps: Vec<StepRun>,
    /// Failures that belong to no step: claims, timeouts, cancellation.
    pub(crate) problems: Vec<Failure>,
    /// What this version (or this machine: no engine, no image) could not run
    /// or check. Always a failure: even a scenario that expects to fail must
    /// not pass on something nobody ran.
    pub(crate) unchecked: Vec<Unchecked>,
    /// `[expect.*]` expectations on the spans that did not hold.
    pub(crate) span_misses: Vec<SpanMiss>,
    /// Every span collected (received, printed, read from files); `None`
    /// when the scenario collects none.
    pub spans: Option<Vec<crate::spans::Span>>,
    /// clnrm's own spans of the scenario (`clnrm.scenario` and under it).
    pub trace: Vec<crate::spans::Span>,
    /// What to know besides the failures (how to reach kept containers).
    pub(crate) notes: Vec<String>,
    /// The last lines of each service's output, kept when the scenario failed.
    pub(crate) service_logs: Vec<(String, String)>,
    /// Values of secret-looking variables (`*TOKEN*`, `*PASSWORD*`, `*SECRET*`,
    /// `*KEY*`), masked in every failure.
    pub(crate) secrets: Vec<String>,
    pub duration: Duration,
}

/// `text` with every secret in it replaced by `***`.
fn mask_secrets(secrets: &[String], text: &mut String) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), "***");
        }
    }
}

impl ScenarioRun {
    pub fn failed(&self) -> bool {
        !self.problems.is_empty()
            || !self.unchecked.is_empty()
            || !self.span_misses.is_empty()
            || self.steps.iter().any(|s| !s.passed())
    }

    /// The scenario could not start: no step ran, and something was missing.
    pub(crate) fn ran_nothing(&self) -> bool {
        self.steps.is_empty() && !self.unchecked.is_empty()
    }

    /// Every failure as data, in report order (failed steps, problems, what
    /// was not checked), secrets masked; `locate` turns a span of the
    /// (rendered) file into a place in the file the user wrote.
    pub fn failures(&self, locate: &dyn Fn(Range<usize>) -> Option<FileLocation>) -> Failures {
        let steps = self.steps.iter().filter(|s| !s.passed());
        let mut list: Vec<Failure> = steps
            .flat_map(|step| step.failures(locate(step.span.clone())))
            .collect();
        list.extend(self.problems.iter().cloned());
        list.extend(
            (self.span_misses.iter())
                .map(|miss| miss.clone().into_failure(locate(miss.at.clone()))),
        );
        list.extend(
            self.unchecked.iter().map(|u| {
                Failure::new(u.kind, u.message.clone()).at(u.span.clone().and_then(locate))
            }),
        );
        let service_logs = (self.service_logs.iter())
            .map(|(service, lines)| ServiceLog::new(service.clone(), lines.clone()))
            .collect();
        let mut failures = Failures {
            list,
            notes: self.notes.clone(),
            service_logs,
        };
        self.mask(&mut failures);
        failures
    }

    /// The failures as a report, without places in the file.
    pub fn failure_report(&self) -> String {
        render_failures(&self.failures(&|_| None))
    }

    /// Masks the secrets in the spans collected and in clnrm's own (a
    /// step's argv): once judged, spans are only written, kept or forwarded.
    pub(crate) fn mask_spans(&mut self) {
        let secrets = std::mem::take(&mut self.secrets);
        let mask = |text: &mut String| mask_secrets(&secrets, text);
        let spans = (self.spans.iter_mut().flatten()).chain(self.trace.iter_mut());
        for span in spans {
            span.attributes.values_mut().for_each(mask);
            for event in &mut span.events {
                event.attributes.values_mut().for_each(mask);
            }
            let resource_has_one = (span.resource.values()).any(|v| {
                secrets
                    .iter()
                    .any(|s| !s.is_empty() && v.contains(s.as_str()))
            });
            if resource_has_one {
                std::sync::Arc::make_mut(&mut span.resource)
                    .values_mut()
                    .for_each(mask);
            }
        }
        self.secrets = secrets;
    }

    fn mask(&self, failures: &mut Failures) {
        if self.secrets.iter().all(String::is_empty) {
            return;
        }
        let mask = |text: &mut String| mask_secrets(&self.secrets, text);
        for failure in &mut failures.list {
            mask(&mut failure.message);
            failure.expected.iter_mut().for_each(mask);
            failure.actual.iter_mut().for_each(mask);
            failure.command.iter_mut().flatten().for_each(mask);
            if let Some(output) = &mut failure.output {
                mask(&mut output.stdout);
                mask(&mut output.stderr);
            }
        }
        failures.notes.iter_mut().for_each(mask);
        for log in &mut failures.service_logs {
            mask(&mut log.lines);
        }
    }
}
