//! `cargo bench -p clnrm-benches --bench spans_overhead`
//!
//! What collecting spans adds to a scenario: the same one-step scenario (the
//! example program `traced checkout`, which exports 4 spans with the
//! OpenTelemetry Rust SDK over OTLP/HTTP) run twice over, in process through
//! `SuiteBuilder` and `run_suite`:
//!
//! - A, "collects spans": with span expectations (`[[expect.span]]` for
//!   `checkout` and `payment.charge` with their kinds, `[expect.counts]`), so
//!   clnrm starts its receiver, gives the step the `OTEL_*` variables, settles
//!   (waits until the receiver was idle 100 ms) and judges;
//! - B, "no span expectations": the same step, no expectations, so no
//!   receiver. Its step's `env` (`OTEL_EXPORTER_OTLP_ENDPOINT`, the protocol,
//!   and `OTEL_BSP_SCHEDULE_DELAY = "50"` as clnrm gives it) points the SDK at
//!   a sink the bench runs for its whole length
//!   (`clnrm_core::receiver::Receiver::start`, kept alive across runs: an
//!   OTLP/HTTP listener that answers 200 to `POST /v1/traces`). Without it the
//!   SDK's export would fail and retry for most of a second (0.8 s) before the
//!   program exits, and B would measure that, not the absence of collection:
//!   with the sink, the program does the same work in both (it exports its 4
//!   spans and is answered 200), and only clnrm's side differs. The sink's
//!   span count is checked after the runs (4 per B run).
//!
//! Target (from the issue): A takes at most 150 ms longer than B (medians).
//! Interleaved (alternating which goes first), one warm-up run of each, then
//! `CLNRM_BENCH_RUNS` (default 15) runs of each; a time is one `run_suite`
//! (the suite is built once). Printed besides: the step's own time (the
//! program, spawn to exit) and the time outside it, and the parts of the
//! overhead measured on their own (receiver start and stop; the settle wait
//! after the program has exited; `cargo metadata` for the spans folder, which
//! a scenario in a crate pays once per process and A, outside a crate, not).
//!
//! Then the same pair in the runner container (`debian:trixie-slim`, the
//! static `traced` mounted at its path through `RunSettings::binaries`),
//! unless the engine or the image is missing (said, not a failure) or
//! `CLNRM_BENCH_NO_CONTAINERS` is set. There B's runner has no network at all
//! (`network_mode = none`: a scenario without services or spans gets none), so
//! no sink is reachable and its SDK retries: the container pair is compared
//! outside the step (the scenario minus its step), which is what clnrm adds.
//!
//! Needs the static `traced` (`bash scripts/test-tools.sh`), or
//! `CLNRM_BENCH_TRACED`. Fails (non-zero exit) when a run does not pass (A's
//! expectations must hold) or B's exports did not reach the sink; timings are
//! never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clnrm_benches::{Summary, env_count, header, median, ms, sample, time, workspace};
use clnrm_core::binaries::Binaries;
use clnrm_core::config::Config;
use clnrm_core::executor::RunSettings;
use clnrm_core::outcome::Outcome;
use clnrm_core::receiver::Receiver;
use clnrm_core::runner::{Event, RunOptions, run_suite};
use clnrm_core::suite::{Suite, SuiteBuilder};

const TARGET: Duration = Duration::from_millis(150);
const IMAGE: &str = "debian:trixie-slim";
const WIDTH: usize = 40;
/// The settle parameters clnrm uses (`executor::spans`), for the part
/// measured on its own.
const SETTLE_IDLE: Duration = Duration::from_millis(100);
const SETTLE_CAP: Duration = Duration::from_secs(2);
/// Spans `traced checkout` exports.
const SPANS_PER_RUN: usize = 4;

const EXPECTATIONS: &str = r#"
[[expect.span]]
name = "checkout"
kind = "server"

[[expect.span]]
name = "payment.charge"
parent = "checkout"
kind = "client"

[expect.counts]
spans_total = { eq = 4 }
"#;

