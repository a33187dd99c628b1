//! The libtest command line and output the harness speaks, as cargo, nextest
//! and IDEs use them.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{
    EXAMPLE_TESTS, cargo, example, example_as_nextest, example_binaries, example_command,
    nextest_available, run_example, text, workspace,
};

/// What nextest relies on: `--list --format terse` (and `--ignored`) print only
/// `name: test` lines, and `--exact NAME` runs exactly that test.
#[test]
fn the_libtest_protocol_nextest_uses() {
    let binary = example_binaries();
    let listed = example(&binary, &["--list", "--format", "terse"]);
    assert!(listed.status.success());
    let stdout = String::from_utf8_lossy(&listed.stdout).into_owned();
    let names: Vec<&str> = stdout
        .lines()
        .map(|l| {
            l.strip_suffix(": test")
                .unwrap_or_else(|| panic!("stray line {l:?}"))
        })
        .collect();
    assert_eq!(names, EXAMPLE_TESTS);
    let ignored = example(&binary, &["--list", "--format", "terse", "--ignored"]);
    assert_eq!(
        String::from_utf8_lossy(&ignored.stdout).trim(),
        "ignored.clnrm.toml::ignored: test"
    );
    let exact = example(&binary, &["--exact", "steps.clnrm.toml::argv_and_output"]);
    let exact_out = String::from_utf8_lossy(&exact.stdout).into_owned();
    assert!(exact.status.success(), "{exact_out}");
    assert!(exact_out.contains("test steps.clnrm.toml::argv_and_output ... ok"));
}

/// `--exact NAME` counts every other test as filtered out, as libtest does;
/// in the process nextest starts for one test, only the named file is read.
#[test]
fn exact_names_count_the_other_tests_as_filtered_out() {
    let binary = example_binaries();
    let others = EXAMPLE_TESTS.len() - 1;
    for name in [
        "steps.clnrm.toml::argv_and_output",
        "templates/matrix.clnrm.toml.tera::greets[who=world]",
    ] {
        let by_hand = example(&binary, &["--exact", name]);
        let said = String::from_utf8_lossy(&by_hand.stdout).into_owned();
        assert!(by_hand.status.success(), "{said}");
        assert!(
            said.contains(&format!(
                "1 passed; 0 failed; 0 ignored; 0 measured; {others} filtered out"
            )),
            "{name}: {said}"
        );
    }
    let none = example(&binary, &["--exact", "nope.clnrm.toml::x"]);
    let said = String::from_utf8_lossy(&none.stdout).into_owned();
    assert!(
        said.contains(&format!(
            "0 passed; 0 failed; 0 ignored; 0 measured; {} filtered out",
            EXAMPLE_TESTS.len()
        )),
        "{said}"
    );
    // Through cargo, as a user runs it.
    let out = cargo(&[
        "test",
        "-q",
        "-p",
        "hello-clnrm",
        "--test",
        "clnrm",
        "--",
        "--exact",
        "steps.clnrm.toml::argv_and_output",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "1 passed; 0 failed; 0 ignored; 0 measured; {others} filtered out"
        )),
        "{}",
        text(&out)
    );
}

