//! `cargo bench -p clnrm-benches --bench harness_overhead`
//!
//! Whole-process wall time of a clnrm-harness test binary running 500 trivial
//! local scenarios (`command = ["true"]`), against the baseline of a plain
//! libtest binary whose 500 `#[test]` functions each spawn `true` with
//! `std::process::Command`. Both throwaway crates are generated in a temporary
//! directory and built in the dev profile (as `cargo test` builds them); their
//! test binaries run directly, with the same `--test-threads`.
//! Target: harness/plain (medians) <= 1.2.
//!
//! A third series runs the same harness binary with `CLNRM_TRACE_DIR` set, so
//! every test records its run trace and writes it (one OTLP JSON document per
//! test). Target: run traces add under 2% (traced/harness, medians, < 1.02).
//!
//! Fails (non-zero exit) only when a crate does not build or a run does not
//! pass all 500 tests; timings are reported, never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clnrm_benches::throwaway::{self, TestBinary};
use clnrm_benches::{Summary, env_count, header, ms};

const TESTS: usize = 500;
const DEFAULT_RUNS: usize = 10;
const DEFAULT_THREADS: usize = 2;
const TARGET_RATIO: f64 = 1.2;
const TRACE_TARGET_RATIO: f64 = 1.02;
const WIDTH: usize = 26;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let runs = env_count("CLNRM_BENCH_RUNS", DEFAULT_RUNS);
    let threads = env_count("CLNRM_BENCH_THREADS", DEFAULT_THREADS);
    let mut dir = tempfile::Builder::new()
        .prefix("clnrm-bench-overhead-")
        .tempdir()
        .expect("create a temporary directory");
    let keep = std::env::var_os("CLNRM_BENCH_KEEP").is_some();
    dir.disable_cleanup(keep);
    let harness_dir = throwaway::harness_crate(dir.path(), TESTS);
    let plain_dir = throwaway::plain_crate(dir.path(), TESTS);
    println!(
        "harness_overhead: {TESTS} tests per binary, {runs} runs each, --test-threads {threads}"
    );
    println!("crates in {}", dir.path().display());

    let mut built = Vec::new();
    let result = build(&harness_dir, &mut built)
        .and_then(|harness| Ok((harness, build(&plain_dir, &mut built)?)))
        .and_then(|(harness, plain)| {
            measure(
                runs,
                threads,
                (&harness, &harness_dir),
                (&plain, &plain_dir),
            )
        });
    if !keep {
        built.iter().for_each(TestBinary::remove_artifacts);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("harness_overhead: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Builds one crate's test binary; remembers it for the clean-up.
fn build(crate_dir: &Path, built: &mut Vec<TestBinary>) -> Result<std::path::PathBuf, String> {
    let binary = throwaway::build_test_binary(crate_dir)?;
    println!(
        "built {} in {:.1} s",
        binary.executable.display(),
        binary.build_time.as_secs_f64()
    );
    let executable = binary.executable.clone();
    built.push(binary);
    Ok(executable)
}

/// One whole run of a test binary, checked to pass all its tests; with
/// `trace_dir`, under `CLNRM_TRACE_DIR`.
fn run_once(
    executable: &Path,
    crate_dir: &Path,
    threads: usize,
    trace_dir: Option<&Path>,
) -> Result<Duration, String> {
    let mut command = throwaway::test_command(executable, crate_dir);
    command.arg("--test-threads").arg(threads.to_string());
    if let Some(dir) = trace_dir {
        command.env("CLNRM_TRACE_DIR", dir);
    }
    let (output, elapsed) = throwaway::run_timed(&mut command)?;
    throwaway::check_passed(&output, TESTS)
        .map_err(|e| format!("{}: {e}", executable.display()))?;
    Ok(elapsed)
}

/// The run traces a traced run left: one file per test.
fn count_traces(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        (entries.filter_map(Result::ok))
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    })
}

fn measure(
    runs: usize,
    threads: usize,
    (harness, harness_dir): (&Path, &Path),
    (plain, plain_dir): (&Path, &Path),
) -> Result<(), String> {
    let trace_dir = harness_dir.join("traces");
    let series: [(&Path, &Path, Option<&Path>); 3] = [
        (harness, harness_dir, None),
        (harness, harness_dir, Some(&trace_dir)),
        (plain, plain_dir, None),
    ];
    // Correctness first, and a warm-up (page cache, the binaries' pages).
    let mut first = Vec::new();
    for (executable, dir, traces) in series {
        first.push(run_once(executable, dir, threads, traces)?);
    }
    let traces = count_traces(&trace_dir);
    if traces != TESTS {
        return Err(format!(
            "the traced run left {traces} run traces in {}, not {TESTS}",
            trace_dir.display()
        ));
    }
    println!(
        "check: all pass {TESTS} tests, the traced run left {TESTS} run traces (first runs: harness {:.1} ms, traced {:.1} ms, plain {:.1} ms)",
        ms(first[0]),
        ms(first[1]),
        ms(first[2])
    );

    // Interleaved, rotating which goes first, so that a slow spell of the
    // machine weighs on every series alike.
    let mut times: [Vec<Duration>; 3] = Default::default();
    for i in 0..runs {
        for k in 0..series.len() {
            let which = (i + k) % series.len();
            let (executable, dir, traces) = series[which];
            times[which].push(run_once(executable, dir, threads, traces)?);
        }
    }

    let h = Summary::of(&times[0]);
    let t = Summary::of(&times[1]);
    let p = Summary::of(&times[2]);
    let ratio = h.median.as_secs_f64() / p.median.as_secs_f64().max(1e-9);
    println!();
    println!("{}", header(WIDTH));
    println!("{}", h.row_ms("clnrm-harness (500)", WIDTH));
    println!("{}", t.row_ms("  with CLNRM_TRACE_DIR", WIDTH));
    println!("{}", p.row_ms("plain libtest (baseline)", WIDTH));
    let per_test = (h.median.as_secs_f64() - p.median.as_secs_f64()) / TESTS as f64;
    println!(
        "per test (medians / {TESTS}): harness {:.3} ms, plain {:.3} ms, difference {:+.3} ms",
        ms(h.median) / TESTS as f64,
        ms(p.median) / TESTS as f64,
        per_test * 1e3
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "target: harness/plain (medians) <= {TARGET_RATIO}: {} ({ratio:.2}x)",
        verdict(ratio <= TARGET_RATIO)
    );
    let traced = t.median.as_secs_f64() / h.median.as_secs_f64().max(1e-9);
    println!(
        "target: run traces add < 2% (traced/harness, medians, < {TRACE_TARGET_RATIO}): {} ({traced:.3}x, {:+.1}%)",
        verdict(traced < TRACE_TARGET_RATIO),
        (traced - 1.0) * 100.0
    );
    Ok(())
}
