//! Discovered scenarios -> libtest-mimic trials, named as `cargo clnrm list` names them.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::diagnostic::LocatedDiagnostic;
use clnrm_core::discover::discover;
use clnrm_core::executor::{RunSettings, needs_engine, run_planned};
use clnrm_core::pipeline::{FileReport, Pipeline, process_all};
use clnrm_core::plan::{PlannedTest, plan};
use clnrm_core::render::VarInputs;
use clnrm_core::validate::ValidateOptions;
use libtest_mimic::{Arguments, Failed, Trial};

use crate::exact::{NextestEnv, exact_file};
use crate::output::FailureOutput;

/// The result of one test, kept for the JUnit report.
#[derive(Debug, Clone)]
pub struct TestRecord {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub passed: bool,
    pub message: String,
    pub duration: Duration,
}

/// The trials, and where they record their results.
#[derive(Debug)]
pub struct Collected {
    pub trials: Vec<Trial>,
    pub records: Arc<Mutex<Vec<TestRecord>>>,
}

/// The folder cargo built this test binary's package into
/// (`<target>/<profile>/` for `<target>/<profile>/deps/<test>`): its binaries
/// are there, whatever the target dir, the profile or the `--target`.
fn own_build_folder() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    (deps.file_name()? == "deps").then(|| deps.parent().map(Path::to_path_buf))?
}

pub fn collect_trials(args: &Arguments, manifest_dir: &Path) -> Result<Collected, String> {
    let mut config = Config::load(manifest_dir, &ConfigOverrides::default()).map_err(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    })?;
    if let Some(folder) = own_build_folder() {
        config.binaries = config.binaries.clone().in_folder(folder);
    }
    let discovery = exact_file(args, &config.roots, &NextestEnv::from_process())
        .unwrap_or_else(|| discover(&[], &config.roots));
    if discovery.files.is_empty() && !args.exact {
        // Zero tests would pass silently; say where nothing was found.
        let roots: Vec<String> = config
            .roots
            .iter()
            .map(|r| r.display().to_string())
            .collect();
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "warning: no scenario files (*.clnrm.toml, *.clnrm.toml.tera) in {}",
            roots.join(", ")
        );
    }
    let pipeline = Pipeline::new(
        VarInputs::default()
            .with_cargo_bins()
            .with_binaries(&config.binaries),
        ValidateOptions {
            strict: config.strict,
        },
    );
    let reports = process_all(&pipeline, &discovery.files);
    let tags = wanted_tags();
    let tests: Vec<PlannedTest> = plan(&reports)
        .into_iter()
        // A broken file has no tags; it is always a (failing) test.
        .filter(|t| {
            tags.is_empty() || t.target.is_none() || t.tags.iter().any(|tag| tags.contains(tag))
        })
        .collect();
    let reports: Vec<Arc<FileReport>> = reports.into_iter().map(Arc::new).collect();
    let settings = RunSettings::from_config(&config);
    if !args.list {
        // Ctrl-C / SIGTERM: running steps are killed and no new step starts, so
        // nothing the tests started outlives the test process.
        let cancel = settings.cancel.clone();
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    let skip_reason = engine_skip_reason(&tests, &reports, &settings);
    let settings = Arc::new(settings);
    let records = Arc::new(Mutex::new(Vec::new()));
    let output = FailureOutput::for_args(args);
    let trials = tests
        .into_iter()
        .map(|test| {
            let report = Arc::clone(&reports[test.file_index]);
            let skip = skip_reason.is_some() && needs_engine(&test, &report, &settings);
            trial(test, report, &settings, &records, skip, output)
        })
        .collect();
    Ok(Collected { trials, records })
}

fn trial(
    test: PlannedTest,
    report: Arc<FileReport>,
    settings: &Arc<RunSettings>,
    records: &Arc<Mutex<Vec<TestRecord>>>,
    engine_missing: bool,
    output: FailureOutput,
) -> Trial {
    let settings = Arc::clone(settings);
    let records = Arc::clone(records);
    let ignored = test.ignored.is_some() || engine_missing;
    let name = test.name.clone();
    Trial::test(name, move || {
        let started = std::time::Instant::now();
        let verdict = run_planned(&test, &report, &settings);
        let (passed, mut message) = (verdict.passed, verdict.message);
        // Warnings (unverified claims, deprecated keys) go with the test's result.
        let warnings: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| LocatedDiagnostic::new(d, &report.source).to_string())
            .collect();
        if !warnings.is_empty() {
            if passed {
                let mut stderr = std::io::stderr().lock();
                for warning in &warnings {
                    let _ = writeln!(stderr, "{}: {warning}", test.name);
                }
            } else {
                message.push_str(&format!("\n{}", warnings.join("\n")));
            }
        }
        let record = TestRecord {
            name: test.name.clone(),
            file: report.source.path().to_string_lossy().into_owned(),
            line: test.location.line,
            passed,
            message: message.clone(),
            duration: started.elapsed(),
        };
        if let Ok(mut all) = records.lock() {
            all.push(record);
        }
        if passed {
            Ok(())
        } else {
            Err(Failed::from(output.report(&test.name, message)))
        }
    })
    .with_ignored_flag(ignored)
}

/// `CLNRM_TAGS=a,b`: only scenarios tagged with one of them (`cargo clnrm test --tag`).
/// Applied the same way when listing and running, so nextest sees one set.
fn wanted_tags() -> Vec<String> {
    clnrm_core::config::tags()
}

/// `CLNRM_SKIP_UNAVAILABLE=1` and no engine answers: container scenarios are
/// ignored (listed as ignored too, so nextest agrees), with the reason on stderr.
fn engine_skip_reason(
    tests: &[PlannedTest],
    reports: &[Arc<FileReport>],
    settings: &RunSettings,
) -> Option<String> {
    let wanted = clnrm_core::config::skip_unavailable();
    if !wanted
        || !tests
            .iter()
            .any(|t| needs_engine(t, &reports[t.file_index], settings))
    {
        return None;
    }
    let reason = clnrm_core::backend::engine_status().err()?.to_string();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "warning: container scenarios ignored (CLNRM_SKIP_UNAVAILABLE): {reason}"
    );
    Some(reason)
}
