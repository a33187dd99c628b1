//! `cargo bench -p clnrm-benches --bench run_changed`
//!
//! `cargo clnrm run --changed` over N unchanged container scenarios (default
//! 500, `CLNRM_BENCH_SCENARIOS`), against running them: one full
//! `cargo clnrm run DIR` (its results fill the store), then M runs of
//! `run DIR --changed` (`CLNRM_BENCH_RUNS`, default 5), each checked to skip
//! every scenario. Also `validate DIR`, the floor of reading the files.
//! Targets: `--changed` under 10% of the full run, and under 300 ms.
//!
//! The release binary (`release_binary`), with a store of its own
//! (`CARGO_TARGET_DIR` of a temporary folder). Fails (non-zero exit) only
//! when a run does not do what it should; timings are never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::{Command, ExitCode, Output};
use std::time::Duration;

use clnrm_benches::{Summary, env_count, header, ms, release_binary, time};

const IMAGE: &str = "clnrm-busybox:latest";
const WIDTH: usize = 26;

fn scenario(i: usize) -> String {
    format!(
        "[meta]\nname = \"s{i:04}\"\nimage = \"{IMAGE}\"\n\n[[steps]]\nname = \"ok\"\ncommand = [\"true\"]\n"
    )
}

fn clnrm(
    binary: &Path,
    dir: &Path,
    target: &Path,
    args: &[&str],
) -> Result<(Output, Duration), String> {
    let (out, elapsed) = time(|| {
        Command::new(binary)
            .arg("clnrm")
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target)
            .env_remove("CLNRM_ROOTS")
            .output()
    });
    let out = out.map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`clnrm {}` exited {:?}: {}{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((out, elapsed))
}

fn closing_line(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().last().unwrap_or_default().to_string()
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("run_changed: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<(), String> {
    let scenarios = env_count("CLNRM_BENCH_SCENARIOS", 500);
    let runs = env_count("CLNRM_BENCH_RUNS", 5);
    let jobs = env_count("CLNRM_BENCH_JOBS", 2);
    let binary = release_binary()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = tempfile::tempdir().map_err(|e| e.to_string())?;
    for i in 0..scenarios {
        std::fs::write(dir.path().join(format!("s{i:04}.clnrm.toml")), scenario(i))
            .map_err(|e| e.to_string())?;
    }
    println!(
        "run_changed: {scenarios} container scenarios ({IMAGE}, one step), -j {jobs}, {runs} runs of --changed"
    );

    let jobs_text = jobs.to_string();
    let (full_out, full) = clnrm(
        &binary,
        dir.path(),
        target.path(),
        &["run", ".", "-j", &jobs_text],
    )?;
    let expected_full = format!("{scenarios} passed, 0 failed");
    if closing_line(&full_out) != expected_full {
        return Err(format!("the full run said `{}`", closing_line(&full_out)));
    }
    let expected = format!("0 passed, 0 failed, {scenarios} skipped");
    let mut changed = Vec::with_capacity(runs);
    let mut validate = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (out, elapsed) = clnrm(
            &binary,
            dir.path(),
            target.path(),
            &["run", ".", "--changed"],
        )?;
        if closing_line(&out) != expected {
            return Err(format!(
                "--changed said `{}`, not `{expected}`",
                closing_line(&out)
            ));
        }
        changed.push(elapsed);
        validate.push(clnrm(&binary, dir.path(), target.path(), &["validate", "."])?.1);
    }
    let c = Summary::of(&changed);
    let v = Summary::of(&validate);
    println!();
    println!("{}", header(WIDTH));
    println!(
        "{}",
        Summary::of(&[full]).row_ms("run (all run, once)", WIDTH)
    );
    println!("{}", c.row_ms("run --changed (all skip)", WIDTH));
    println!("{}", v.row_ms("validate (reading floor)", WIDTH));
    let ratio = c.median.as_secs_f64() / full.as_secs_f64().max(1e-9);
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "target: --changed / full run < 10%: {} ({:.2}%)",
        verdict(ratio < 0.10),
        ratio * 100.0
    );
    println!(
        "target: --changed under 300 ms: {} ({:.1} ms median)",
        verdict(c.median < Duration::from_millis(300)),
        ms(c.median)
    );
    Ok(())
}
