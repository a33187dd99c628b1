//! What a scenario run produced, and its verdict.

use std::fmt::Write;
use std::ops::Range;
use std::time::Duration;

use crate::backend::{StepEnd, StepOutput};
use crate::expect::Mismatch;
use crate::scenario::{Scenario, Step};

#[derive(Debug, Clone)]
pub struct StepRun {
    pub name: String,
    pub argv: Vec<String>,
    /// Span of the step in the (rendered) file, for `path:line`.
    pub span: Range<usize>,
    pub output: Option<StepOutput>,
    pub mismatches: Vec<Mismatch>,
}

impl StepRun {
    pub(crate) fn new(step: &Step) -> Self {
        Self {
            name: step.name.value.clone(),
            argv: step.command.value.clone(),
            span: step.span.clone(),
            output: None,
            mismatches: Vec::new(),
        }
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
}

#[derive(Debug, Clone, Default)]
pub struct ScenarioRun {
    pub steps: Vec<StepRun>,
    /// Failures that belong to no step: setup, claims, timeouts.
    pub problems: Vec<String>,
    /// What this version (or this machine: no engine, no image) could not run
    /// or check. Always a failure: even a scenario that expects to fail must
    /// not pass on something nobody ran. With the place in the file that
    /// asked for what is missing, when one did (an image's name).
    pub unsupported: Vec<(String, Option<Range<usize>>)>,
    /// The last lines of each service's output, kept when the scenario failed.
    pub service_logs: Vec<(String, String)>,
    /// Values of secret-looking variables (`*TOKEN*`, `*PASSWORD*`, `*SECRET*`,
    /// `*KEY*`), masked in every report.
    pub secrets: Vec<String>,
    pub duration: Duration,
}

impl ScenarioRun {
    pub fn failed(&self) -> bool {
        !self.problems.is_empty()
            || !self.unsupported.is_empty()
            || self.steps.iter().any(|s| !s.passed())
    }

    /// The verdict, with `expect_failure` applied.
    pub fn verdict(&self, scenario: &Scenario, locate: &dyn Fn(Range<usize>) -> String) -> Verdict {
        let report = self.failure_report(locate);
        if !self.unsupported.is_empty() {
            return Verdict {
                passed: false,
                message: report,
            };
        }
        match (&scenario.expect_failure, self.failed()) {
            (None, false) => Verdict {
                passed: true,
                message: String::new(),
            },
            (None, true) => Verdict {
                passed: false,
                message: report,
            },
            (Some(_), false) => Verdict {
                passed: false,
                message: "expected this scenario to fail (`expect_failure`), but it passed".into(),
            },
            (Some(text), true) if text.is_empty() || report.contains(text.as_str()) => Verdict {
                passed: true,
                message: String::new(),
            },
            (Some(text), true) => Verdict {
                passed: false,
                message: format!(
                    "the scenario failed, but its failure does not mention {text:?}:\n{report}"
                ),
            },
        }
    }

    /// Which step failed and why, with the command, output and place in the file.
    pub fn failure_report(&self, locate: &dyn Fn(Range<usize>) -> String) -> String {
        let mut out = String::new();
        for step in self.steps.iter().filter(|s| !s.passed()) {
            let _ = writeln!(
                out,
                "step `{}` failed ({})",
                step.name,
                locate(step.span.clone())
            );
            let _ = writeln!(out, "  command: {:?}", step.argv);
            for mismatch in &step.mismatches {
                let _ = writeln!(out, "  {mismatch}");
            }
            if let Some(output) = &step.output {
                for (label, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
                    if text.is_empty() {
                        let _ = writeln!(out, "  --- {label}: (empty)");
                    } else {
                        let _ = writeln!(out, "  --- {label} ---\n{}", text.trim_end());
                    }
                }
            }
        }
        for problem in &self.problems {
            let _ = writeln!(out, "{problem}");
        }
        for (problem, span) in &self.unsupported {
            match span {
                Some(span) => writeln!(out, "{}: {problem}", locate(span.clone())),
                None => writeln!(out, "{problem}"),
            }
            .unwrap_or_default();
        }
        for (service, logs) in &self.service_logs {
            let logs = logs.trim_end();
            if logs.trim().is_empty() {
                let _ = writeln!(out, "--- service `{service}`: (no output)");
            } else {
                let _ = writeln!(
                    out,
                    "--- service `{service}` (last lines of its output) ---\n{logs}"
                );
            }
        }
        self.mask(out)
    }

    fn mask(&self, mut text: String) -> String {
        for secret in self.secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret.as_str(), "***");
        }
        text
    }
}

/// Passed, or failed with the message the user needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_without_output_says_so_instead_of_a_blank_section() {
        let run = ScenarioRun {
            problems: vec!["the scenario timed out".into()],
            service_logs: vec![
                ("quiet".into(), String::new()),
                ("blank".into(), "\n \n".into()),
                ("web".into(), "listening\n".into()),
            ],
            ..ScenarioRun::default()
        };
        let report = run.failure_report(&|_| String::new());
        assert_eq!(
            report,
            "the scenario timed out\n\
             --- service `quiet`: (no output)\n\
             --- service `blank`: (no output)\n\
             --- service `web` (last lines of its output) ---\nlistening\n"
        );
    }
}
