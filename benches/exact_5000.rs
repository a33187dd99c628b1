//! `cargo bench -p clnrm-benches --bench exact_5000`
//!
//! Whole-process wall time of a clnrm-harness test binary over a suite of
//! 5,000 scenario files when asked for one test by name, `--exact
//! t2500.clnrm.toml::t2500 --nocapture` with nextest's variables
//! (`NEXTEST_EXECUTION_MODE`, `NEXTEST_TEST_NAME`): how nextest runs each
//! test, one process per test. The harness's fast path then reads only the
//! file named before `::`. For contrast, the same binary listing all 5,000
//! tests (`--list`), running the same test through a substring filter (no
//! `--exact`), and `--exact` without nextest's variables (as `cargo test --
//! --exact` runs it, counting the other tests as filtered out), all of which
//! read every file. Target: the nextest `--exact` run < 20 ms.
//!
//! Fails (non-zero exit) only when the crate does not build, a run does not
//! report `1 passed`, or the list lacks tests; timings are never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clnrm_benches::throwaway;
use clnrm_benches::{Summary, env_count, header, ms};

const SCENARIOS: usize = 5_000;
const PICKED: usize = 2_500;
const DEFAULT_RUNS: usize = 20;
const DEFAULT_FULL_RUNS: usize = 3;
const TARGET: Duration = Duration::from_millis(20);
const WIDTH: usize = 30;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let runs = env_count("CLNRM_BENCH_RUNS", DEFAULT_RUNS);
    let full_runs = env_count("CLNRM_BENCH_FULL_RUNS", DEFAULT_FULL_RUNS);
    let mut dir = tempfile::Builder::new()
        .prefix("clnrm-bench-exact-")
        .tempdir()
        .expect("create a temporary directory");
    let keep = std::env::var_os("CLNRM_BENCH_KEEP").is_some();
    dir.disable_cleanup(keep);
    let crate_dir = throwaway::harness_crate(dir.path(), SCENARIOS);
    println!(
        "exact_5000: {SCENARIOS} scenario files, `--exact {}` {runs} runs, \
         `--list` and substring filter {full_runs} runs each",
        throwaway::scenario_test(PICKED)
    );
    println!("crate in {}", crate_dir.display());

    let binary = match throwaway::build_test_binary(&crate_dir) {
        Ok(binary) => binary,
        Err(message) => {
            eprintln!("exact_5000: FAILED: {message}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "built {} in {:.1} s",
        binary.executable.display(),
        binary.build_time.as_secs_f64()
    );
    let result = measure(&binary.executable, &crate_dir, runs, full_runs);
    if !keep {
        binary.remove_artifacts();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("exact_5000: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// How the picked test is asked for.
#[derive(Clone, Copy)]
enum Ask {
    /// `--exact NAME --nocapture` with nextest's variables: the fast path.
    Nextest,
    /// `--exact NAME` without them, as `cargo test -- --exact NAME`.
    ExactByHand,
    /// `NAME` as a substring filter.
    Substring,
}

/// The picked test, by name, asked for as `ask` says.
fn run_one(executable: &Path, crate_dir: &Path, ask: Ask) -> Result<Duration, String> {
    let name = throwaway::scenario_test(PICKED);
    let mut command = throwaway::test_command(executable, crate_dir);
    command
        .env_remove("NEXTEST_EXECUTION_MODE")
        .env_remove("NEXTEST_TEST_NAME")
        .arg(&name);
    match ask {
        Ask::Nextest => {
            command
                .args(["--exact", "--nocapture"])
                .env("NEXTEST_EXECUTION_MODE", "process-per-test")
                .env("NEXTEST_TEST_NAME", &name);
        }
        Ask::ExactByHand => {
            command.arg("--exact");
        }
        Ask::Substring => {}
    }
    let (output, elapsed) = throwaway::run_timed(&mut command)?;
    throwaway::check_passed(&output, 1).map_err(|e| {
        let how = match ask {
            Ask::Nextest => "--exact (nextest)",
            Ask::ExactByHand => "--exact (by hand)",
            Ask::Substring => "substring filter",
        };
        format!("{how} run: {e}")
    })?;
    Ok(elapsed)
}

/// `--list`: every one of the 5,000 tests is listed.
fn list(executable: &Path, crate_dir: &Path) -> Result<Duration, String> {
    let mut command = throwaway::test_command(executable, crate_dir);
    command.arg("--list");
    let (output, elapsed) = throwaway::run_timed(&mut command)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let listed = stdout.lines().filter(|l| l.ends_with(": test")).count();
    if !output.status.success() || listed != SCENARIOS {
        return Err(format!(
            "--list: {listed} tests listed, expected {SCENARIOS} ({})\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(elapsed)
}

fn repeat(
    runs: usize,
    mut f: impl FnMut() -> Result<Duration, String>,
) -> Result<Vec<Duration>, String> {
    (0..runs).map(|_| f()).collect()
}

fn measure(
    executable: &Path,
    crate_dir: &Path,
    runs: usize,
    full_runs: usize,
) -> Result<(), String> {
    // Correctness first, and a warm-up (page cache, the binary's pages).
    let first = run_one(executable, crate_dir, Ask::Nextest)?;
    list(executable, crate_dir)?;
    println!(
        "check: --exact passes 1 test (first run {:.1} ms), --list lists {SCENARIOS}",
        ms(first)
    );

    let exact = Summary::of(&repeat(runs, || {
        run_one(executable, crate_dir, Ask::Nextest)
    })?);
    let listed = Summary::of(&repeat(full_runs, || list(executable, crate_dir))?);
    let filtered = Summary::of(&repeat(full_runs, || {
        run_one(executable, crate_dir, Ask::Substring)
    })?);
    let by_hand = Summary::of(&repeat(full_runs, || {
        run_one(executable, crate_dir, Ask::ExactByHand)
    })?);

    println!();
    println!("{}", header(WIDTH));
    println!("{}", exact.row_ms("--exact, nextest (1 file)", WIDTH));
    println!("{}", listed.row_ms("--list (5,000 files)", WIDTH));
    println!("{}", filtered.row_ms("substring filter (5,000)", WIDTH));
    println!("{}", by_hand.row_ms("--exact, by hand (5,000)", WIDTH));
    let met = if exact.median < TARGET {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "target: --exact median < {} ms: {met} ({:.1} ms)",
        TARGET.as_millis(),
        ms(exact.median)
    );
    println!(
        "ratio --list/--exact (medians): {:.1}x; per file when listing: {:.1} us",
        listed.median.as_secs_f64() / exact.median.as_secs_f64().max(1e-9),
        listed.median.as_secs_f64() * 1e6 / SCENARIOS as f64
    );
    Ok(())
}
