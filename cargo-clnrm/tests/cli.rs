//! The real binary, run as cargo runs it: exit codes, formats, colours, roots.

mod cli_support;

#[allow(unused_imports)]
use std::path::{Path, PathBuf};
#[allow(unused_imports)]
use std::process::{Command, Output};

use cli_support::*;

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["validate", "--help"],
        &["dry-run", "--help"],
        &["list", "--help"],
    ] {
        let out = clnrm(&workspace(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Usage: cargo clnrm"), "{args:?}");
    }
}

#[test]
fn runs_directly_without_the_cargo_prefix() {
    let out = binary(&workspace())
        .args(["validate", "--help"])
        .output()
        .expect("run");
    assert!(out.status.success());
}

#[test]
fn usage_errors_exit_2() {
    let out = clnrm(&workspace(), &["validate", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = clnrm(&workspace(), &["validate", "does/not/exist.clnrm.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("does/not/exist.clnrm.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_manifest_is_a_setup_error_with_its_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = 1").expect("write");
    // Every driver that reads the configuration says so, never skips it.
    for command in ["validate", "list", "run", "watch"] {
        let out = clnrm(dir.path(), &[command]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("error: the clnrm configuration could not be loaded"),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("Caused by:"), "{command}: {stderr}");
    }
    // `test` asks cargo for the workspace first, which refuses the manifest.
    let out = clnrm(dir.path(), &["test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Cargo.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn valid_files_exit_0_and_warnings_do_not_fail() {
    let out = clnrm(
        &fixtures(),
        &["validate", "compat/basic-health-check.clnrm.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning[clnrm::unverified-claim]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("validated 1 file: 0 with errors; 0 errors, 3 warnings"),
        "{stderr}"
    );
}

#[test]
fn strict_turns_unverified_claims_into_errors() {
    let file = "compat/basic-health-check.clnrm.toml";
    let flagged = clnrm(&fixtures(), &["validate", "--strict", file]);
    assert_eq!(flagged.status.code(), Some(1));
    let from_env = binary(&fixtures())
        .args(["clnrm", "validate", file])
        .env("CLNRM_STRICT", "1")
        .output()
        .expect("run");
    assert_eq!(from_env.status.code(), Some(1));
}

#[test]
fn colour_follows_flag_and_environment() {
    let file = "invalid/typo-key.clnrm.toml";
    let coloured = clnrm(&fixtures(), &["validate", "--color", "always", file]);
    assert!(text(&coloured.stderr).contains('\u{1b}'));
    let forced = binary(&fixtures())
        .args(["clnrm", "validate", file])
        .env("CARGO_TERM_COLOR", "always")
        .output()
        .expect("run");
    assert!(text(&forced.stderr).contains('\u{1b}'));
    let plain = binary(&fixtures())
        .args(["clnrm", "validate", file])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert!(!text(&plain.stderr).contains('\u{1b}'));
}

#[test]
fn a_broken_file_never_stops_the_others() {
    let out = clnrm(
        &fixtures(),
        &["validate", "--message-format", "json", "compat"],
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let finished = lines.last().expect("summary line");
    assert_eq!(finished["reason"], "validate-finished");
    assert_eq!(finished["files"], 6);
    let files_with_errors: std::collections::BTreeSet<_> = lines
        .iter()
        .filter(|v| v["severity"] == "error")
        .map(|v| v["file"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(files_with_errors.len(), 1, "{files_with_errors:?}");
}

#[test]
fn list_names_tests_from_every_member_of_a_virtual_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"a\", \"b\"]\n",
    );
    write(&root.join("a/Cargo.toml"), "[package]\nname = \"a\"\n");
    write(
        &root.join("b/Cargo.toml"),
        "[package]\nname = \"b\"\n[package.metadata.clnrm]\nroots = [\"scenarios\"]\n",
    );
    write(
        &root.join("a/tests/clnrm/z.clnrm.toml"),
        &SCENARIO.replace("NAME", "z"),
    );
    write(
        &root.join("a/tests/clnrm/sub/m.clnrm.toml.tera"),
        "[meta]\nname = \"m\"\n[matrix]\nos = [\"x\", \"y\"]\n[[steps]]\nname = \"s\"\ncommand = [\"echo\", \"{{ os }}\"]\n",
    );
    write(
        &root.join("a/tests/clnrm/target/skip.clnrm.toml"),
        &SCENARIO.replace("NAME", "skip"),
    );
    write(&root.join("b/scenarios/broken.clnrm.toml"), "[meta\n");
    let out = clnrm(root, &["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        [
            "sub/m.clnrm.toml.tera::m[os=x]",
            "sub/m.clnrm.toml.tera::m[os=y]",
            "z.clnrm.toml::first",
            "z.clnrm.toml::second",
            "broken.clnrm.toml",
        ]
    );
    // From inside a member: only its own roots.
    let out = clnrm(&root.join("b"), &["list"]);
    assert_eq!(text(&out.stdout).trim(), "broken.clnrm.toml");
}

#[test]
fn list_json_gives_places_for_editors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(&root.join("Cargo.toml"), "[package]\nname = \"p\"\n");
    let scenario = SCENARIO.replace("NAME", "a").replace(
        "[meta]\n",
        "[meta]\nignore = \"flaky\"\ntags = [\"smoke\"]\n",
    );
    write(&root.join("tests/clnrm/a.clnrm.toml"), &scenario);
    let out = clnrm(root, &["list", "--message-format", "json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["reason"], "test");
    assert_eq!(lines[0]["name"], "a.clnrm.toml::first");
    assert_eq!(lines[0]["line"], 6);
    assert_eq!(lines[0]["column"], 8);
    assert_eq!(lines[0]["ignored"], true);
    assert_eq!(lines[0]["ignore_reason"], "flaky");
    assert_eq!(lines[0]["tags"][0], "smoke");
    assert_eq!(lines[1]["line"], 9);
}

#[test]
fn root_flag_replaces_the_configured_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(&root.join("Cargo.toml"), "[package]\nname = \"p\"\n");
    write(
        &root.join("tests/clnrm/a.clnrm.toml"),
        &SCENARIO.replace("NAME", "a"),
    );
    write(
        &root.join("other/b.clnrm.toml"),
        &SCENARIO.replace("NAME", "b"),
    );
    let out = clnrm(root, &["list", "--root", "other"]);
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        ["b.clnrm.toml::first", "b.clnrm.toml::second"]
    );
}

#[test]
fn list_honours_strict_like_validate() {
    let file = "compat/basic-health-check.clnrm.toml";
    let relaxed = clnrm(&fixtures(), &["list", file]);
    assert!(text(&relaxed.stdout).contains("::optimus_prime_health_check"));
    let strict = clnrm(&fixtures(), &["list", "--strict", file]);
    assert_eq!(text(&strict.stdout).trim(), "basic-health-check.clnrm.toml");
}

#[test]
fn warnings_are_json_lines_in_json_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("Cargo.toml"), "[package]\nname = \"p\"\n");
    let out = clnrm(dir.path(), &["validate", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["reason"], "warning");
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no scenario files")
    );
    assert_eq!(lines[1]["reason"], "validate-finished");
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn logging_follows_verbosity_and_clnrm_log_and_stays_on_stderr() {
    let file = "compat/basic-health-check.clnrm.toml";
    let quiet = clnrm(&fixtures(), &["list", file]);
    assert!(!text(&quiet.stderr).contains("scenario roots"));
    let verbose = clnrm(&fixtures(), &["-vv", "list", file]);
    assert!(
        text(&verbose.stderr).contains("scenario roots"),
        "{}",
        text(&verbose.stderr)
    );
    let from_env = binary(&fixtures())
        .args(["clnrm", "-q", "list", file])
        .env("CLNRM_LOG", "cargo_clnrm=debug")
        .output()
        .expect("run");
    assert!(text(&from_env.stderr).contains("scenario roots"));
    // Results never go through the log: stdout is the same list either way.
    assert_eq!(text(&verbose.stdout), text(&quiet.stdout));
}
