//! Step expectations: exit code, output regexes, text that must (not) appear.

use std::fmt;
use std::time::Duration;

use crate::backend::{StepEnd, StepOutput};
use crate::outcome::FailureKind;
use crate::scenario::Step;

/// One way a step did not do what was expected ("expected X, was Y").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The program could not be started.
    NotStarted(String),
    TimedOut(Duration),
    Cancelled,
    ExitCode {
        expected: i32,
        actual: Option<i32>,
        signal: Option<i32>,
        /// The container's memory limit (MB), when the kernel killed the
        /// program for going over it.
        killed_for_memory: Option<u32>,
    },
    StdoutRegex(String),
    /// Stdout matched a regex it must not match.
    StdoutRegexMatched(String),
    StderrRegex(String),
    MissingText(String),
    UnwantedText(String),
}

impl Mismatch {
    /// What kind of failure this is, for outcomes.
    pub fn kind(&self) -> FailureKind {
        match self {
            Mismatch::NotStarted(_) => FailureKind::NotStarted,
            Mismatch::TimedOut(_) => FailureKind::TimedOut,
            Mismatch::Cancelled => FailureKind::Cancelled,
            Mismatch::ExitCode { .. } => FailureKind::ExitCode,
            Mismatch::StdoutRegex(_)
            | Mismatch::StdoutRegexMatched(_)
            | Mismatch::StderrRegex(_)
            | Mismatch::MissingText(_)
            | Mismatch::UnwantedText(_) => FailureKind::Output,
        }
    }

    /// The expected and the actual value, where the mismatch has them.
    pub fn expected_actual(&self) -> (Option<String>, Option<String>) {
        match self {
            Mismatch::ExitCode {
                expected,
                actual,
                signal,
                ..
            } => {
                let actual = match (actual, signal) {
                    (Some(code), _) => code.to_string(),
                    (None, Some(signal)) => format!("signal {signal}"),
                    (None, None) => "signal ?".into(),
                };
                (Some(expected.to_string()), Some(actual))
            }
            Mismatch::StdoutRegex(p) | Mismatch::StderrRegex(p) => (Some(p.clone()), None),
            Mismatch::StdoutRegexMatched(p) => (Some(format!("does not match {p}")), None),
            Mismatch::MissingText(t) => (Some(format!("contains {t:?}")), None),
            Mismatch::UnwantedText(t) => (Some(format!("does not contain {t:?}")), None),
            Mismatch::TimedOut(limit) => (
                Some(format!(
                    "ends within {}",
                    humantime::format_duration(*limit)
                )),
                None,
            ),
            Mismatch::NotStarted(_) | Mismatch::Cancelled => (None, None),
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::NotStarted(reason) => write!(f, "the step did not start: {reason}"),
            Mismatch::TimedOut(limit) => write!(
                f,
                "timed out after {}; killed",
                humantime::format_duration(*limit)
            ),
            Mismatch::Cancelled => f.write_str("cancelled; killed"),
            Mismatch::ExitCode {
                expected,
                actual: Some(code),
                killed_for_memory,
                ..
            } => {
                write!(f, "expected exit code {expected}, was {code}")?;
                match killed_for_memory {
                    Some(limit) => write!(
                        f,
                        ": killed for memory, over the container's limit of {limit} MB (`[limits] memory_mb`)"
                    ),
                    None => Ok(()),
                }
            }
            Mismatch::ExitCode {
                expected, signal, ..
            } => write!(
                f,
                "expected exit code {expected}, was killed by signal {}",
                signal.map_or("?".to_string(), |s| s.to_string())
            ),
            Mismatch::StdoutRegex(pattern) => {
                write!(f, "expected stdout to match regex `{pattern}`; it did not")
            }
            Mismatch::StdoutRegexMatched(pattern) => {
                write!(f, "expected stdout not to match regex `{pattern}`; it did")
            }
            Mismatch::StderrRegex(pattern) => {
                write!(f, "expected stderr to match regex `{pattern}`; it did not")
            }
            Mismatch::MissingText(text) => {
                write!(f, "expected stdout to contain {text:?}; it did not")
            }
            Mismatch::UnwantedText(text) => {
                write!(f, "expected stdout not to contain {text:?}; it did")
            }
        }
    }
}

/// Output as the original tool matched it: trailing newlines trimmed.
fn trimmed(text: &str) -> &str {
    text.trim_end_matches(['\n', '\r'])
}

fn matches(pattern: &str, text: &str) -> bool {
    // Validated before running; an invalid pattern never matches.
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(trimmed(text)))
}

/// Every expectation of `step` that `output` does not meet.
pub fn judge_step(step: &Step, output: &StepOutput, timeout: Duration) -> Vec<Mismatch> {
    match output.end {
        StepEnd::TimedOut => return vec![Mismatch::TimedOut(timeout)],
        StepEnd::Cancelled => return vec![Mismatch::Cancelled],
        StepEnd::Exited => {}
    }
    let mut found = Vec::new();
    if output.exit_code != Some(step.expected_exit_code) {
        found.push(Mismatch::ExitCode {
            expected: step.expected_exit_code,
            actual: output.exit_code,
            signal: output.signal,
            killed_for_memory: output.killed_for_memory,
        });
    }
    if let Some(pattern) = &step.expected_output_regex
        && !matches(pattern, &output.stdout)
    {
        found.push(Mismatch::StdoutRegex(pattern.value.clone()));
    }
    if let Some(pattern) = &step.expected_output_regex_not
        && matches(pattern, &output.stdout)
    {
        found.push(Mismatch::StdoutRegexMatched(pattern.value.clone()));
    }
    if let Some(pattern) = &step.expected_stderr_regex
        && !matches(pattern, &output.stderr)
    {
        found.push(Mismatch::StderrRegex(pattern.value.clone()));
    }
    for text in &step.stdout_contains {
        if !output.stdout.contains(text.as_str()) {
            found.push(Mismatch::MissingText(text.clone()));
        }
    }
    for text in &step.stdout_not_contains {
        if output.stdout.contains(text.as_str()) {
            found.push(Mismatch::UnwantedText(text.clone()));
        }
    }
    found
}
