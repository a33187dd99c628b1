//! `cargo clnrm init` and `cargo clnrm test` around the harness, through cargo.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{cargo, nextest_available, text, workspace};

/// `cargo clnrm <args>` through cargo, in `dir`, with the workspace's build
/// directory (which `cargo_test` builds throwaway crates in too).
fn cargo_clnrm(dir: &Path, args: &[&str]) -> Output {
    let manifest = workspace().join("Cargo.toml");
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "-q", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "cargo-clnrm", "--", "clnrm"])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", workspace().join("target"))
        .env_remove("CLNRM_JUNIT")
        .output()
        .expect("run cargo clnrm")
}

/// `cargo test` in `krate` with the workspace's build directory.
fn cargo_test(krate: &Path, args: &[&str]) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "-q"])
        .args(args)
        .current_dir(krate)
        .env("CARGO_TARGET_DIR", workspace().join("target"))
        .env_remove("CLNRM_JUNIT")
        .output()
        .expect("cargo test")
}

/// Whether libtest's output has `test NAME ... RESULT` (names are padded).
fn reported(out: &Output, name: &str, result: &str) -> bool {
    text(out).lines().any(|line| {
        line.strip_prefix("test ")
            .and_then(|rest| rest.split_once(" ..."))
            .is_some_and(|(n, r)| n.trim() == name && r.trim() == result)
    })
}

#[test]
fn init_sets_up_a_crate_where_cargo_test_then_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("demo");
    let created = cargo(&["new", "-q", "--vcs", "none", krate.to_str().expect("utf-8")]);
    assert!(created.status.success(), "{}", text(&created));
    // No --harness-path: cargo-clnrm knows the checkout it was built from.
    let init = cargo_clnrm(&krate, &["init"]);
    assert!(init.status.success(), "{}", text(&init));
    let said = text(&init);
    let harness = workspace().join("clnrm-harness");
    assert!(
        said.contains(&format!(
            "added the dev-dependency clnrm-harness at {} (from the checkout this cargo-clnrm was built from)",
            harness.display()
        )),
        "{said}"
    );
    for file in [
        "tests/clnrm.rs",
        "tests/clnrm/first.clnrm.toml",
        "tests/clnrm/container.clnrm.toml",
        "tests/clnrm/binary.clnrm.toml",
    ] {
        assert!(
            said.contains(&format!("created ./{file}")),
            "{file}: {said}"
        );
    }
    // Share the workspace's build: same lockfile and dependency profile.
    std::fs::copy(workspace().join("Cargo.lock"), krate.join("Cargo.lock")).expect("lockfile");
    std::fs::create_dir_all(krate.join(".cargo")).expect("mkdir");
    std::fs::write(
        krate.join(".cargo/config.toml"),
        "[profile.dev.package.\"*\"]\ndebug = false\n",
    )
    .expect("config");
    // Green anywhere: the container examples are ignored by default ...
    let tested = cargo_test(&krate, &[]);
    assert!(tested.status.success(), "{}", text(&tested));
    assert!(
        reported(&tested, "first.clnrm.toml::echo", "ok"),
        "{}",
        text(&tested)
    );
    assert!(
        reported(&tested, "container.clnrm.toml::fetch", "ignored"),
        "{}",
        text(&tested)
    );
    assert!(
        reported(&tested, "binary.clnrm.toml::runs", "ignored"),
        "{}",
        text(&tested)
    );
    // ... and green with an engine, as their comments say: a service with a
    // health check and a page, and the crate's own binary in the default runner.
    let containers = cargo_test(&krate, &["--", "--ignored"]);
    assert!(containers.status.success(), "{}", text(&containers));
    assert!(
        reported(&containers, "container.clnrm.toml::fetch", "ok"),
        "{}",
        text(&containers)
    );
    assert!(
        reported(&containers, "binary.clnrm.toml::runs", "ok"),
        "{}",
        text(&containers)
    );
    // `cargo clnrm run` names the same binary as the harness did.
    let cli = cargo_clnrm(
        &krate,
        &["run", "--include-ignored", "tests/clnrm/binary.clnrm.toml"],
    );
    assert!(cli.status.success(), "{}", text(&cli));

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
    // --harness-path on a set-up crate points the dependency there.
    let elsewhere = dir.path().join("clnrm-harness");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    std::fs::write(
        elsewhere.join("Cargo.toml"),
        "[package]\nname = \"clnrm-harness\"\n",
    )
    .expect("write");
    let moved = cargo_clnrm(
        &krate,
        &["init", "--harness-path", elsewhere.to_str().expect("utf-8")],
    );
    assert!(moved.status.success(), "{}", text(&moved));
    assert!(
        text(&moved).contains(&format!(
            "pointed the dev-dependency clnrm-harness at {}",
            elsewhere.display()
        )),
        "{}",
        text(&moved)
    );
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).expect("read");
    assert!(
        manifest.contains(&format!(
            "clnrm-harness = {{ path = \"{}\" }}",
            elsewhere.display()
        )),
        "{manifest}"
    );
    // A folder without a crate is refused, and nothing changes.
    let refused = cargo_clnrm(&krate, &["init", "--harness-path", "/nonexistent/clnrm"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("has no Cargo.toml"),
        "{}",
        text(&refused)
    );
}

