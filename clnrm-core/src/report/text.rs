//! A failed test's report as it is printed: each failed step with its place,
//! argv, what did not match and its output; then the scenario's other
//! problems; then the services' last output.

use std::fmt::Write;

use crate::outcome::{Failure, FailureKind, Failures};

/// The report of a failed (or not-run) test.
pub fn render_failures(failures: &Failures) -> String {
    let mut out = String::new();
    let list = &failures.list;
    let mut i = 0;
    while i < list.len() {
        let failure = &list[i];
        if let Some(step) = &failure.step {
            // A step's failures come together: one heading, its output once.
            let same_step = list[i..]
                .iter()
                .take_while(|f| f.step.as_ref() == Some(step) && f.location == failure.location)
                .count();
            step_section(&mut out, &list[i..i + same_step]);
            i += same_step;
            continue;
        }
        if failure.kind == FailureKind::InvalidFile {
            let same_kind = list[i..]
                .iter()
                .take_while(|f| f.kind == FailureKind::InvalidFile)
                .count();
            let _ = writeln!(out, "the file has problems:");
            for problem in &list[i..i + same_kind] {
                let _ = writeln!(out, "{}", problem.message);
            }
            i += same_kind;
            continue;
        }
        let _ = match &failure.location {
            Some(at) => writeln!(out, "{at}: {}", failure.message),
            None => writeln!(out, "{}", failure.message),
        };
        i += 1;
    }
    for note in &failures.notes {
        let _ = writeln!(out, "{note}");
    }
    for log in &failures.service_logs {
        let lines = log.lines.trim_end();
        if lines.trim().is_empty() {
            let _ = writeln!(out, "--- service `{}`: (no output)", log.service);
        } else {
            let _ = writeln!(
                out,
                "--- service `{}` (last lines of its output) ---\n{lines}",
                log.service
            );
        }
    }
    out
}

fn step_section(out: &mut String, failures: &[Failure]) {
    let first = &failures[0];
    let step = first.step.as_deref().unwrap_or_default();
    match &first.location {
        Some(at) => writeln!(out, "step `{step}` failed ({at})"),
        None => writeln!(out, "step `{step}` failed"),
    }
    .unwrap_or_default();
    if let Some(command) = &first.command {
        let _ = writeln!(out, "  command: {command:?}");
    }
    for failure in failures {
        let _ = writeln!(out, "  {}", failure.message);
    }
    if let Some(output) = failures.iter().find_map(|f| f.output.as_ref()) {
        for (label, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            if text.is_empty() {
                let _ = writeln!(out, "  --- {label}: (empty)");
            } else {
                let _ = writeln!(out, "  --- {label} ---\n{}", text.trim_end());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{FileLocation, OutputExcerpt, ServiceLog};

    #[test]
    fn a_service_without_output_says_so_instead_of_a_blank_section() {
        let failures = Failures {
            list: vec![Failure::new(
                FailureKind::ScenarioTimedOut,
                "the scenario timed out",
            )],
            notes: Vec::new(),
            service_logs: vec![
                ServiceLog::new("quiet", ""),
                ServiceLog::new("blank", "\n \n"),
                ServiceLog::new("web", "listening\n"),
            ],
        };
        assert_eq!(
            render_failures(&failures),
            "the scenario timed out\n\
             --- service `quiet`: (no output)\n\
             --- service `blank`: (no output)\n\
             --- service `web` (last lines of its output) ---\nlistening\n"
        );
    }

    #[test]
    fn a_step_is_one_section_with_every_mismatch() {
        let step = |kind, message: &str| {
            let mut f = Failure::new(kind, message).at(Some(FileLocation::new(
                "tests/clnrm/a.clnrm.toml",
                5,
                1,
            )));
            f.step = Some("greets".into());
            f.command = Some(vec!["echo".into(), "hello".into()]);
            f.output = Some(OutputExcerpt::new("hello\n", ""));
            f
        };
        let failures = Failures {
            list: vec![
                step(FailureKind::ExitCode, "expected exit code 1, was 0"),
                step(
                    FailureKind::Output,
                    "expected stdout to contain \"bye\"; it did not",
                ),
                Failure::new(FailureKind::Unsupported, "not supported yet")
                    .at(Some(FileLocation::new("tests/clnrm/a.clnrm.toml", 9, 3))),
            ],
            ..Failures::default()
        };
        assert_eq!(
            render_failures(&failures),
            "step `greets` failed (tests/clnrm/a.clnrm.toml:5:1)\n  \
             command: [\"echo\", \"hello\"]\n  \
             expected exit code 1, was 0\n  \
             expected stdout to contain \"bye\"; it did not\n  \
             --- stdout ---\nhello\n  \
             --- stderr: (empty)\n\
             tests/clnrm/a.clnrm.toml:9:3: not supported yet\n"
        );
        assert_eq!(
            failures.headline(),
            "step `greets` failed: expected exit code 1, was 0"
        );
    }
}
