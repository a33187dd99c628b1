//! `cargo clnrm run --changed`: a scenario that passed with exactly the same
//! inputs is skipped (and said so), each kind of input change makes it run
//! again, a failure always runs again, and the store survives damage. Each
//! test has a store of its own (`CARGO_TARGET_DIR`).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A folder of scenarios and a target dir holding its store.
struct Place {
    dir: tempfile::TempDir,
    target: tempfile::TempDir,
}

impl Place {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            target: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn clnrm(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
        command
            .arg("clnrm")
            .args(args)
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", self.target.path())
            .env_remove("CLNRM_ROOTS")
            .env_remove("CLNRM_ENV_PASSTHROUGH");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("run cargo-clnrm")
    }

    /// `run . --changed` as JSON lines: each test's outcome by name, and
    /// the closing summary.
    fn changed(&self, env: &[(&str, &str)]) -> (Vec<(String, String)>, Value, String) {
        let out = self.clnrm(&["run", ".", "--changed", "--message-format", "json"], env);
        let text = text(&out);
        let lines: Vec<Value> = (String::from_utf8_lossy(&out.stdout).lines())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let mut outcomes: Vec<(String, String)> = (lines.iter())
            .filter(|l| l["reason"] == "test-finished")
            .map(|l| {
                let outcome = l["outcome"].as_str().unwrap_or_default().to_string();
                (l["name"].as_str().unwrap_or_default().to_string(), outcome)
            })
            .collect();
        outcomes.sort();
        let summary = (lines.iter())
            .find(|l| l["reason"] == "run-finished")
            .cloned()
            .unwrap_or_else(|| panic!("no summary: {text}"));
        (outcomes, summary, text)
    }

