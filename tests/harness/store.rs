//! The result store under the harness: every test it runs is kept, as
//! nextest's one-test processes do too, so a later `cargo clnrm run
//! --changed` skips what passed; the harness itself never skips.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{example_binaries, example_command, text, workspace};

/// A package whose one scenario counts its runs in `runs.txt`.
fn package(dir: &Path) {
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"stored\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    let scenarios = dir.join("tests/clnrm");
    std::fs::create_dir_all(&scenarios).expect("mkdir");
    let counter = dir.join("runs.txt");
    std::fs::write(
        scenarios.join("s.clnrm.toml"),
        format!(
            // The counter is named in `env`: a file the command itself names
            // is an input (its content changes with every run).
            "[meta]\nname = \"s\"\nbackend = \"local\"\n\n[[steps]]\nname = \"count\"\ncommand = [\"sh\", \"-c\", \"echo run >> $COUNTER\"]\nenv = {{ COUNTER = \"{}\" }}\n",
            counter.display()
        ),
    )
    .expect("write");
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs.txt"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// The package is a crate of its own: both keep the store in its `target/`.
fn harness(dir: &Path, nextest: bool) -> Output {
    let mut command = example_command(&example_binaries());
    command
        .current_dir(dir)
        .env("CARGO_MANIFEST_DIR", dir)
        .env_remove("CARGO_TARGET_DIR");
    if nextest {
        command
            .args(["--exact", "s.clnrm.toml::s"])
            .env("NEXTEST", "1")
            .env("NEXTEST_EXECUTION_MODE", "process-per-test")
            .env("NEXTEST_TEST_NAME", "s.clnrm.toml::s");
    }
    command.output().expect("run the harness")
}

/// Through cargo, in `dir`; cargo's own target dir is the workspace's.
fn run_changed(dir: &Path) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "-q", "--manifest-path"])
        .arg(workspace().join("Cargo.toml"))
        .args([
            "-p",
            "cargo-clnrm",
            "--",
            "clnrm",
            "run",
            "tests/clnrm",
            "--changed",
        ])
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CLNRM_ROOTS")
        .output()
        .expect("run cargo clnrm")
}

#[test]
fn the_harness_fills_the_store_and_never_skips_by_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path());
    // Under nextest (one process for the test) and under cargo test, the
    // test runs each time, the store or not.
    for nextest in [true, false, false] {
        let out = harness(dir.path(), nextest);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(runs(dir.path()), 3);
    // `run --changed` skips it on what the harness kept.
    let out = run_changed(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 passed, 0 failed, 1 skipped"),
        "{}",
        text(&out)
    );
    assert_eq!(runs(dir.path()), 3, "skipped, not run");
    assert!(dir.path().join("target/clnrm/results").is_dir());
}

#[test]
fn runs_that_only_write_leave_a_bounded_store() {
    // `cargo test` and nextest never read the store; their logs are folded
    // into the snapshot as later runs open theirs, not left to pile up.
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path());
    let runs_made = 40;
    for n in 0..runs_made {
        let out = harness(dir.path(), n % 2 == 0);
        assert!(out.status.success(), "{}", text(&out));
    }
    let store = dir.path().join("target/clnrm/results");
    let names: Vec<String> = (std::fs::read_dir(&store).expect("the store").flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let logs = names.iter().filter(|n| n.starts_with("log-")).count();
    assert!(
        logs <= 17 && names.iter().any(|n| n == "snapshot.jsonl"),
        "{runs_made} runs left {logs} logs: {names:?}"
    );
    // What they kept is all there: `run --changed` skips the test.
    let out = run_changed(dir.path());
    assert!(
        text(&out).contains("0 passed, 0 failed, 1 skipped"),
        "{}",
        text(&out)
    );
}
