//! `cargo bench -p clnrm-benches --bench validate_1000`
//!
//! Whole-process wall time of `cargo-clnrm clnrm validate <dir>` over 1,000
//! generated scenario files (half plain `*.clnrm.toml`, half `*.clnrm.toml.tera`
//! templates using `[vars]`, a `{% for %}` loop and the shipped macro library),
//! against the baseline of one `cat` of the same files. Target: validate < 150 ms.
//!
//! Fails (non-zero exit) only when the generated files do not validate cleanly;
//! timings are reported, never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clnrm_benches::corpus::generate;
use clnrm_benches::{Summary, env_count, ms, release_binary, sample};

const DEFAULT_RUNS: usize = 15;
const TARGET: Duration = Duration::from_millis(150);

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let runs = env_count("CLNRM_BENCH_RUNS", DEFAULT_RUNS);
    let binary = match release_binary() {
        Ok(path) => path,
        Err(message) => {
            eprintln!("validate_1000: FAILED: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut dir = tempfile::Builder::new()
        .prefix("clnrm-bench-validate-")
        .tempdir()
        .expect("create a temporary directory");
    // `CLNRM_BENCH_KEEP=1` leaves the files behind, to rerun commands by hand.
    dir.disable_cleanup(std::env::var_os("CLNRM_BENCH_KEEP").is_some());
    let paths = generate(dir.path());
    let templates = paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tera"))
        .count();
    println!(
        "validate_1000: {} files in {} ({} plain, {} templates), {runs} runs",
        paths.len(),
        dir.path().display(),
        paths.len() - templates,
        templates
    );
    println!("binary: {}", binary.display());

    // Correctness first: every generated file must validate with no errors.
    if let Err(message) = check_clean(&binary, dir.path(), paths.len()) {
        eprintln!("validate_1000: FAILED: {message}");
        return ExitCode::FAILURE;
    }

    // The check above warmed the page cache and the binary; each command gets
    // its own series, both in this same run.
    let mut failure = None;
    let validate = sample(runs, || {
        let status = validate_command(&binary, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run cargo-clnrm");
        if !status.success() && failure.is_none() {
            failure = Some(status);
        }
    });
    if let Some(status) = failure {
        eprintln!("validate_1000: FAILED: a timed validate run exited with {status}");
        return ExitCode::FAILURE;
    }
    let cat = sample(runs, || {
        let status = Command::new("cat")
            .args(&paths)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run cat");
        assert!(status.success(), "cat failed: {status}");
    });

    let v = Summary::of(&validate);
    let c = Summary::of(&cat);
    println!();
    println!("{:<24} {:>10} {:>10} {:>10}", "", "median", "p95", "min");
    print_row("cargo-clnrm validate", &v);
    print_row("cat (baseline)", &c);
    let met = if v.median < TARGET { "met" } else { "NOT met" };
    println!(
        "target: validate median < {} ms: {met} ({:.1} ms)",
        TARGET.as_millis(),
        ms(v.median)
    );
    println!(
        "ratio validate/cat (medians): {:.1}x",
        v.median.as_secs_f64() / c.median.as_secs_f64().max(1e-9)
    );
    ExitCode::SUCCESS
}

fn print_row(label: &str, s: &Summary) {
    println!(
        "{label:<24} {:>7.1} ms {:>7.1} ms {:>7.1} ms",
        ms(s.median),
        ms(s.p95),
        ms(s.min)
    );
}

fn validate_command(binary: &Path, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["clnrm", "validate", "--color", "never"])
        .arg(dir)
        // No configuration file above the temp dir changes what is read.
        .current_dir(dir)
        .env_remove("CLNRM_STRICT")
        .env_remove("CLNRM_LOG");
    command
}

/// One validate run in JSON: exit 0, every file seen, no errors.
fn check_clean(binary: &Path, dir: &Path, expected_files: usize) -> Result<(), String> {
    let output = validate_command(binary, dir)
        .arg("--message-format")
        .arg("json")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let finished = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["reason"] == "validate-finished");
    let count = |key: &str| {
        finished
            .as_ref()
            .and_then(|f| f[key].as_u64())
            .unwrap_or(u64::MAX)
    };
    let (files, errors, warnings) = (count("files"), count("errors"), count("warnings"));
    let clean = output.status.success() && errors == 0 && files == expected_files as u64;
    if !clean {
        let shown: String = stdout.lines().take(20).fold(String::new(), |mut s, l| {
            let _ = writeln!(s, "  {l}");
            s
        });
        return Err(format!(
            "the generated files do not validate cleanly ({}, files {files}, errors {errors})\n\
             first diagnostics:\n{shown}stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    println!("check: {files} files validate with 0 errors, {warnings} warnings");
    Ok(())
}
