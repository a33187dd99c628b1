//! `cargo clnrm run`: scenario files run in-process, no compile, `-j` at once.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clnrm_core::backend::PullPolicy;
use clnrm_core::executor::{RunSettings, Verdict, needs_engine, run_planned};
use clnrm_core::plan::{PlannedTest, plan};
use clnrm_core::scenario::Backend;
use serde::Serialize;

use crate::cli::{BackendChoice, MessageFormat, PullChoice, RunArgs};
use crate::diagnostics::FORMAT_VERSION;
use crate::error::{CliError, exit};

#[derive(Debug, Serialize)]
struct Finished {
    reason: &'static str,
    format_version: u32,
    name: String,
    passed: bool,
    ignored: bool,
    duration_ms: u128,
    #[serde(skip_serializing_if = "String::is_empty")]
    message: String,
}

#[derive(Debug, Default)]
struct Tally {
    passed: usize,
    failed: usize,
    ignored: usize,
    not_run: usize,
}

pub fn run(
    args: &RunArgs,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, CliError> {
    let loaded = super::workspace::load(&args.input, stdout, stderr)?;
    let mut settings = RunSettings::from_config(&loaded.config);
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
    let cancel = settings.cancel.clone();
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    let _ = ctrlc::set_handler(move || {
        flag.store(true, Ordering::SeqCst);
        cancel.cancel();
    });
    let tests: Vec<PlannedTest> = plan(&loaded.reports)
        .into_iter()
        // A broken file has no tags; it is always a (failing) test.
        .filter(|t| {
            args.tags.is_empty()
                || t.target.is_none()
                || t.tags.iter().any(|tag| args.tags.contains(tag))
        })
        .collect();
    // `CLNRM_SKIP_UNAVAILABLE=1` without an engine: container scenarios are ignored.
    let skip_engine = clnrm_core::config::skip_unavailable()
        && tests
            .iter()
            .any(|t| needs_engine(t, &loaded.reports[t.file_index], &settings))
        && match clnrm_core::backend::engine_status() {
            Ok(()) => false,
            Err(e) => {
                writeln!(
                    stderr,
                    "warning: container scenarios ignored (CLNRM_SKIP_UNAVAILABLE): {e}"
                )?;
                true
            }
        };
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(tests.len().max(1));
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let (sender, results) = std::sync::mpsc::channel::<Finished>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            scope.spawn(|| {
                let sender = sender;
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(test) = tests.get(index) else { break };
                    if settings.cancel.is_cancelled() {
                        lock(&tally).not_run += 1;
                        continue;
                    }
                    let ignored = (test.ignored.is_some() && !args.include_ignored)
                        || (skip_engine
                            && needs_engine(test, &loaded.reports[test.file_index], &settings));
                    let test_started = Instant::now();
                    let verdict = if ignored {
                        Verdict {
                            passed: true,
                            message: String::new(),
                        }
                    } else {
                        run_planned(test, &loaded.reports[test.file_index], &settings)
                    };
                    {
                        let mut t = lock(&tally);
                        match (ignored, verdict.passed) {
                            (true, _) => t.ignored += 1,
                            (false, true) => t.passed += 1,
                            (false, false) => t.failed += 1,
                        }
                    }
                    if !verdict.passed && args.fail_fast {
                        settings.cancel.cancel();
                    }
                    let finished = Finished {
                        reason: "test-finished",
                        format_version: FORMAT_VERSION,
                        name: test.name.clone(),
                        passed: verdict.passed,
                        ignored,
                        duration_ms: test_started.elapsed().as_millis(),
                        message: verdict.message,
                    };
                    if sender.send(finished).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Results are printed here, in the order they finish.
        for finished in results {
            let _ = report(&finished, args.input.message_format, color, stdout);
        }
    });
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut closing = format!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.ignored > 0 {
        closing.push_str(&format!(", {} ignored", tally.ignored));
    }
    if tally.not_run > 0 {
        closing.push_str(&format!(", {} not run", tally.not_run));
    }
    match args.input.message_format {
        MessageFormat::Human => {
            writeln!(
                stdout,
                "\nfinished in {:.2}s",
                started.elapsed().as_secs_f64()
            )?;
            writeln!(stdout, "{closing}")?;
        }
        MessageFormat::Json => {
            let line = serde_json::json!({
                "reason": "run-finished",
                "format_version": FORMAT_VERSION,
                "passed": tally.passed,
                "failed": tally.failed,
                "ignored": tally.ignored,
                "not_run": tally.not_run,
            });
            writeln!(stdout, "{line}")?;
        }
    }
    if interrupted.load(Ordering::SeqCst) {
        return Ok(exit::INTERRUPTED);
    }
    Ok(if tally.failed > 0 || tally.not_run > 0 {
        exit::PROBLEMS
    } else {
        exit::SUCCESS
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn report(
    finished: &Finished,
    format: MessageFormat,
    color: bool,
    stdout: &mut dyn Write,
) -> std::io::Result<()> {
    if format == MessageFormat::Json {
        let line = serde_json::to_string(finished).map_err(std::io::Error::other)?;
        return writeln!(stdout, "{line}");
    }
    let (label, paint) = match (finished.ignored, finished.passed) {
        (true, _) => ("IGNORED", "\u{1b}[33m"),
        (false, true) => ("PASS", "\u{1b}[32m"),
        (false, false) => ("FAIL", "\u{1b}[31m"),
    };
    let label = if color {
        format!("{paint}{label:>7}\u{1b}[0m")
    } else {
        format!("{label:>7}")
    };
    writeln!(
        stdout,
        "{label} [{:>6.3}s] {}",
        finished.duration_ms as f64 / 1000.0,
        finished.name
    )?;
    if !finished.passed {
        for line in finished.message.lines() {
            writeln!(stdout, "    {line}")?;
        }
    }
    Ok(())
}
