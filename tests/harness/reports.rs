//! `[report]` files under the harness (written by a process that ran the
//! file's tests; under nextest's one-test processes, by `cargo clnrm test`
//! from what they recorded), and the JUnit of reports against the schema.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{example_binaries, example_command, nextest_available, text, workspace};

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

/// `cargo clnrm test` of the hello example, its scenarios replaced by those
/// in `roots` (`CLNRM_ROOTS`, read by the harness and the driver alike).
fn clnrm_test_with_roots(roots: &Path, args: &[&str]) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "-q", "-p", "cargo-clnrm", "--", "clnrm", "test"])
        .args(["-p", "hello-clnrm"])
        .args(args)
        .current_dir(workspace())
        .env("CLNRM_ROOTS", roots)
        .output()
        .expect("run cargo clnrm test")
}

#[test]
fn clnrm_test_writes_the_reports_under_either_runner_with_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path());
    let scenarios = dir.path().join("tests/clnrm");
    // Normalised, so the two runners' reports can be compared byte for byte.
    let file = scenarios.join("r.clnrm.toml");
    let text_of = std::fs::read_to_string(&file).expect("read");
    std::fs::write(
        &file,
        text_of.replace("[report]", "[determinism]\nseed = 1\n\n[report]"),
    )
    .expect("write");
    let out_dir = scenarios.join("out");
    let mut reports = Vec::new();
    let runners: &[&[&str]] = if nextest_available() {
        &[&[], &["--no-nextest"]]
    } else {
        &[&["--no-nextest"]]
    };
    for runner in runners {
        let _ = std::fs::remove_dir_all(&out_dir);
        let out = clnrm_test_with_roots(&scenarios, runner);
        assert!(!out.status.success(), "one test fails: {}", text(&out));
        let json = std::fs::read_to_string(out_dir.join("r.json"))
            .unwrap_or_else(|e| panic!("r.json under {runner:?}: {e}\n{}", text(&out)));
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["summary"]["tests"], 2, "{value}");
        assert_eq!(value["summary"]["failed"], 1, "{value}");
        clnrm_tests::assert_valid_junit(&out_dir.join("r.xml"));
        let digest = std::fs::read_to_string(out_dir.join("r.sha256")).expect("digest");
        reports.push((json, digest));
    }
    // One report whichever runner ran the tests.
    if let [nextest, plain] = reports.as_slice() {
        assert_eq!(nextest, plain);
    }
}
