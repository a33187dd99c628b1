//! `cargo bench -p clnrm-benches --bench diff_scenarios`
//!
//! `cargo clnrm diff` of two scenario files of typical size: the example
//! `examples/hello/tests/clnrm/services.clnrm.toml` (a service with a health
//! check, a scenario of two steps, assertions) and an edited copy (a step's
//! command changed, a step added, the health check's retries changed, a
//! scenario added). Parsing excluded: both expectation trees built from the
//! parsed files and diffed, target < 5 ms; with parsing, for comparison.
//! In release, medians of `CLNRM_BENCH_RUNS` (default 500) runs.
//!
//! Fails (non-zero exit) only when a file does not parse or the diff is not
//! the edits made; timings are never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clnrm_benches::{Summary, env_count, sample, us};
use clnrm_core::scenario::{ScenarioFile, parse_scenario};
use clnrm_core::tree::{ExpectationTree, TreeDiff, diff};

const TARGET: Duration = Duration::from_millis(5);
const WIDTH: usize = 34;

fn edited(text: &str) -> String {
    text.replace("echo $MODE", "echo mode=$MODE")
        .replace("retries = 50", "retries = 20")
        .replace(
            "[assertions]",
            "[[scenario.steps]]\nname = \"again\"\ncommand = [\"wget\", \"-q\", \"-O\", \"-\", \"http://web:8080/\"]\n\n\
             [[scenario]]\nname = \"second\"\nrun = \"true\"\n\n[assertions]",
        )
}

fn parse(text: &str) -> Result<ScenarioFile, String> {
    let parsed = parse_scenario(text);
    match parsed.file {
        Some(file) if parsed.diagnostics.is_empty() => Ok(file),
        _ => Err(format!("does not parse cleanly: {:?}", parsed.diagnostics)),
    }
}

fn check(d: &TreeDiff) -> Result<(), String> {
    let ids = |list: &[clnrm_core::tree::NodeChange]| -> Vec<String> {
        list.iter().map(|c| c.id.to_string()).collect()
    };
    let added = [
        "scenario:fetch_by_host_name/step:again",
        "scenario:second",
        "scenario:second/step:second",
    ];
    let changed = [
        "service:web",
        "scenario:fetch_by_host_name/step:inside_the_service",
    ];
    if ids(&d.added) == added && ids(&d.changed) == changed && d.removed.is_empty() {
        return Ok(());
    }
    Err(format!("not the edits made:\n{d}"))
}

fn row_us(label: &str, s: &Summary) -> String {
    format!(
        "{label:<WIDTH$} {:>8.1} us {:>8.1} us {:>8.1} us",
        us(s.median),
        us(s.p95),
        us(s.min)
    )
}

fn main() -> ExitCode {
    let runs = env_count("CLNRM_BENCH_RUNS", 500);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/hello/tests/clnrm/services.clnrm.toml");
    let old_text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("diff_scenarios: FAILED: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let new_text = edited(&old_text);
    let (old, new) = match (parse(&old_text), parse(&new_text)) {
        (Ok(old), Ok(new)) => (old, new),
        (a, b) => {
            eprintln!("diff_scenarios: FAILED: {:?} / {:?}", a.err(), b.err());
            return ExitCode::FAILURE;
        }
    };
    let build_and_diff = |old: &ScenarioFile, new: &ScenarioFile| {
        diff(
            &ExpectationTree::from_file(old),
            &ExpectationTree::from_file(new),
        )
    };
    if let Err(e) = check(&build_and_diff(&old, &new)) {
        eprintln!("diff_scenarios: FAILED: {e}");
        return ExitCode::FAILURE;
    }
    let built = Summary::of(&sample(runs, || {
        black_box(build_and_diff(black_box(&old), black_box(&new)));
    }));
    let parsed = Summary::of(&sample(runs, || {
        let (a, b) = (
            parse_scenario(black_box(&old_text)),
            parse_scenario(black_box(&new_text)),
        );
        if let (Some(a), Some(b)) = (&a.file, &b.file) {
            black_box(build_and_diff(a, b));
        }
    }));
    println!(
        "diff_scenarios: services.clnrm.toml ({} bytes) and an edited copy ({} bytes), {runs} runs",
        old_text.len(),
        new_text.len()
    );
    println!();
    println!(
        "{:<WIDTH$} {:>11} {:>11} {:>11}",
        "", "median", "p95", "min"
    );
    println!("{}", row_us("build both trees + diff", &built));
    println!("{}", row_us("parse both + build + diff", &parsed));
    let verdict = if built.median < TARGET {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "target: build + diff median < 5 ms (parse excluded): {verdict} ({:.1} us, {:.4}x the target)",
        us(built.median),
        built.median.as_secs_f64() / TARGET.as_secs_f64()
    );
    ExitCode::SUCCESS
}
