//! `cargo clnrm init` and `cargo clnrm test` around the harness, through cargo.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{cargo, text, workspace};

/// `cargo clnrm <args>` through cargo, in `dir`.
fn cargo_clnrm(dir: &Path, args: &[&str]) -> Output {
    let manifest = workspace().join("Cargo.toml");
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "-q", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "cargo-clnrm", "--", "clnrm"])
        .args(args)
        .current_dir(dir)
        .env_remove("CLNRM_JUNIT")
        .output()
        .expect("run cargo clnrm")
}

#[test]
fn init_sets_up_a_crate_where_cargo_test_then_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("demo");
    let created = cargo(&["new", "-q", "--vcs", "none", krate.to_str().expect("utf-8")]);
    assert!(created.status.success(), "{}", text(&created));
    let harness = workspace().join("crates/clnrm-harness");
    let init = cargo_clnrm(
        &krate,
        &["init", "--harness-path", harness.to_str().expect("utf-8")],
    );
    assert!(init.status.success(), "{}", text(&init));
    let said = text(&init);
    assert!(
        said.contains("created ./tests/clnrm.rs")
            && said.contains("created ./tests/clnrm/first.clnrm.toml"),
        "{said}"
    );
    // Share the workspace's build: same lockfile and dependency profile.
    std::fs::copy(workspace().join("Cargo.lock"), krate.join("Cargo.lock")).expect("lockfile");
    std::fs::create_dir_all(krate.join(".cargo")).expect("mkdir");
    std::fs::write(
        krate.join(".cargo/config.toml"),
        "[profile.dev.package.\"*\"]\ndebug = false\n",
    )
    .expect("config");
    let target = workspace().join("target");
    let tested = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "-q"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo test");
    assert!(tested.status.success(), "{}", text(&tested));
    assert!(
        text(&tested).contains("test first.clnrm.toml::echo ... ok"),
        "{}",
        text(&tested)
    );
    // A second run changes nothing and overwrites nothing.
    std::fs::write(krate.join("tests/clnrm/first.clnrm.toml"), "# mine\n").expect("edit");
    let again = cargo_clnrm(&krate, &["init"]);
    assert!(
        text(&again).contains("kept ./Cargo.toml (already set up)"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(krate.join("tests/clnrm/first.clnrm.toml")).expect("read"),
        "# mine\n"
    );
}

#[test]
fn clnrm_test_runs_the_harness_targets_with_junit_and_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nextest_report = dir.path().join("nextest.xml");
    let out = cargo_clnrm(
        &workspace(),
        &["test", "--junit", nextest_report.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let xml = std::fs::read_to_string(&nextest_report).expect("report");
    assert_eq!(xml.matches("<testcase").count(), 5, "{xml}");
    assert_eq!(
        xml.matches(" line=\"").count(),
        5,
        "every testcase has its line: {xml}"
    );
    assert!(
        xml.contains("file=\"") && xml.contains("steps.clnrm.toml\""),
        "{xml}"
    );

    let plain_report = dir.path().join("plain.xml");
    let out = cargo_clnrm(
        &workspace(),
        &[
            "test",
            "--no-nextest",
            "--tag",
            "smoke",
            "--junit",
            plain_report.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let xml = std::fs::read_to_string(&plain_report).expect("report");
    assert_eq!(
        xml.matches("<testcase").count(),
        1,
        "only the smoke-tagged scenario: {xml}"
    );

    let none = cargo_clnrm(&workspace(), &["test", "-p", "clnrm-failing-fixtures"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none).contains("cargo clnrm init"), "{}", text(&none));
}