/// The scenario file: `meta` is the backend's line (`backend = "local"`, or
/// the runner image), `env` the step's own `env` line (or nothing).
fn scenario(meta: &str, traced: &Path, env: &str, expectations: &str) -> String {
    format!(
        r#"[meta]
name = "overhead"
{meta}

[[scenario]]
name = "checkout"

[[scenario.steps]]
name = "checkout"
command = [{traced:?}, "checkout"]
expected_output_regex = "order confirmed: 3 items"
{env}
{expectations}"#,
        traced = traced.display().to_string()
    )
}

/// The static `traced`: `CLNRM_BENCH_TRACED`, else where
/// `scripts/test-tools.sh` builds it (the repository's own `target/`,
/// whatever `CARGO_TARGET_DIR` says).
fn traced_binary() -> Result<PathBuf, String> {
    let path = match std::env::var_os("CLNRM_BENCH_TRACED") {
        Some(path) => PathBuf::from(path),
        None => {
            workspace()?.join("target/test-tools/traced/x86_64-unknown-linux-gnu/release/traced")
        }
    };
    // Canonical: it is mounted into the runner container at this path.
    match path.canonicalize() {
        Ok(path) if path.is_file() => Ok(path),
        _ => Err(format!(
            "{} is missing: run `bash scripts/test-tools.sh` (or set CLNRM_BENCH_TRACED)",
            path.display()
        )),
    }
}

/// One variant: its scenario file in a folder of its own, and its suite.
#[derive(Debug)]
struct Variant {
    label: &'static str,
    _dir: tempfile::TempDir,
    suite: Suite,
}

impl Variant {
    fn new(label: &'static str, toml: &str, binaries: &[PathBuf]) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        std::fs::write(dir.path().join("overhead.clnrm.toml"), toml)
            .map_err(|e| format!("cannot write the scenario: {e}"))?;
        let mut config = Config::default();
        config.roots = vec![dir.path().to_path_buf()];
        let mut settings = RunSettings::from_config(&config);
        settings.binaries = binaries.to_vec();
        let suite = SuiteBuilder::new(config)
            .settings(settings)
            .build()
            .map_err(|e| format!("{label}: {e}"))?;
        let problems: Vec<String> = (suite.reports.iter())
            .flat_map(|r| &r.diagnostics)
            .map(|d| d.message.clone())
            .collect();
        if suite.tests.len() != 1 || !problems.is_empty() {
            return Err(format!(
                "{label}: the scenario does not validate into one test ({} tests): {}",
                suite.tests.len(),
                problems.join("; ")
            ));
        }
        Ok(Self {
            label,
            _dir: dir,
            suite,
        })
    }