/// An inherited dependency cannot be repointed from the member: init says where.
#[test]
fn init_says_why_it_does_not_repoint_a_workspace_dependency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("member");
    std::fs::create_dir_all(krate.join("src")).expect("mkdir");
    std::fs::write(krate.join("src/lib.rs"), "").expect("write");
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"member\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[test]]\nname = \"clnrm\"\nharness = false\n\n[dev-dependencies]\nclnrm-harness.workspace = true\n",
    )
    .expect("write");
    let harness = workspace().join("clnrm-harness");
    let out = cargo_clnrm(
        &krate,
        &["init", "--harness-path", harness.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("inherited from the workspace (`workspace = true`): change it in the workspace's Cargo.toml"),
        "{}",
        text(&out)
    );
}

#[test]
fn clnrm_test_runs_the_harness_targets_with_junit_and_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let mut all = vec!["test", "--junit", path.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        let out = cargo_clnrm(&workspace(), &all);
        assert!(out.status.success(), "{}", text(&out));
        if !args.contains(&"--junit-locations") {
            clnrm_tests::assert_valid_junit(&path);
        }
        std::fs::read_to_string(&path).expect("report")
    };
    let plain = report("plain.xml", &["--no-nextest"]);
    assert_eq!(plain.matches("<testcase").count(), 5, "{plain}");
    assert!(
        plain.contains(r#"classname="steps.clnrm.toml""#),
        "the scenario file is the class: {plain}"
    );
    // Outside the schema, so only on request.
    assert!(
        !plain.contains(" file=\"") && !plain.contains(" line=\""),
        "{plain}"
    );
    if nextest_available() {
        // One shape whichever runner ran the tests: CI history does not
        // depend on whether nextest is installed.
        let nextest = report("nextest.xml", &[]);
        assert_eq!(
            clnrm_tests::without_times(&nextest),
            clnrm_tests::without_times(&plain)
        );
    }

    let tagged = report(
        "tagged.xml",
        &["--no-nextest", "--tag", "smoke", "--junit-locations"],
    );
    assert_eq!(
        tagged.matches("<testcase").count(),
        1,
        "only the smoke-tagged scenario: {tagged}"
    );
    assert!(
        tagged.contains(" line=\"") && tagged.contains(".clnrm.toml\""),
        "{tagged}"
    );

    let none = cargo_clnrm(&workspace(), &["test", "-p", "clnrm-failing-fixtures"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none).contains("cargo clnrm init"), "{}", text(&none));
}

/// Under nextest, `cargo clnrm test` exits as nextest does, says which case
/// it was, and for a name filter that matches nothing names the closest tests.
#[test]
fn clnrm_test_says_how_nextest_ended_and_the_closest_names() {
    assert!(
        nextest_available(),
        "the project's test command needs cargo-nextest"
    );
    let out = cargo_clnrm(
        &workspace(),
        &["test", "-p", "hello-clnrm", "argv_and_outpt"],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "nextest's code for no test run: {}",
        text(&out)
    );
    let said = text(&out);
    assert!(
        said.contains("cargo clnrm test: no test matched (cargo nextest exited with 4)"),
        "{said}"
    );
    assert!(
        said.contains(
            "no test name contains `argv_and_outpt`; the closest: steps.clnrm.toml::argv_and_output"
        ),
        "{said}"
    );
}
