//! Step execution on the local backend, against real processes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clnrm_core::discover::DiscoveredFile;
use clnrm_core::executor::{RunSettings, ScenarioRun, run_scenario};
use clnrm_core::pipeline::Pipeline;
use clnrm_core::scenario::ScenarioFile;
use clnrm_tests::count_processes;

mod original_keys;
mod outcomes;
mod receiver;
mod recorded;
mod run_trace;

/// Runs the one file `toml` (as `s.clnrm.toml` in a fresh folder) through
/// the suite builder and the run loop, as `cargo clnrm run` does (with
/// `record_trace`, as it does with `--trace`): every test's end, and the
/// run's trace parent.
fn run_file(
    toml: &str,
    record_trace: bool,
) -> (
    Vec<clnrm_core::outcome::TestFinished>,
    clnrm_core::run_trace::TraceParent,
) {
    use clnrm_core::runner::{Event, RunOptions, run_suite};
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.clnrm.toml"), toml).expect("write");
    let mut config = clnrm_core::config::Config::default();
    config.roots = vec![dir.path().to_path_buf()];
    let suite = clnrm_core::suite::SuiteBuilder::new(config)
        .record_trace(record_trace)
        .build()
        .expect("suite");
    let mut finished = Vec::new();
    run_suite(&suite, RunOptions::new(1, false), &mut |event| {
        if let Event::TestFinished(test) = event {
            finished.push(test.clone());
        }
    });
    (finished, suite.settings.trace.clone())
}

fn settings() -> RunSettings {
    RunSettings::from_config(&clnrm_core::config::Config::default())
}

fn parse(toml: &str) -> ScenarioFile {
    let report = Pipeline::default().process_text(
        &DiscoveredFile {
            name: "t.clnrm.toml".into(),
            path: PathBuf::from("t.clnrm.toml"),
            root: PathBuf::new(),
        },
        format!("[meta]\nname = \"t\"\nbackend = \"local\"\n{toml}"),
    );
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    report.variants[0].file.clone().expect("parsed")
}

fn run(toml: &str) -> ScenarioRun {
    run_scenario(&parse(toml), 0, &settings())
}

fn stdout(run: &ScenarioRun, step: usize) -> String {
    run.steps[step].output.as_ref().expect("ran").stdout.clone()
}

#[test]
fn arguments_reach_the_program_unchanged() {
    let r = run(r#"[[steps]]
name = "a"
command = ["printf", "%s|", "a  b", "$HOME", "'q'", "\"d\"", "two\nlines"]
"#);
    assert!(!r.failed(), "{}", r.failure_report());
    assert_eq!(stdout(&r, 0), "a  b|$HOME|'q'|\"d\"|two\nlines|");
}

#[test]
fn shell_exit_codes_are_not_swallowed() {
    let r = run("[[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"exit 1\"]\n");
    assert!(r.failed());
    assert!(r.failure_report().contains("expected exit code 0, was 1"));
}

#[test]
fn the_environment_is_clean_but_for_path_and_declared_env() {
    let r = run(r#"[[steps]]
name = "env"
command = ["env"]
env = { GREETING = "hi" }
"#);
    let env = stdout(&r, 0);
    let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["GREETING", "PATH"], "{env}");
}

#[test]
fn steps_share_a_fresh_working_directory_and_honour_workdir_and_stdin() {
    let r = run(r#"[[steps]]
name = "write"
command = ["sh", "-c", "mkdir sub && echo data > sub/file && pwd"]
[[steps]]
name = "read"
command = ["cat", "file"]
workdir = "sub"
[[steps]]
name = "stdin"
command = ["cat"]
stdin = "from stdin"
"#);
    assert!(!r.failed(), "{}", r.failure_report());
    let dir = PathBuf::from(stdout(&r, 0).trim());
    assert!(
        dir.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("clnrm-"))
    );
    assert_eq!(stdout(&r, 1), "data\n");
    assert_eq!(stdout(&r, 2), "from stdin");
    assert!(
        !dir.exists(),
        "the scenario's directory is removed afterwards"
    );
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let started = Instant::now();
    let r = run(
        "[[steps]]\nname = \"hangs\"\ncommand = [\"sh\", \"-c\", \"sleep 1017 & exec sleep 1018\"]\ntimeout = \"300ms\"\n[[steps]]\nname = \"never\"\ncommand = [\"true\"]\n",
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.steps.len(), 1, "a timed-out step ends the scenario");
    assert!(r.failure_report().contains("timed out after 300ms"));
    // The backgrounded sleep was in the step's group: gone too.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        count_processes(&["sleep", "1017"]) + count_processes(&["sleep", "1018"]),
        0
    );
}

#[test]
fn cancellation_stops_a_running_step() {
    let file = parse("[[steps]]\nname = \"long\"\ncommand = [\"sleep\", \"30\"]\n");
    let settings = settings();
    let cancel = settings.cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let started = Instant::now();
    let r = run_scenario(&file, 0, &settings);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(r.failure_report().contains("cancelled"));
}

#[test]
fn enforced_claims_are_checked() {
    let r = run(
        "[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n[assertions]\ncontainer_should_have_executed_commands = 2\n",
    );
    assert!(r.failure_report().contains("1 command(s) ran"));
    let ok = run(
        "[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n[[steps]]\nname = \"b\"\ncommand = [\"true\"]\n[assertions]\ncontainer_should_have_executed_commands = 2\nall_steps_should_succeed = true\n",
    );
    assert!(!ok.failed(), "{}", ok.failure_report());
}

#[test]
fn a_step_that_exits_ends_what_it_left_running() {
    let started = Instant::now();
    let r =
        run("[[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"sleep 1020 & echo done\"]\n");
    assert!(!r.failed(), "{}", r.failure_report());
    assert_eq!(stdout(&r, 0), "done\n");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count_processes(&["sleep", "1020"]), 0);
}

#[test]
fn a_step_that_closes_its_output_still_times_out() {
    let started = Instant::now();
    let r = run(
        "[[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"exec >&- 2>&-; exec sleep 1021\"]\ntimeout = \"300ms\"\n",
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(r.failure_report().contains("timed out after 300ms"));
    assert_eq!(count_processes(&["sleep", "1021"]), 0);
}