    /// The outcome of the one test in the folder under `run --changed`.
    fn only_outcome(&self, env: &[(&str, &str)]) -> String {
        let (outcomes, _, text) = self.changed(env);
        assert_eq!(outcomes.len(), 1, "{text}");
        outcomes[0].1.clone()
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn local(name: &str, command: &str) -> String {
    format!(
        "[meta]\nname = \"{name}\"\nbackend = \"local\"\n\n[[steps]]\nname = \"s\"\ncommand = {command}\n"
    )
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn an_unchanged_pass_is_skipped_and_said_so_never_as_passed() {
    let place = Place::new();
    place.write("a.clnrm.toml", &local("a", r#"["true"]"#));
    place.write("b.clnrm.toml", &local("b", r#"["true"]"#));
    let (first, summary, shown) = place.changed(&[]);
    assert_eq!(
        first,
        owned(&[("a.clnrm.toml::a", "passed"), ("b.clnrm.toml::b", "passed")]),
        "{shown}"
    );
    assert_eq!(summary["passed"], 2, "{shown}");

    let (second, summary, shown) = place.changed(&[]);
    assert_eq!(
        second,
        owned(&[
            ("a.clnrm.toml::a", "unchanged"),
            ("b.clnrm.toml::b", "unchanged")
        ]),
        "{shown}"
    );
    assert_eq!(
        (summary["passed"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(2)),
        "{shown}"
    );
    // The reason is data, and the line never says passed.
    let out = place.clnrm(&["run", ".", "--changed", "--message-format", "json"], &[]);
    let line: Value = (String::from_utf8_lossy(&out.stdout).lines())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["reason"] == "test-finished")
        .expect("a line");
    assert_eq!(line["passed"], false, "{line}");
    assert!(
        line["skip_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("unchanged since 20")),
        "{line}"
    );
    // The human form: SKIP, the time, and the count in the summary.
    let human = place.clnrm(&["run", ".", "--changed"], &[]);
    let shown = text(&human);
    assert!(human.status.success(), "{shown}");
    assert!(
        shown.contains("SKIP") && shown.contains("(unchanged since 20"),
        "{shown}"
    );
    assert!(shown.contains("0 passed, 0 failed, 2 skipped"), "{shown}");
    // Without --changed everything runs.
    let all = place.clnrm(&["run", "."], &[]);
    assert!(
        text(&all).contains("2 passed, 0 failed\n"),
        "{}",
        text(&all)
    );
}

#[test]
fn an_edit_runs_only_the_edited_file() {
    let place = Place::new();
    place.write("a.clnrm.toml", &local("a", r#"["true"]"#));
    place.write("b.clnrm.toml", &local("b", r#"["true"]"#));
    place.changed(&[]);
    place.write("a.clnrm.toml", &local("a", r#"["echo", "edited"]"#));
    let (outcomes, _, text) = place.changed(&[]);
    assert_eq!(
        outcomes,
        owned(&[
            ("a.clnrm.toml::a", "passed"),
            ("b.clnrm.toml::b", "unchanged")
        ]),
        "{text}"
    );
}

#[test]
fn a_failure_always_runs_again() {
    let place = Place::new();
    place.write("f.clnrm.toml", &local("f", r#"["false"]"#));
    for _ in 0..2 {
        assert_eq!(place.only_outcome(&[]), "failed");
    }
    // Fixed, it passes and then is skipped; broken again, it runs.
    place.write("f.clnrm.toml", &local("f", r#"["true"]"#));
    assert_eq!(place.only_outcome(&[]), "passed");
    assert_eq!(place.only_outcome(&[]), "unchanged");
}

#[test]
fn a_change_in_an_imported_template_runs_it_again() {
    let place = Place::new();
    place.write(
        "macros.tera",
        "{% macro cmd() %}[\"true\"]{% endmacro cmd %}",
    );
    place.write(
        "t.clnrm.toml.tera",
        "{% import \"macros.tera\" as m %}[meta]\nname = \"t\"\nbackend = \"local\"\n\n[[steps]]\nname = \"s\"\ncommand = {{ m::cmd() }}\n",
    );
    assert_eq!(place.only_outcome(&[]), "passed");
    assert_eq!(place.only_outcome(&[]), "unchanged");
    place.write(
        "macros.tera",
        "{% macro cmd() %}[\"echo\", \"new\"]{% endmacro cmd %}",
    );
    assert_eq!(place.only_outcome(&[]), "passed");
    assert_eq!(place.only_outcome(&[]), "unchanged");
}

#[test]
fn a_change_in_a_program_the_steps_name_runs_it_again() {
    let place = Place::new();
    let program = place.write("tool.sh", "#!/bin/sh\nexit 0\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = program.display().to_string();
    place.write("p.clnrm.toml", &local("p", &format!("[\"{path}\"]")));
    // Also a program named inside a shell script.
    place.write(
        "q.clnrm.toml",
        &local("q", &format!("[\"sh\", \"-c\", \"{path} && true\"]")),
    );
    place.changed(&[]);
    let (outcomes, _, text) = place.changed(&[]);
    assert!(outcomes.iter().all(|(_, o)| o == "unchanged"), "{text}");
    std::fs::write(&program, "#!/bin/sh\n# rebuilt\nexit 0\n").expect("write");
    let (outcomes, _, text) = place.changed(&[]);
    assert!(outcomes.iter().all(|(_, o)| o == "passed"), "{text}");
}

#[test]
fn a_change_in_the_passed_through_environment_runs_it_again() {
    let place = Place::new();
    place.write(
        "e.clnrm.toml",
        &local("e", r#"["sh", "-c", "test -n \"$GREETING\""]"#),
    );
    let env = |value| [("CLNRM_ENV_PASSTHROUGH", "GREETING"), ("GREETING", value)];
    assert_eq!(place.only_outcome(&env("hello")), "passed");
    assert_eq!(place.only_outcome(&env("hello")), "unchanged");
    assert_eq!(place.only_outcome(&env("goodbye")), "passed");
    // A variable that is not passed through is not an input.
    let other = [
        ("CLNRM_ENV_PASSTHROUGH", "GREETING"),
        ("GREETING", "goodbye"),
        ("UNRELATED", "x"),
    ];
    assert_eq!(place.only_outcome(&other), "unchanged");
}

#[test]
fn a_damaged_store_is_ignored_with_a_warning_and_rebuilt() {
    let place = Place::new();
    place.write("a.clnrm.toml", &local("a", r#"["true"]"#));
    place.changed(&[]);
    let store = place.target.path().join("clnrm/results");
    let records: Vec<PathBuf> = std::fs::read_dir(&store)
        .expect("the store is in the target dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    std::fs::write(&records[0], "{\"format\": 1, \"result\": tru").expect("damage");
    let out = place.clnrm(&["run", ".", "--changed"], &[]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("warning: ignoring a damaged stored result"),
        "{shown}"
    );
    assert!(shown.contains("1 passed, 0 failed"), "it ran: {shown}");
    // Rebuilt: the next run trusts the new record, and warns no more.
    let out = place.clnrm(&["run", ".", "--changed"], &[]);
    let shown = text(&out);
    assert!(
        shown.contains("1 skipped") && !shown.contains("warning"),
        "{shown}"
    );
}

#[test]
fn clean_results_empties_the_store() {
    let place = Place::new();
    place.write("a.clnrm.toml", &local("a", r#"["true"]"#));
    place.changed(&[]);
    assert_eq!(place.only_outcome(&[]), "unchanged");
    let out = place.clnrm(&["clean", "--results"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 stored result(s) removed from"),
        "{}",
        text(&out)
    );
    assert_eq!(place.only_outcome(&[]), "passed");
}

/// A container scenario whose image is re-tagged to another image: a new
/// image id is a change, though the name stayed.
#[test]
fn a_new_image_under_the_same_name_runs_it_again() {
    let tag = format!("clnrm-changed-probe:{}", std::process::id());
    let docker = |args: &[&str]| {
        let out = Command::new("docker").args(args).output().expect("docker");
        assert!(out.status.success(), "docker {args:?}: {}", text(&out));
    };
    docker(&["tag", "busybox:1.37", &tag]);
    let place = Place::new();
    place.write(
        "c.clnrm.toml",
        &format!("[meta]\nname = \"c\"\nimage = \"{tag}\"\n\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n"),
    );
    let first = place.only_outcome(&[]);
    let again = place.only_outcome(&[]);
    docker(&["tag", "debian:trixie-slim", &tag]);
    let after = place.only_outcome(&[]);
    docker(&["rmi", &tag]);
    assert_eq!(
        (first.as_str(), again.as_str(), after.as_str()),
        ("passed", "unchanged", "passed")
    );
    // A name the engine no longer has cannot be unchanged: it runs (and fails).
    assert_eq!(place.only_outcome(&[]), "not-run");
}
