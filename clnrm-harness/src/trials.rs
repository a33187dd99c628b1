//! The suite -> libtest-mimic trials, named as `cargo clnrm list` names them.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use clnrm_core::config::{Config, ConfigOverrides, Switches};
use clnrm_core::diagnostic::LocatedDiagnostic;
use clnrm_core::outcome::Outcome;
use clnrm_core::report::{ReportFiles, ResultDir, render_failures};
use clnrm_core::results::{DirStore, InputHasher, ResultStore, SuiteResults, default_location};
use clnrm_core::run_trace::TraceOutputs;
use clnrm_core::runner::{TestFinished, run_test};
use clnrm_core::suite::{SuiteBuilder, SuiteTest};
use libtest_mimic::{Arguments, Failed, Trial};

use crate::exact::NextestEnv;
use crate::output::FailureOutput;

/// The trials, and where they record their results.
#[derive(Debug)]
pub struct Collected {
    pub trials: Vec<Trial>,
    pub finished: Arc<Mutex<Vec<TestFinished>>>,
    /// The scenario files' `[report]` files, written from `finished`.
    pub reports: ReportFiles,
    /// The suite's tests, held so that a trial ending does not free its
    /// parsed file on the test's thread: see [`Collected::forget_tests`].
    tests: Vec<SuiteTest>,
}

impl Collected {
    /// The process is about to exit: freeing every parsed file (and its
    /// trees) would only cost time, a large part of a trivial test's.
    pub fn forget_tests(&mut self) {
        std::mem::forget(std::mem::take(&mut self.tests));
    }
}

/// The folder cargo built this test binary's package into
/// (`<target>/<profile>/` for `<target>/<profile>/deps/<test>`): its binaries
/// are there, whatever the target dir, the profile or the `--target`.
fn own_build_folder() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    (deps.file_name()? == "deps").then(|| deps.parent().map(Path::to_path_buf))?
}

