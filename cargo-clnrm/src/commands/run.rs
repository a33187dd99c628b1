//! `cargo clnrm run`: scenario files run in-process, no compile, `-j` at once,
//! on the core's run loop; this command only chooses settings and reports.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clnrm_core::backend::PullPolicy;
use clnrm_core::executor::RunSettings;
use clnrm_core::outcome::Outcome;
use clnrm_core::report::ReportFiles;
use clnrm_core::results::{DirStore, InputHasher, ResultStore, SuiteResults, default_location};
use clnrm_core::run_trace::{RunTrace, TraceOutputs};
use clnrm_core::runner::{Event, RunOptions, SuiteSummary, run_suite};
use clnrm_core::scenario::Backend;

use crate::cli::{BackendChoice, MessageFormat, PullChoice, RunArgs};
use crate::diagnostics::FORMAT_VERSION;
use crate::error::{CliError, exit};
use crate::reporters::{test_finished_human, test_finished_json};

pub fn run(
    args: &RunArgs,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, CliError> {
    let input = &args.input;
    let config = super::workspace::config(input)?;
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let store: Arc<dyn ResultStore> = Arc::new(DirStore::new(default_location(&cwd, &config)));
    let settings = settings(args, RunSettings::from_config(&config));
    let cancel = settings.cancel.clone();
    let traces = TraceOutputs::new(args.trace.clone(), None);
    let builder = super::workspace::suite_builder(input, config)
        .record_trace(!traces.is_empty())
        .tags(args.tags.clone())
        .include_ignored(args.include_ignored)
        .settings(settings);
    let mut suite = super::workspace::build(builder, input.message_format, stdout, stderr)?;
    // Every run keeps its results; `--changed` also skips by them.
    let results = SuiteResults::new(
        store,
        Arc::new(InputHasher::default()),
        &suite.tests,
        &suite.settings,
    );
    if args.changed {
        for warning in results.mark_unchanged(&mut suite.tests) {
            writeln!(stderr, "warning: {warning}")?;
        }
    }
    let mut unrecorded = None;
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let _ = ctrlc::set_handler(move || {
        flag.store(true, Ordering::SeqCst);
        cancel.cancel();
    });
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut trace = RunTrace::new(&suite.settings.trace);
    // Each file's `[report]`, and the whole run's in `--report-dir`.
    let mut files = ReportFiles::new(&suite.tests);
    if let Some(dir) = &args.report_dir {
        files = files.in_dir(dir.clone());
    }
    let mut written = Ok(());
    let mut reports = Ok(Vec::new());
    let mut reporter = |event: &Event| {
        if let Event::TestFinished(finished) = event {
            trace.add(finished);
            if let Err(e) = results.record(finished) {
                unrecorded.get_or_insert(e);
            }
        }
        if written.is_ok() {
            written = report(event, input.message_format, color, stdout);
        }
        if reports.is_ok() {
            reports = files.record(event);
        }
    };
    let summary = run_suite(&suite, RunOptions::new(jobs, args.fail_fast), &mut reporter);
    written?;
    if let Some(e) = unrecorded {
        writeln!(
            stderr,
            "warning: cannot keep the results for `--changed`: {e}"
        )?;
    }
    for problem in traces.run_finished(trace) {
        let _ = writeln!(stderr, "warning: {problem}");
    }
    reports?;
    if interrupted.load(Ordering::SeqCst) {
        return Ok(exit::INTERRUPTED);
    }
    Ok(if summary.is_success() {
        exit::SUCCESS
    } else {
        exit::PROBLEMS
    })
}

/// The configuration's settings with this command's flags on top.
fn settings(args: &RunArgs, mut settings: RunSettings) -> RunSettings {
    settings.backend = args.backend.map(|b| match b {
        BackendChoice::Local => Backend::Local,
        BackendChoice::Container => Backend::Container,
    });
    settings.keep_on_failure |= args.keep_on_failure;
    if let Some(cap) = args.max_containers {
        settings.max_containers = usize::from(cap);
    }
    if let Some(pull) = args.pull {
        settings.pull = match pull {
            PullChoice::Never => PullPolicy::Never,
            PullChoice::Missing => PullPolicy::Missing,
            PullChoice::Always => PullPolicy::Always,
        };
    }
    settings
}

/// The human and JSON reporters of the run's events.
fn report(
    event: &Event,
    format: MessageFormat,
    color: bool,
    stdout: &mut dyn Write,
) -> std::io::Result<()> {
    match (event, format) {
        // A test the run never started has no line; the summary counts it.
        (Event::TestFinished(finished), _) if finished.outcome == Outcome::Cancelled => Ok(()),
        (Event::TestFinished(finished), MessageFormat::Json) => {
            writeln!(stdout, "{}", test_finished_json(finished, false))
        }
        (Event::TestFinished(finished), MessageFormat::Human) => {
            write!(stdout, "{}", test_finished_human(finished, color, ""))
        }
        (Event::SuiteFinished(summary), MessageFormat::Human) => {
            writeln!(
                stdout,
                "\nfinished in {:.2}s",
                summary.duration.as_secs_f64()
            )?;
            writeln!(stdout, "{}", closing_line(summary))
        }
        (Event::SuiteFinished(summary), MessageFormat::Json) => {
            let line = serde_json::json!({
                "reason": "run-finished",
                "format_version": FORMAT_VERSION,
                "passed": summary.passed,
                "failed": summary.failed,
                "ignored": summary.ignored,
                "skipped": summary.skipped,
                "not_run": summary.cancelled,
            });
            writeln!(stdout, "{line}")
        }
        _ => Ok(()),
    }
}

fn closing_line(summary: &SuiteSummary) -> String {
    let mut closing = format!("{} passed, {} failed", summary.passed, summary.failed);
    if summary.ignored > 0 {
        closing.push_str(&format!(", {} ignored", summary.ignored));
    }
    if summary.skipped > 0 {
        closing.push_str(&format!(", {} skipped", summary.skipped));
    }
    if summary.cancelled > 0 {
        closing.push_str(&format!(", {} not run", summary.cancelled));
    }
    closing
}