/// As nextest starts a test: the other files never became trials, so only the
/// named file's other tests (the template's other combination) are counted.
#[test]
fn under_nextest_an_exact_name_reads_only_its_file() {
    let binary = example_binaries();
    let steps = example_as_nextest(&binary, "steps.clnrm.toml::argv_and_output");
    let said = String::from_utf8_lossy(&steps.stdout).into_owned();
    assert!(steps.status.success(), "{said}");
    assert!(
        said.contains("1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"),
        "{said}"
    );
    let matrix = example_as_nextest(
        &binary,
        "templates/matrix.clnrm.toml.tera::greets[who=world]",
    );
    let said = String::from_utf8_lossy(&matrix.stdout).into_owned();
    assert!(
        said.contains("1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out"),
        "{said}"
    );
    // A name that is not a file reads nothing else, and fails: nextest
    // names only tests it listed, so that file went after the listing.
    let none = example_as_nextest(&binary, "nope.clnrm.toml::x");
    let said = String::from_utf8_lossy(&none.stdout).into_owned();
    assert_eq!(none.status.code(), Some(101), "{said}");
    assert!(
        said.contains("0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"),
        "{said}"
    );
    if !nextest_available() {
        panic!("cargo-nextest is not installed; the project's test command needs it");
    }
    // The real nextest: the test's own output, shown with --success-output.
    let out = cargo(&[
        "nextest",
        "run",
        "-p",
        "hello-clnrm",
        "--test",
        "clnrm",
        "--color",
        "never",
        "--success-output",
        "immediate",
        "-E",
        "test(=templates/matrix.clnrm.toml.tera::greets[who=world])",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out"),
        "{}",
        text(&out)
    );
}

#[test]
fn libtest_json_events_for_ides() {
    let binary = example_binaries();
    let out = example(
        &binary,
        &[
            "-Z",
            "unstable-options",
            "--format",
            "json",
            "--show-output",
            "--exact",
            "steps.clnrm.toml::argv_and_output",
        ],
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        events.iter().any(|e| e["type"] == "test"
            && e["event"] == "ok"
            && e["name"] == "steps.clnrm.toml::argv_and_output"),
        "{events:?}"
    );
}

#[test]
fn nextest_partitions_run_every_scenario_exactly_once() {
    if !nextest_available() {
        panic!("cargo-nextest is not installed; the project's test command needs it");
    }
    let mut seen = Vec::new();
    for part in ["count:1/2", "count:2/2"] {
        let out = cargo(&[
            "nextest",
            "run",
            "-p",
            "hello-clnrm",
            "--test",
            "clnrm",
            "--partition",
            part,
            "--color",
            "never",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        for line in text(&out).lines() {
            if let Some(name) = line
                .trim_start()
                .strip_prefix("PASS [")
                .and_then(|r| r.split("hello-clnrm::clnrm ").nth(1))
            {
                seen.push(name.trim().to_string());
            }
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a scenario ran twice: {seen:?}");
    let expected: BTreeSet<String> = EXAMPLE_TESTS[1..].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
}

#[test]
fn junit_under_plain_cargo_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("clnrm.xml");
    let binary = example_binaries();
    let out = run_example(&binary, &[], Some(&report));
    assert!(out.status.success());
    let xml = std::fs::read_to_string(&report).expect("report written");
    assert_eq!(xml.matches("<testcase").count(), 5, "{xml}");
    assert!(
        xml.contains("name=\"steps.clnrm.toml::argv_and_output\""),
        "{xml}"
    );
    assert!(xml.contains("classname=\"steps.clnrm.toml\""), "{xml}");
    clnrm_tests::assert_valid_junit(&report);
}

#[test]
fn each_test_leaves_its_run_trace_in_the_trace_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = example_binaries();
    let out = example_command(&binary)
        .args(["--exact", "steps.clnrm.toml::argv_and_output"])
        .env("CLNRM_TRACE_DIR", dir.path())
        .output()
        .expect("run the example");
    assert!(out.status.success(), "{}", text(&out));
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the trace dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["steps.clnrm.toml__argv_and_output.json"]);
    let text = std::fs::read_to_string(dir.path().join(&files[0])).expect("the trace");
    let spans = clnrm_core::spans::spans_in_lines(&text).spans;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names[..3],
        ["clnrm.run", "clnrm.scenario", "clnrm.setup"],
        "{names:?}"
    );
    assert!(
        names.contains(&"clnrm.step:argv_is_never_a_shell_string"),
        "{names:?}"
    );
    assert_eq!(names.last(), Some(&"clnrm.teardown"));
}

#[test]
fn without_an_engine_container_scenarios_are_ignored_on_request() {
    let binary = example_binaries();
    let run = |skip: bool, args: &[&str]| {
        let mut command = Command::new(&binary.test);
        command
            .args(args)
            .current_dir(workspace().join("examples/hello"))
            .env("CARGO_MANIFEST_DIR", workspace().join("examples/hello"))
            .env("CARGO_BIN_EXE_greet", &binary.greet)
            .env("DOCKER_HOST", "unix:///nonexistent/clnrm.sock")
            .env_remove("CLNRM_JUNIT");
        if skip {
            command.env("CLNRM_SKIP_UNAVAILABLE", "1");
        }
        command.output().expect("run")
    };
    let listed = run(true, &["--list", "--format", "terse", "--ignored"]);
    let ignored = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        ignored.contains("services.clnrm.toml::fetch_by_host_name: test"),
        "{ignored}"
    );
    assert!(
        String::from_utf8_lossy(&listed.stderr)
            .contains("cannot reach the Docker engine at unix:///nonexistent/clnrm.sock")
    );
    let skipped = run(true, &[]);
    assert!(skipped.status.success(), "{}", text(&skipped));
    let failing = run(
        false,
        &["--exact", "services.clnrm.toml::fetch_by_host_name"],
    );
    assert!(!failing.status.success());
    assert!(
        text(&failing).contains("cannot reach the Docker engine"),
        "{}",
        text(&failing)
    );
}

/// Containers kept for debugging (`CLNRM_KEEP_ON_FAILURE`) with a
/// `nextest.run-id` label, as `docker ps` lists them.
fn kept_under_nextest() -> BTreeSet<(String, String)> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "label=clnrm.keep-on-failure",
            "--filter",
            "label=nextest.run-id",
        ])
        .args(["--format", "{{.ID}} {{.Label \"nextest.run-id\"}}"])
        .output()
        .expect("docker ps");
    (String::from_utf8_lossy(&out.stdout).lines())
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(id, run)| (id.to_string(), run.to_string()))
        })
        .collect()
}

/// Under nextest, what a run creates carries nextest's run id, so a CI job's
/// containers are found by it.
#[test]
fn containers_of_a_nextest_run_carry_its_run_id() {
    let before = kept_under_nextest();
    let out = crate::support::nextest_of_failing_fixtures()
        .args(["-E", "test(=container-exit.clnrm.toml::container_exit)"])
        .env("CLNRM_KEEP_ON_FAILURE", "1")
        .output()
        .expect("run nextest");
    assert!(!out.status.success(), "the fixture fails: {}", text(&out));
    let ours: Vec<(String, String)> = kept_under_nextest().difference(&before).cloned().collect();
    for (id, _) in &ours {
        let _ = Command::new("docker").args(["rm", "-f", id]).output();
    }
    assert_eq!(
        ours.len(),
        1,
        "one kept runner container: {ours:?}\n{}",
        text(&out)
    );
    let run_id = &ours[0].1;
    assert_eq!(run_id.len(), 36, "a UUID, as nextest makes them: {run_id}");
}