/// An error with its causes, on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// The trials of the package at `manifest_dir`, under the switches the
/// environment gave (`CLNRM_TAGS`, `CLNRM_RESULT_DIR`).
pub fn collect_trials(
    args: &Arguments,
    manifest_dir: &Path,
    switches: &Switches,
) -> Result<Collected, String> {
    let config =
        Config::load(manifest_dir, &ConfigOverrides::default()).map_err(|e| with_causes(&e))?;
    // The store `cargo clnrm run --changed` reads: the harness fills it,
    // and never skips by it.
    let store: Arc<dyn ResultStore> =
        Arc::new(DirStore::new(default_location(manifest_dir, &config)));
    let hasher = Arc::new(InputHasher::default());
    // `CLNRM_TAGS`: `cargo clnrm test --tag`, the same set listed and run.
    let traces = Arc::new(TraceOutputs::new(None, switches.trace_dir.clone()));
    let mut builder = SuiteBuilder::new(config)
        .tags(switches.tags.clone())
        .record_trace(!traces.is_empty());
    if let Some(folder) = own_build_folder() {
        builder = builder.binaries_in(folder);
    }
    let exact = args.filter.as_deref().filter(|_| args.exact);
    let nextest_test = exact.filter(|name| NextestEnv::from_process().runs_only(name));
    if let Some(name) = nextest_test {
        builder = builder.only_file_of(name);
    }
    let suite = builder.build().map_err(|e| with_causes(&e))?;
    let mut stderr = std::io::stderr().lock();
    for warning in &suite.warnings {
        // With `--exact`, zero tests is an answer, not a surprise.
        if !(args.exact && warning.is_no_files()) {
            let _ = writeln!(stderr, "warning: {warning}");
        }
    }
    drop(stderr);
    if !args.list {
        // Ctrl-C / SIGTERM: running steps are killed and no new step starts, so
        // nothing the tests started outlives the test process.
        let cancel = suite.settings.cancel.clone();
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    let reports = ReportFiles::new(&suite.tests);
    let finished = Arc::new(Mutex::new(Vec::new()));
    let results = (switches.result_dir.as_deref())
        .map(|dir| Arc::new(ResultDir::for_package(dir, manifest_dir)));
    let output = FailureOutput::for_args(args);
    let mut trials: Vec<Trial> = (suite.tests.iter())
        .map(|test| {
            let run = TrialRun {
                test: test.clone(),
                settings: Arc::clone(&suite.settings),
                finished: Arc::clone(&finished),
                results: results.clone(),
                traces: Arc::clone(&traces),
                store: Arc::clone(&store),
                hasher: Arc::clone(&hasher),
                output,
            };
            Trial::test(test.name().to_string(), move || run.run())
                .with_ignored_flag(test.ignored.is_some())
        })
        .collect();
    // nextest listed the test, then started this process for it: running
    // nothing would pass it.
    if let Some(name) = nextest_test.filter(|_| !args.list)
        && !suite.tests.iter().any(|t| t.name() == name)
    {
        trials.push(vanished(name));
    }
    Ok(Collected {
        trials,
        finished,
        reports,
        tests: suite.tests,
    })
}

/// The failing trial of a test nextest listed that is not there now.
fn vanished(name: &str) -> Trial {
    let file = name.split_once("::").map_or(name, |(file, _)| file);
    let message = format!(
        "the test `{name}` was listed, but its scenario file `{file}` is gone or no longer defines it \
         (it was changed, renamed or removed after the tests were listed); run the tests again"
    );
    Trial::test(name.to_string(), move || Err(Failed::from(message)))
}

/// What one trial needs to run its test and record it.
struct TrialRun {
    test: SuiteTest,
    settings: Arc<clnrm_core::executor::RunSettings>,
    finished: Arc<Mutex<Vec<TestFinished>>>,
    results: Option<Arc<ResultDir>>,
    /// `CLNRM_TRACE_DIR` and clnrm's own `OTEL_EXPORTER_OTLP_ENDPOINT`.
    traces: Arc<TraceOutputs>,
    store: Arc<dyn ResultStore>,
    hasher: Arc<InputHasher>,
    output: FailureOutput,
}

impl TrialRun {
    fn run(self) -> Result<(), Failed> {
        // libtest-mimic decided to run it (`--include-ignored` included).
        let test = SuiteTest {
            ignored: None,
            ..self.test
        };
        // Digested before it runs: the inputs it ran with.
        let stored = SuiteResults::new(
            Arc::clone(&self.store),
            Arc::clone(&self.hasher),
            std::slice::from_ref(&test),
            &self.settings,
        );
        let finished = run_test(&test, &self.settings, &|_| {});
        if let Err(e) = stored.record(&finished) {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(
                stderr,
                "warning: cannot keep the result of {}: {e}",
                test.name()
            );
        }
        if let Some(results) = &self.results
            && let Err(e) = results.record(&finished)
        {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(
                stderr,
                "warning: cannot record the result of {}: {e}",
                test.name()
            );
        }
        for problem in self.traces.test_finished(&self.settings.trace, &finished) {
            let _ = writeln!(std::io::stderr().lock(), "warning: {problem}");
        }
        // Warnings (unverified claims, deprecated keys) go with the test's result.
        let report = &test.report;
        let warnings: Vec<String> = (report.diagnostics.iter())
            .filter(|d| !d.is_error())
            .map(|d| LocatedDiagnostic::new(d, &report.source).to_string())
            .collect();
        let failures = match &finished.outcome {
            Outcome::Failed(failures) | Outcome::NotRun(failures) => {
                Some(render_failures(failures))
            }
            _ => None,
        };
        if let Ok(mut all) = self.finished.lock() {
            all.push(finished);
        }
        let Some(mut message) = failures else {
            let mut stderr = std::io::stderr().lock();
            for warning in &warnings {
                let _ = writeln!(stderr, "{}: {warning}", test.name());
            }
            return Ok(());
        };
        if !warnings.is_empty() {
            message.push_str(&format!("\n{}", warnings.join("\n")));
        }
        Err(Failed::from(self.output.report(test.name(), message)))
    }
}
