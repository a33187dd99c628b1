//! `cargo bench -p clnrm-benches --bench container_3step`
//!
//! A 3-step scenario (three `echo` steps in the runner container, no services)
//! through `cargo-clnrm clnrm run`, against the same work done with the docker
//! CLI (`docker run -d` + three `docker exec` + `docker rm -f`), interleaved,
//! median of N runs each. Target: at most 1.0x the CLI.
//!
//! Fails (non-zero exit) only when a run fails; timings are never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::{Command, ExitCode, Stdio};

use clnrm_benches::{Summary, env_count, header, release_binary, time};

const IMAGE: &str = "clnrm-busybox:latest";

const SCENARIO: &str = r#"[meta]
name = "three_echos"
image = "clnrm-busybox:latest"

[[steps]]
name = "one"
command = ["echo", "one"]
expected_output_regex = "^one$"

[[steps]]
name = "two"
command = ["echo", "two"]
expected_output_regex = "^two$"

[[steps]]
name = "three"
command = ["echo", "three"]
expected_output_regex = "^three$"
"#;

fn docker(args: &[&str]) -> bool {
    Command::new("docker")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The same work with the docker CLI, as a script would do it.
fn cli_run() -> bool {
    let out = Command::new("docker")
        .args([
            "run",
            "-d",
            "--network",
            "none",
            "--init",
            "--entrypoint",
            "sleep",
            IMAGE,
            "2147483647",
        ])
        .output();
    let Ok(out) = out else { return false };
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let ok = !id.is_empty()
        && ["one", "two", "three"]
            .iter()
            .all(|word| docker(&["exec", &id, "echo", word]));
    docker(&["rm", "-f", &id]) && ok
}

fn main() -> ExitCode {
    let runs = env_count("CLNRM_BENCH_RUNS", 10);
    if !docker(&["image", "inspect", IMAGE]) {
        eprintln!(
            "container_3step: FAILED: {IMAGE} is missing; run `bash scripts/fixture-images.sh`"
        );
        return ExitCode::FAILURE;
    }
    let binary = match release_binary() {
        Ok(path) => path,
        Err(message) => {
            eprintln!("container_3step: FAILED: {message}");
            return ExitCode::FAILURE;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("three.clnrm.toml"), SCENARIO).expect("write scenario");
    let clnrm_run = || {
        Command::new(&binary)
            .args(["clnrm", "run", "."])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !clnrm_run() || !cli_run() {
        eprintln!("container_3step: FAILED: a warm-up run failed");
        return ExitCode::FAILURE;
    }
    let (mut ours, mut cli) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // Alternate which goes first, so a busy moment weighs on both.
        let order: [bool; 2] = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for clnrm_first in order {
            let (ok, elapsed) = if clnrm_first {
                time(clnrm_run)
            } else {
                time(cli_run)
            };
            if !ok {
                eprintln!("container_3step: FAILED: a timed run failed");
                return ExitCode::FAILURE;
            }
            if clnrm_first {
                ours.push(elapsed)
            } else {
                cli.push(elapsed)
            }
        }
    }
    let (ours, cli) = (Summary::of(&ours), Summary::of(&cli));
    let width = 28;
    println!("container_3step: 3 echo steps in one runner container, {runs} runs each");
    println!("{}", header(width));
    println!("{}", ours.row_ms("cargo-clnrm run", width));
    println!("{}", cli.row_ms("docker CLI (baseline)", width));
    let ratio = ours.median.as_secs_f64() / cli.median.as_secs_f64().max(f64::EPSILON);
    let verdict = if ratio <= 1.0 { "met" } else { "NOT met" };
    println!("target: clnrm/CLI (medians) <= 1.0: {verdict} ({ratio:.2}x)");
    ExitCode::SUCCESS
}