    /// One run: the whole `run_suite`, and the step's own duration; an error
    /// when the test does not pass.
    fn run(&self) -> Result<Run, String> {
        let mut outcome = None;
        let mut step = Duration::ZERO;
        let (_, total) = time(|| {
            run_suite(
                &self.suite,
                RunOptions::new(1, false),
                &mut |event| match event {
                    Event::StepFinished(finished) => step += finished.duration,
                    Event::TestFinished(test) => outcome = Some(test.outcome.clone()),
                    _ => {}
                },
            )
        });
        match outcome {
            Some(Outcome::Passed) => Ok(Run { total, step }),
            Some(other) => {
                let failures: Vec<&str> = (other.failures().iter())
                    .map(|f| f.message.as_str())
                    .collect();
                Err(format!(
                    "{}: the run did not pass: {}",
                    self.label,
                    if failures.is_empty() {
                        format!("{other:?}")
                    } else {
                        failures.join("; ")
                    }
                ))
            }
            None => Err(format!("{}: no test finished", self.label)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Run {
    total: Duration,
    step: Duration,
}

/// The runs of a pair, each list in run order.
#[derive(Debug, Default)]
struct Runs {
    a: Vec<Run>,
    b: Vec<Run>,
}

/// A warm-up run of each, then `runs` of each, alternating which goes first.
fn measure(a: &Variant, b: &Variant, runs: usize) -> Result<Runs, String> {
    a.run()?;
    b.run()?;
    let mut out = Runs::default();
    for i in 0..runs {
        if i % 2 == 0 {
            out.a.push(a.run()?);
            out.b.push(b.run()?);
        } else {
            out.b.push(b.run()?);
            out.a.push(a.run()?);
        }
    }
    Ok(out)
}

fn totals(runs: &[Run]) -> Vec<Duration> {
    runs.iter().map(|r| r.total).collect()
}

fn steps(runs: &[Run]) -> Vec<Duration> {
    runs.iter().map(|r| r.step).collect()
}

fn outside(runs: &[Run]) -> Vec<Duration> {
    runs.iter()
        .map(|r| r.total.saturating_sub(r.step))
        .collect()
}

/// `a - b` in milliseconds, signed.
fn diff_ms(a: Duration, b: Duration) -> f64 {
    ms(a) - ms(b)
}

fn verdict_line(what: &str, difference: f64) -> String {
    let verdict = if difference <= ms(TARGET) {
        "met"
    } else {
        "NOT met"
    };
    format!(
        "target: {what} <= {} ms: {verdict} ({difference:.1} ms, {:.2}x the target)",
        ms(TARGET),
        difference / ms(TARGET)
    )
}

/// The parts of A's overhead on the host, each measured on its own.
#[derive(Debug)]
struct Parts {
    /// `Receiver::start` on loopback, then dropping it.
    start_stop: Summary,
    /// `Receiver::settle` as clnrm calls it, once `traced` exported to the
    /// receiver and exited.
    settle: Summary,
    /// `cargo metadata` for the crate's target folder, where the spans are
    /// kept: asked once per process, when a scenario in a crate collects
    /// spans (none in A: outside a crate they go to the temporary folder).
    target_dir: Summary,
}

fn parts(traced: &Path, runs: usize) -> Result<Parts, String> {
    let start_stop = Summary::of(&sample(runs, || {
        drop(Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }));
    let mut settles = Vec::new();
    for _ in 0..runs {
        let receiver = Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .map_err(|e| format!("the receiver does not start: {e}"))?;
        let status = Command::new(traced)
            .arg("checkout")
            .env_clear()
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .env("OTEL_BSP_SCHEDULE_DELAY", "50")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run traced: {e}"))?;
        let ((), settle) = time(|| receiver.settle(SETTLE_IDLE, SETTLE_CAP));
        if !status.success() || receiver.spans().len() != SPANS_PER_RUN {
            return Err(format!(
                "traced against a receiver of its own: {status}, {} span(s)",
                receiver.spans().len()
            ));
        }
        settles.push(settle);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut target_dirs = Vec::new();
    for _ in 0..runs {
        // A new one each time: each asks cargo once.
        let binaries = Binaries::of_package(&manifest, "dev");
        let (found, elapsed) = time(|| binaries.target_dir().is_some());
        if !found {
            return Err("`cargo metadata` does not name the workspace's target folder".into());
        }
        target_dirs.push(elapsed);
    }
    Ok(Parts {
        start_stop,
        settle: Summary::of(&settles),
        target_dir: Summary::of(&target_dirs),
    })
}

fn print_pair(runs: &Runs, a: &str, b: &str) {
    let (ta, tb) = (Summary::of(&totals(&runs.a)), Summary::of(&totals(&runs.b)));
    let (sa, sb) = (Summary::of(&steps(&runs.a)), Summary::of(&steps(&runs.b)));
    let (oa, ob) = (
        Summary::of(&outside(&runs.a)),
        Summary::of(&outside(&runs.b)),
    );
    println!("{}", header(WIDTH));
    println!("{}", ta.row_ms(&format!("A {a}"), WIDTH));
    println!("{}", tb.row_ms(&format!("B {b}"), WIDTH));
    println!("{}", sa.row_ms("  A: the step (traced)", WIDTH));
    println!("{}", sb.row_ms("  B: the step (traced)", WIDTH));
    println!("{}", oa.row_ms("  A: outside the step", WIDTH));
    println!("{}", ob.row_ms("  B: outside the step", WIDTH));
    println!(
        "difference of medians A - B: {:.1} ms (the step {:+.1} ms, outside it {:+.1} ms)",
        diff_ms(ta.median, tb.median),
        diff_ms(sa.median, sb.median),
        diff_ms(oa.median, ob.median)
    );
}

fn engine_has_image() -> Result<(), String> {
    let inspect = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match inspect {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => Err(format!("the engine has no image {IMAGE}")),
        Err(e) => Err(format!("no docker CLI: {e}")),
    }
}

fn bench() -> Result<(), String> {
    let runs = env_count("CLNRM_BENCH_RUNS", 15);
    let traced = traced_binary()?;
    // The sink of B's exports, alive for the whole bench.
    let sink = Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .map_err(|e| format!("the sink does not start: {e}"))?;
    let to_sink = format!(
        "env = {{ OTEL_EXPORTER_OTLP_ENDPOINT = {:?}, OTEL_EXPORTER_OTLP_PROTOCOL = \"http/protobuf\", OTEL_BSP_SCHEDULE_DELAY = \"50\" }}",
        sink.endpoint()
    );
    let local = "backend = \"local\"";
    let a = Variant::new("A", &scenario(local, &traced, "", EXPECTATIONS), &[])?;
    let b = Variant::new("B", &scenario(local, &traced, &to_sink, ""), &[])?;
    let host = measure(&a, &b, runs)?;
    let exported = sink.spans().len();
    let expected = SPANS_PER_RUN * (runs + 1);
    if exported != expected {
        return Err(format!(
            "B's program exported {exported} span(s) to the sink, not {expected} ({SPANS_PER_RUN} per run): its exports did not all go through"
        ));
    }
    let parts = parts(&traced, runs)?;

    println!(
        "spans_overhead: one step `traced checkout` (4 spans over OTLP/HTTP), {runs} runs each"
    );
    println!();
    println!("on the host (backend = \"local\"):");
    print_pair(&host, "collects spans", "no span expectations");
    let (ta, tb) = (median(&totals(&host.a)), median(&totals(&host.b)));
    println!(
        "{}",
        verdict_line(
            "collects spans - no span expectations (medians)",
            diff_ms(ta, tb)
        )
    );
    println!("parts of A's overhead, each on its own:");
    println!(
        "{}",
        parts.start_stop.row_ms("  receiver start + stop", WIDTH)
    );
    println!(
        "{}",
        parts
            .settle
            .row_ms("  settle after the program exited", WIDTH)
    );
    println!(
        "{}   (not in A: in a crate, once per process)",
        parts
            .target_dir
            .row_ms("  cargo metadata (spans folder)", WIDTH)
    );
    println!();
    if std::env::var_os("CLNRM_BENCH_NO_CONTAINERS").is_some() {
        println!("in the runner container: skipped (CLNRM_BENCH_NO_CONTAINERS)");
        return Ok(());
    }
    if let Err(reason) = engine_has_image() {
        println!("in the runner container: skipped ({reason})");
        return Ok(());
    }
    let image = format!("image = {IMAGE:?}");
    let binaries = [traced.clone()];
    let a = Variant::new(
        "A in the runner container",
        &scenario(&image, &traced, "", EXPECTATIONS),
        &binaries,
    )?;
    let b = Variant::new(
        "B in the runner container",
        &scenario(&image, &traced, "", ""),
        &binaries,
    )?;
    let container = measure(&a, &b, runs)?;
    println!("in the runner container ({IMAGE}; B's SDK has no route to a sink and retries):");
    print_pair(&container, "collects spans", "no span expectations");
    let (oa, ob) = (
        median(&outside(&container.a)),
        median(&outside(&container.b)),
    );
    println!(
        "{}",
        verdict_line("outside the step, A - B (medians)", diff_ms(oa, ob))
    );
    Ok(())
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("spans_overhead: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}
