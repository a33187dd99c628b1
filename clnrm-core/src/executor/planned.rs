//! Runs one planned test (a scenario of a file, or a broken file) to a verdict.
//! The harness and `cargo clnrm run` both drive tests through here.

use std::path::Path;

use crate::diagnostic::LocatedDiagnostic;
use crate::pipeline::FileReport;
use crate::plan::PlannedTest;

use super::outcome::Verdict;
use super::scenario::run_scenario_in;
use super::settings::RunSettings;

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
                || !file.services.is_empty()
        })
}

pub fn run_planned(test: &PlannedTest, report: &FileReport, settings: &RunSettings) -> Verdict {
    let Some(target) = test.target else {
        let lines: Vec<String> = report
            .diagnostics
            .iter()
            .map(|d| LocatedDiagnostic::new(d, &report.source).to_string())
            .collect();
        return Verdict {
            passed: false,
            message: format!("the file has problems:\n{}", lines.join("\n")),
        };
    };
    let variant = &report.variants[target.variant];
    let Some(file) = &variant.file else {
        return Verdict {
            passed: false,
            message: "the file did not parse".into(),
        };
    };
    let dir = report.source.path().parent().unwrap_or(Path::new(""));
    let run = run_scenario_in(file, target.scenario, dir, settings);
    let locate = |span: std::ops::Range<usize>| {
        let at = variant.locate(&report.source, span);
        format!("{}:{}", display_path(report.source.path()), at.line)
    };
    run.verdict(&file.scenarios[target.scenario], &locate)
}

/// Paths relative to the working directory (the package, under cargo), as
/// cargo and rustc print them.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}
