//! Cargo's conventions on every command that reads a workspace:
//! `--manifest-path`, `-p/--package`, and one help layout.

mod cli_support;

use cli_support::{clnrm, text, workspace};

fn stdout(out: &std::process::Output) -> String {
    text(&out.stdout)
}

fn stderr(out: &std::process::Output) -> String {
    text(&out.stderr)
}

#[test]
fn manifest_path_and_package_select_the_scenarios_from_anywhere() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let example = workspace().join("examples/hello/Cargo.toml");
    let example = example.to_str().expect("utf-8");
    let here = clnrm(&workspace().join("examples/hello"), &["list"]);
    assert!(here.status.success(), "{}", stderr(&here));
    assert!(stdout(&here).contains("steps.clnrm.toml::argv_and_output"));
    for command in ["list", "validate"] {
        let by_manifest = clnrm(elsewhere.path(), &[command, "--manifest-path", example]);
        assert!(
            by_manifest.status.success(),
            "{command}: {}",
            stderr(&by_manifest)
        );
        if command == "list" {
            assert_eq!(stdout(&by_manifest), stdout(&here));
        }
    }
    let by_package = clnrm(&workspace(), &["list", "-p", "hello-clnrm"]);
    assert_eq!(stdout(&by_package), stdout(&here));
    let by_both = clnrm(
        elsewhere.path(),
        &[
            "list",
            "--package",
            "hello-clnrm",
            "--manifest-path",
            workspace().join("Cargo.toml").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(stdout(&by_both), stdout(&here), "{}", stderr(&by_both));
    // Two packages: the scenarios of both.
    let two = clnrm(
        &workspace(),
        &["list", "-p", "hello-clnrm", "-p", "clnrm-failing-fixtures"],
    );
    assert!(stdout(&two).contains("steps.clnrm.toml::argv_and_output"));
    assert!(stdout(&two).lines().count() > stdout(&here).lines().count());
    // `run` takes them too (a local scenario of the example).
    let run = clnrm(
        elsewhere.path(),
        &[
            "run",
            "--manifest-path",
            example,
            "--backend",
            "local",
            "--tag",
            "nope",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
}

#[test]
fn a_bad_selection_is_a_usage_error_that_says_what_exists() {
    let unknown = clnrm(&workspace(), &["validate", "-p", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("package `nope` is not a member of the workspace (members: ")
            && stderr(&unknown).contains("hello-clnrm"),
        "{}",
        stderr(&unknown)
    );
    let missing = clnrm(
        &workspace(),
        &["list", "--manifest-path", "/nonexistent/Cargo.toml"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("--manifest-path `/nonexistent/Cargo.toml`: no such file"));
}

#[test]
fn every_command_has_one_help_layout() {
    for command in ["validate", "list", "run", "watch", "test"] {
        let help = stdout(&clnrm(&workspace(), &[command, "--help"]));
        let headings: Vec<&str> = help
            .lines()
            .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
            .collect();
        assert_eq!(
            headings,
            [
                "Arguments:",
                "Options:",
                "Package Selection:",
                "Manifest Options:",
                "Display Options:"
            ],
            "{command}: {help}"
        );
        assert!(
            help.contains("--manifest-path <PATH>") && help.contains("-p, --package <SPEC>"),
            "{command}"
        );
    }
    let init = stdout(&clnrm(&workspace(), &["init", "--help"]));
    assert!(
        init.contains("Manifest Options:") && init.contains("Display Options:"),
        "{init}"
    );
}

#[test]
fn run_takes_its_settings_from_the_selected_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("krate");
    std::fs::create_dir_all(krate.join("tests/clnrm")).expect("mkdir");
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"krate\"\nversion = \"0.1.0\"\n\n[package.metadata.clnrm]\nstep_timeout = \"300ms\"\n",
    )
    .expect("write");
    std::fs::write(
        krate.join("tests/clnrm/slow.clnrm.toml"),
        "[meta]\nname = \"slow\"\nbackend = \"local\"\n[[steps]]\nname = \"sleeps\"\ncommand = [\"sleep\", \"5\"]\n",
    )
    .expect("write");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let manifest = krate.join("Cargo.toml");
    let out = clnrm(
        elsewhere.path(),
        &["run", "--manifest-path", manifest.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("timed out after 300ms"),
        "the package's step_timeout applies: {}",
        stdout(&out)
    );
}
