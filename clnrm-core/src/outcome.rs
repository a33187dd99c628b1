//! What a test came to, as data: passed, failed with typed failures, not run,
//! ignored, or cancelled. Verdicts are decided on this data; only reporters
//! (see [`crate::report`]) turn it into text.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    Passed,
    /// It ran, and something it expects did not hold (or could not be checked).
    Failed(Failures),
    /// Nothing ran: the file has errors, or this version or this machine
    /// cannot run it (no engine, a missing image, an unsupported feature).
    /// Always a failure: nothing passes unchecked.
    NotRun(Failures),
    /// `[meta] ignore` (with its reason), or skipped because the machine
    /// cannot run it (`CLNRM_SKIP_UNAVAILABLE`).
    Ignored {
        reason: Option<String>,
    },
    /// Never started: the run was cancelled first (Ctrl-C, `--fail-fast`).
    Cancelled,
    /// Not run (`run --changed`): it passed with exactly these inputs at
    /// `since` (milliseconds since the epoch). A skip, never a pass.
    Unchanged {
        since_unix_ms: u64,
    },
}

impl Outcome {
    /// Passed, ignored or unchanged: nothing failed.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Passed | Outcome::Ignored { .. } | Outcome::Unchanged { .. }
        )
    }

    /// Whether it counts as passed in a report: it ran, and passed (or is
    /// ignored, as reports have always said). An unchanged test did not run.
    pub fn reports_passed(&self) -> bool {
        self.is_success() && !matches!(self, Outcome::Unchanged { .. })
    }

    /// Why it was skipped without running, as a report says it
    /// (`unchanged since 2026-12-02T19:40:12Z`); `None` when it was not.
    pub fn skip_reason(&self) -> Option<String> {
        let Outcome::Unchanged { since_unix_ms } = self else {
            return None;
        };
        let since = std::time::UNIX_EPOCH + Duration::from_millis(*since_unix_ms);
        Some(format!(
            "unchanged since {}",
            humantime::format_rfc3339_seconds(since)
        ))
    }

    /// The failures of a failed or not-run test; empty otherwise.
    pub fn failures(&self) -> &[Failure] {
        match self {
            Outcome::Failed(f) | Outcome::NotRun(f) => &f.list,
            _ => &[],
        }
    }

    /// A failed outcome with these failures and no service output.
    pub fn failed(failures: Vec<Failure>) -> Self {
        Outcome::Failed(Failures {
            list: failures,
            ..Failures::default()
        })
    }

    pub fn not_run(failure: Failure) -> Self {
        Outcome::NotRun(Failures {
            list: vec![failure],
            ..Failures::default()
        })
    }
}

/// Every way a test failed, and the services' last output as context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Failures {
    #[serde(rename = "failures")]
    pub list: Vec<Failure>,
    /// What to know besides the failures (how to reach kept containers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The last lines of each service's output, kept when the scenario failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_logs: Vec<ServiceLog>,
}

impl Failures {
    /// One line that says what failed first: a report's headline (JUnit's
    /// `message`, a summary).
    pub fn headline(&self) -> String {
        match self.list.first() {
            Some(Failure {
                step: Some(step),
                message,
                ..
            }) => format!("step `{step}` failed: {message}"),
            Some(failure) => failure.message.clone(),
            None => "failed".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceLog {
    pub service: String,
    pub lines: String,
}

impl ServiceLog {
    pub fn new(service: impl Into<String>, lines: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            lines: lines.into(),
        }
    }
}

/// One thing that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Failure {
    pub kind: FailureKind,
    /// The failure's own words ("expected exit code 0, was 1").
    pub message: String,
    /// The step it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Where in the file the user wrote: the step, or what asked for what is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<FileLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The step's argv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// What the step printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputExcerpt>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            step: None,
            location: None,
            expected: None,
            actual: None,
            command: None,
            output: None,
        }
    }

    pub fn at(mut self, location: Option<FileLocation>) -> Self {
        self.location = location;
        self
    }

    /// Whether `text` is in this failure's own data: its message, expected
    /// and actual values, or the output it quotes (what `expect_failure` matches).
    pub fn mentions(&self, text: &str) -> bool {
        let output = self.output.iter().flat_map(|o| [&o.stdout, &o.stderr]);
        std::iter::once(&self.message)
            .chain(&self.expected)
            .chain(&self.actual)
            .chain(output)
            .any(|field| field.contains(text))
    }
}

/// What kind of thing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailureKind {
    /// A step's exit code.
    ExitCode,
    /// A step's output against a regex or a text it must (not) contain.
    Output,
    /// A step's program could not be started.
    NotStarted,
    /// A step reached its time limit.
    TimedOut,
    /// The scenario reached its time limit.
    ScenarioTimedOut,
    /// The run was cancelled while the scenario ran.
    Cancelled,
    /// An `[assertions]` claim that did not hold.
    Claim,
    /// An `[expect.*]` expectation on the spans that did not hold (or no spans came).
    SpanExpectation,
    /// `expect_failure`: the scenario passed, or failed another way.
    ExpectedFailure,
    /// Something this version cannot run or check.
    Unsupported,
    /// Something the machine lacks: no engine, an image, a healthy service.
    Unavailable,
    /// The file has errors (its diagnostics are the message).
    InvalidFile,
}

/// A place in a scenario file, as reports print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileLocation {
    /// Relative to the working directory when under it, as cargo prints paths.
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl FileLocation {
    pub fn new(file: impl Into<String>, line: usize, column: usize) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }
}

/// `file:line:col`, as rustc and editors take it.
impl std::fmt::Display for FileLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A step's captured output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputExcerpt {
    pub stdout: String,
    pub stderr: String,
}

impl OutputExcerpt {
    pub fn new(stdout: impl Into<String>, stderr: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }
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
    /// clnrm's own spans of the test and the spans collected from its
    /// programs: what run traces are written from. Not in the records.
    #[serde(skip)]
    pub spans: Vec<crate::spans::Span>,
}

impl TestFinished {
    pub fn new(name: String, location: FileLocation, outcome: Outcome, duration: Duration) -> Self {
        Self {
            name,
            location,
            outcome,
            duration,
            spans: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_mentions_its_own_fields_only() {
        let mut failure = Failure::new(FailureKind::ExitCode, "expected exit code 0, was 1");
        failure.step = Some("greets".into());
        failure.output = Some(OutputExcerpt::new("", "connection refused"));
        assert!(failure.mentions("was 1"));
        assert!(failure.mentions("connection refused"));
        // The report's framing ("step `greets` failed") is not the failure's data.
        assert!(!failure.mentions("failed ("));
        assert!(!failure.mentions("--- stderr ---"));
    }

    #[test]
    fn outcomes_round_trip_through_json() {
        let outcome = Outcome::not_run(
            Failure::new(FailureKind::Unavailable, "no engine").at(Some(FileLocation::new(
                "a.clnrm.toml",
                3,
                1,
            ))),
        );
        let text = serde_json::to_string(&outcome).expect("serialize");
        assert!(text.contains(r#""status":"not-run""#), "{text}");
        let back: Outcome = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, outcome);
        assert!(!back.is_success());
        assert!(Outcome::Ignored { reason: None }.is_success());
    }
}
