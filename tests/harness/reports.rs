//! `[report]` files under the harness (written by a process that ran the
//! file's tests; not by nextest's one-test processes), and the JUnit of
//! reports against the schema.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{example_binaries, example_command, text, workspace};

/// A package with one scenario file that names its reports.
fn package(dir: &Path) {
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"reported\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    let scenarios = dir.join("tests/clnrm");
    std::fs::create_dir_all(&scenarios).expect("mkdir");
    std::fs::write(
        scenarios.join("r.clnrm.toml"),
        "[meta]\nname = \"r\"\nbackend = \"local\"\n\n[report]\njson = \"out/r.json\"\njunit = \"out/r.xml\"\ndigest = \"out/r.sha256\"\n\n\
         [[scenario]]\nname = \"passes\"\n[[scenario.steps]]\nname = \"ok\"\ncommand = [\"true\"]\n\n\
         [[scenario]]\nname = \"fails\"\n[[scenario.steps]]\nname = \"no\"\ncommand = [\"false\"]\n",
    )
    .expect("write");
}

/// The example's test binary, run as the harness of the package in `dir`.
fn harness_in(dir: &Path) -> Command {
    let mut command = example_command(&example_binaries());
    command.current_dir(dir).env("CARGO_MANIFEST_DIR", dir);
    command
}

#[test]
fn the_harness_writes_a_files_reports_when_it_ran_its_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path());
    let out_dir = dir.path().join("tests/clnrm/out");

    // Under nextest a process runs one test: it writes no report of it.
    let one = harness_in(dir.path())
        .args(["--exact", "r.clnrm.toml::passes", "--nocapture"])
        .env("NEXTEST", "1")
        .env("NEXTEST_EXECUTION_MODE", "process-per-test")
        .env("NEXTEST_TEST_NAME", "r.clnrm.toml::passes")
        .output()
        .expect("run the harness");
    assert!(one.status.success(), "{}", text(&one));
    assert!(!out_dir.exists(), "{}", text(&one));

    // Under cargo test one process runs them all, and writes the reports.
    let all = harness_in(dir.path()).output().expect("run the harness");
    assert_eq!(all.status.code(), Some(101), "{}", text(&all));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("r.json")).expect("r.json"))
            .expect("json");
    assert_eq!(json["summary"]["tests"], 2, "{json}");
    assert_eq!(json["summary"]["failed"], 1, "{json}");
    assert_eq!(json["tests"][0]["failures"][0]["kind"], "exit-code");
    clnrm_tests::assert_valid_junit(&out_dir.join("r.xml"));
    let digest = std::fs::read_to_string(out_dir.join("r.sha256")).expect("digest");
    assert_eq!(digest.len(), 65, "{digest:?}");
}

/// `cargo clnrm <args>` through cargo, in `dir`.
fn cargo_clnrm(dir: &Path, args: &[&str]) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "-q", "--manifest-path"])
        .arg(workspace().join("Cargo.toml"))
        .args(["-p", "cargo-clnrm", "--", "clnrm"])
        .args(args)
        .current_dir(dir)
        .env_remove("CLNRM_ROOTS")
        .output()
        .expect("run cargo clnrm")
}

#[test]
fn the_junit_of_run_report_dir_is_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path());
    std::fs::write(
        dir.path().join("tests/clnrm/ignored.clnrm.toml"),
        "[meta]\nname = \"i\"\nbackend = \"local\"\nignore = \"not today\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    )
    .expect("write");
    let out = cargo_clnrm(
        dir.path(),
        &["run", "tests/clnrm", "--report-dir", "reports"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let junit = dir.path().join("reports/junit.xml");
    let xml = std::fs::read_to_string(&junit).expect("junit.xml");
    assert_eq!(xml.matches("<testcase").count(), 3, "{xml}");
    clnrm_tests::assert_valid_junit(&junit);
}
