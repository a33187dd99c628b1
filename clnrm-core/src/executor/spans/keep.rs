//! The spans a test collected, kept after the run as OTLP JSON lines in
//! `<target dir>/clnrm/spans/<test name>.jsonl`, where any OTLP tool (and
//! `artifacts.collect = ["spans:file:PATH"]`) reads them; a failure report
//! names the file.

use std::path::PathBuf;

use crate::run_trace::{file_name, write_creating_folders};
use crate::spans::to_otlp_json_lines;

use super::super::record::ScenarioRun;
use super::super::settings::RunSettings;

/// The folder the spans are kept in: the crate's target directory, else
/// (outside a crate) the temporary directory.
fn spans_dir(settings: &RunSettings) -> PathBuf {
    let base = (settings.crate_binaries.target_dir())
        .map_or_else(|| std::env::temp_dir().join("clnrm"), |t| t.join("clnrm"));
    base.join("spans")
}

/// Writes `run.spans` for test `test`, when the scenario collects spans (an
/// earlier run's file goes when none came) and, when the test failed,
/// notes where they are.
pub(crate) fn keep_spans(test: &str, run: &mut ScenarioRun, settings: &RunSettings) {
    let Some(spans) = &run.spans else {
        return;
    };
    let path = spans_dir(settings).join(file_name(test, "jsonl"));
    if spans.is_empty() {
        let _ = std::fs::remove_file(&path);
        return;
    }
    let count = spans.len();
    match write_creating_folders(&path, &to_otlp_json_lines(spans)) {
        Ok(()) if run.failed() => run.notes.push(format!(
            "the {count} span(s) collected are in {} (OTLP JSON lines)",
            path.display()
        )),
        Ok(()) => {}
        Err(e) => run.notes.push(format!(
            "the collected spans could not be kept in {}: {e}",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn test_names_become_plain_file_names() {
        assert_eq!(
            file_name("dir/a.clnrm.toml::checkout", "jsonl"),
            "dir_a.clnrm.toml__checkout.jsonl"
        );
        assert_eq!(
            file_name("m.clnrm.toml.tera::x[os=linux]", "jsonl"),
            "m.clnrm.toml.tera__x_os_linux_.jsonl"
        );
    }
}
