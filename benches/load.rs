//! `cargo bench -p clnrm-benches --bench load`
//!
//! Load on the real engine, with the release CLI (`release_binary`):
//!
//! 1. **The curve**: 25, 50, 100 and 200 container scenarios
//!    (`CLNRM_BENCH_LOAD_COUNTS`), one run each with `-j 8` under a cap of 4
//!    (`--max-containers 4`, slots of its own). Every tenth scenario fails on
//!    purpose; the verdicts are checked one by one. The engine is sampled
//!    every 20 ms for the run's containers: the peak must stay within the
//!    cap. Prints the time per scenario for each count: it should stay flat.
//! 2. **Processes sharing the cap**: 10 `cargo clnrm run` at once, 20
//!    scenarios each, one slot folder and a cap of 4 for all: the peak of
//!    their containers together within the cap, every verdict right.
//! 3. **1,000 local scenarios under nextest**: a harness crate built and run
//!    with `cargo nextest run` (when installed): all pass.
//!
//! After each part nothing of the runs may be left (containers, networks,
//! scenario folders). Fails (non-zero exit) when a verdict, the cap or a
//! leftover is wrong; timings are printed, never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clnrm_benches::{env_count, ms, release_binary, throwaway};

const IMAGE: &str = "clnrm-busybox:latest";
const CAP: usize = 4;
const JOBS: usize = 8;

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("load: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<(), String> {
    let binary = release_binary()?;
    let counts: Vec<usize> = std::env::var("CLNRM_BENCH_LOAD_COUNTS")
        .unwrap_or_else(|_| "25,50,100,200".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    println!("load: container scenarios with -j {JOBS} under a cap of {CAP} ({IMAGE})");
    println!(
        "{:>6} {:>10} {:>14} {:>6}",
        "count", "total", "per scenario", "peak"
    );
    for count in counts {
        curve_point(&binary, count)?;
    }
    shared_cap(&binary, env_count("CLNRM_BENCH_PROCESSES", 10), 20)?;
    nextest_local(env_count("CLNRM_BENCH_LOCAL", 1000))?;
    Ok(())
}

/// Scenario `i`: passes, except every tenth, which fails on purpose.
fn scenario(i: usize) -> (String, bool) {
    let fails = i % 10 == 9;
    let command = if fails { "false" } else { "true" };
    let text = format!(
        "[meta]\nname = \"s{i:04}\"\nimage = \"{IMAGE}\"\n\n[[steps]]\nname = \"step\"\ncommand = [\"{command}\"]\n"
    );
    (text, !fails)
}

/// Writes `count` scenarios in `dir`; returns how many should pass.
fn write_scenarios(dir: &Path, count: usize) -> Result<usize, String> {
    let mut passing = 0;
    for i in 0..count {
        let (text, passes) = scenario(i);
        passing += usize::from(passes);
        std::fs::write(dir.join(format!("s{i:04}.clnrm.toml")), text).map_err(|e| e.to_string())?;
    }
    Ok(passing)
}

fn run_command(binary: &Path, dir: &Path, slots: &Path) -> Command {
    let mut command = Command::new(binary);
    (command.args(["clnrm", "run", ".", "-j", &JOBS.to_string()]))
        .args(["--max-containers", &CAP.to_string()])
        .current_dir(dir)
        .env("CLNRM_SLOT_DIR", slots)
        .env_remove("CLNRM_ROOTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Samples, every 20 ms until stopped, how many containers the processes
/// in `pids` have on the engine; keeps the peak.
struct Sampler {
    peak: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pids: HashSet<u32>) -> Self {
        let (peak, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (seen, stopped) = (Arc::clone(&peak), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let now = running_of(&pids);
                seen.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::SeqCst)
    }
}

/// Containers (any state) of the processes in `pids`, by their label.
fn running_of(pids: &HashSet<u32>) -> usize {
    labelled_of(&["ps", "-a"], pids)
}

/// Networks of the processes in `pids`.
fn networks_of(pids: &HashSet<u32>) -> usize {
    labelled_of(&["network", "ls"], pids)
}

/// What `docker LIST` shows of the processes in `pids`, by their label.
fn labelled_of(list: &[&str], pids: &HashSet<u32>) -> usize {
    let out = Command::new("docker")
        .args(list)
        .args([
            "--filter",
            "label=clnrm.pid",
            "--format",
            "{{.Label \"clnrm.pid\"}}",
        ])
        .output();
    let Ok(out) = out else { return 0 };
    (String::from_utf8_lossy(&out.stdout).lines())
        .filter_map(|pid| pid.trim().parse::<u32>().ok())
        .filter(|pid| pids.contains(pid))
        .count()
}

/// Checks a finished run's output: each scenario's verdict, the closing line.
fn check_verdicts(stdout: &str, count: usize, passing: usize) -> Result<(), String> {
    for i in 0..count {
        let (_, passes) = scenario(i);
        let word = if passes { "PASS" } else { "FAIL" };
        let name = format!("s{i:04}.clnrm.toml::s{i:04}");
        let line = stdout
            .lines()
            .find(|l| l.contains(&name) && (l.contains("PASS") || l.contains("FAIL")));
        match line {
            Some(line) if line.contains(word) => {}
            other => return Err(format!("{name}: expected {word}, got {other:?}")),
        }
    }
    let closing = format!("{passing} passed, {} failed", count - passing);
    if !stdout.contains(&closing) {
        return Err(format!("expected `{closing}` in:\n{stdout}"));
    }
    Ok(())
}

fn nothing_left(pids: &HashSet<u32>) -> Result<(), String> {
    let left = (running_of(pids), networks_of(pids));
    if left != (0, 0) {
        return Err(format!(
            "left behind: {} container(s), {} network(s)",
            left.0, left.1
        ));
    }
    Ok(())
}

fn finish(child: Child) -> Result<String, String> {
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    // 1: some scenarios fail, on purpose.
    if out.status.code() != Some(1) {
        return Err(format!(
            "the run exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn curve_point(binary: &Path, count: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let slots = tempfile::tempdir().map_err(|e| e.to_string())?;
    let passing = write_scenarios(dir.path(), count)?;
    let started = Instant::now();
    let child = run_command(binary, dir.path(), slots.path())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pids = HashSet::from([child.id()]);
    let sampler = Sampler::start(pids.clone());
    let stdout = finish(child);
    let elapsed = started.elapsed();
    let peak = sampler.finish();
    check_verdicts(&stdout?, count, passing)?;
    nothing_left(&pids)?;
    if peak > CAP {
        return Err(format!("{peak} containers at once, over the cap of {CAP}"));
    }
    println!(
        "{count:>6} {:>8.0} ms {:>11.1} ms {peak:>6}",
        ms(elapsed),
        ms(elapsed) / count as f64
    );
    Ok(())
}

fn shared_cap(binary: &Path, processes: usize, each: usize) -> Result<(), String> {
    let slots = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut dirs = Vec::new();
    for _ in 0..processes {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        write_scenarios(dir.path(), each)?;
        dirs.push(dir);
    }
    let passing = (0..each).filter(|&i| scenario(i).1).count();
    let started = Instant::now();
    let children: Vec<Child> = (dirs.iter())
        .map(|dir| run_command(binary, dir.path(), slots.path()).spawn())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let pids: HashSet<u32> = children.iter().map(Child::id).collect();
    let sampler = Sampler::start(pids.clone());
    let outputs: Vec<Result<String, String>> = children.into_iter().map(finish).collect();
    let elapsed = started.elapsed();
    let peak = sampler.finish();
    for stdout in outputs {
        check_verdicts(&stdout?, each, passing)?;
    }
    nothing_left(&pids)?;
    if peak > CAP {
        return Err(format!(
            "{peak} containers at once across {processes} processes, over the cap of {CAP}"
        ));
    }
    println!(
        "{processes} processes x {each} scenarios sharing the cap: {:.0} ms ({:.1} ms per scenario), peak {peak} of {CAP}; every verdict right, nothing left",
        ms(elapsed),
        ms(elapsed) / (processes * each) as f64
    );
    Ok(())
}

/// Scenario folders (`clnrm-*` in the temporary folder) that exist now.
fn scenario_folders() -> HashSet<String> {
    std::fs::read_dir(std::env::temp_dir()).map_or_else(
        |_| HashSet::new(),
        |entries| {
            (entries.filter_map(Result::ok))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("clnrm-") && name.len() == "clnrm-".len() + 6)
                .collect()
        },
    )
}

fn nextest_local(count: usize) -> Result<(), String> {
    let installed = Command::new("cargo")
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        println!("{count} local scenarios under nextest: skipped, cargo-nextest is not installed");
        return Ok(());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let crate_dir = throwaway::harness_crate(dir.path(), count);
    let binary = throwaway::build_test_binary(&crate_dir)?;
    let before = scenario_folders();
    let started = Instant::now();
    let out = Command::new("cargo")
        .args(["nextest", "run", "--no-fail-fast", "--cargo-quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", throwaway::target_dir())
        .output()
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    binary.remove_artifacts();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = format!("{count} tests run: {count} passed");
    if !out.status.success() || !text.contains(&summary) {
        return Err(format!("nextest: expected `{summary}`:\n{text}"));
    }
    let left: Vec<String> = scenario_folders().difference(&before).cloned().collect();
    if !left.is_empty() {
        return Err(format!("scenario folders left behind: {left:?}"));
    }
    println!(
        "{count} local scenarios under nextest: {:.0} ms ({:.2} ms per test, the build excluded); all passed, nothing left",
        ms(elapsed),
        ms(elapsed) / count as f64
    );
    Ok(())
}
