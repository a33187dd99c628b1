//! `cargo bench -p clnrm-benches --bench parallel_8`
//!
//! Eight independent single-container scenarios through `cargo-clnrm clnrm run`
//! with `-j 4` against `-j 1`, median of N runs each, printing the speed-up and
//! the most containers seen running at once (sampled while `-j 4` runs).
//! Target: speed-up >= 1.5x on 2 cores, never more than 4 containers at once.
//!
//! Fails (non-zero exit) only when a run fails; timings are never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use clnrm_benches::{Summary, env_count, header, release_binary, time};

fn scenario(i: usize) -> String {
    format!(
        "[meta]\nname = \"s{i}\"\nimage = \"clnrm-busybox:latest\"\n\n[[steps]]\nname = \"work\"\ncommand = [\"sh\", \"-c\", \"sleep 0.3; echo {i}\"]\nexpected_output_regex = \"^{i}$\"\n"
    )
}

/// Containers of any clnrm run that exist right now.
fn running_containers() -> usize {
    Command::new("docker")
        .args(["ps", "-q", "--filter", "label=clnrm.run"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let runs = env_count("CLNRM_BENCH_RUNS", 5);
    let binary = match release_binary() {
        Ok(path) => path,
        Err(message) => {
            eprintln!("parallel_8: FAILED: {message}");
            return ExitCode::FAILURE;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..8 {
        std::fs::write(dir.path().join(format!("s{i}.clnrm.toml")), scenario(i)).expect("write");
    }
    let run = |jobs: &str| {
        Command::new(&binary)
            .args(["clnrm", "run", ".", "-j", jobs, "--max-containers", "4"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let (mut one, mut four) = (Vec::new(), Vec::new());
    let peak = Arc::new(AtomicUsize::new(0));
    for _ in 0..runs {
        let (ok, elapsed) = time(|| run("1"));
        if !ok {
            eprintln!("parallel_8: FAILED: a -j 1 run failed");
            return ExitCode::FAILURE;
        }
        one.push(elapsed);
        let watching = Arc::new(AtomicBool::new(true));
        let watcher = {
            let (watching, peak) = (Arc::clone(&watching), Arc::clone(&peak));
            std::thread::spawn(move || {
                while watching.load(Ordering::SeqCst) {
                    peak.fetch_max(running_containers(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let (ok, elapsed) = time(|| run("4"));
        watching.store(false, Ordering::SeqCst);
        let _ = watcher.join();
        if !ok {
            eprintln!("parallel_8: FAILED: a -j 4 run failed");
            return ExitCode::FAILURE;
        }
        four.push(elapsed);
    }
    let (one, four) = (Summary::of(&one), Summary::of(&four));
    let width = 24;
    println!("parallel_8: 8 single-container scenarios, {runs} runs each");
    println!("{}", header(width));
    println!("{}", one.row_ms("-j 1 (baseline)", width));
    println!("{}", four.row_ms("-j 4", width));
    let speedup = one.median.as_secs_f64() / four.median.as_secs_f64().max(f64::EPSILON);
    let peak = peak.load(Ordering::SeqCst);
    let verdict = if speedup >= 1.5 && peak <= 4 {
        "met"
    } else {
        "NOT met"
    };
    println!("peak containers at once (sampled every 20 ms): {peak} (cap 4)");
    println!("target: speed-up >= 1.5x within the cap: {verdict} ({speedup:.2}x)");
    ExitCode::SUCCESS
}
