//! The harness under the real runners: `cargo test` and `cargo nextest run` on
//! the example crate (all green) and on `fixtures/failing` (every test must
//! fail, with the message its file names in `# fails-with:` comments).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// Cargo as the test runner gave it to us, in the workspace, sharing its target dir.
fn cargo(args: &[&str]) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(workspace())
        .env_remove("CLNRM_JUNIT")
        .output()
        .expect("run cargo")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn nextest_available() -> bool {
    cargo(&["nextest", "--version"]).status.success()
}

/// What each failing fixture must (and must not) say, by test name.
fn failing_expectations() -> Vec<(String, Vec<String>, Vec<String>)> {
    let dir = workspace().join("tests/fixtures/failing/tests/clnrm");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .filter(|path| std::fs::read_to_string(path).is_ok_and(|s| s.contains("# fails-with: ")))
        .map(|path| {
            let source = std::fs::read_to_string(path).expect("read");
            let pick = |prefix: &str| -> Vec<String> {
                source
                    .lines()
                    .filter_map(|l| l.strip_prefix(prefix))
                    .map(str::to_string)
                    .collect()
            };
            let file_name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (file_name, pick("# fails-with: "), pick("# not: "))
        })
        .collect()
}

/// Splits runner output into (test name, its text) at lines that start a test's section.
fn sections(output: &str, starts: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for line in output.lines() {
        if let Some(name) = starts(line) {
            found.push((name.trim().to_string(), String::new()));
        } else if let Some((_, body)) = found.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    found
}

fn check_failures(runner: &str, found: &[(String, String)]) {
    for (file, must, must_not) in failing_expectations() {
        let (name, body) = found
            .iter()
            .find(|(name, _)| name.split("::").next() == Some(file.as_str()))
            .unwrap_or_else(|| panic!("{runner}: no failure reported for {file}"));
        for text in &must {
            assert!(
                body.contains(text.as_str()),
                "{runner}: {name} does not say {text:?}:\n{body}"
            );
        }
        for text in &must_not {
            assert!(
                !body.contains(text.as_str()),
                "{runner}: {name} says {text:?}:\n{body}"
            );
        }
    }
}

#[test]
fn failing_scenarios_fail_with_their_message_under_cargo_test() {
    let out = cargo(&[
        "test",
        "-q",
        "-p",
        "clnrm-failing-fixtures",
        "--test",
        "clnrm",
    ]);
    assert!(!out.status.success());
    let output = text(&out);
    let count = failing_expectations().len();
    assert!(
        output.contains(&format!("0 passed; {count} failed")),
        "{output}"
    );
    let found = sections(&output, |line| {
        line.strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" ----"))
            .map(str::to_string)
    });
    check_failures("cargo test", &found);
}

#[test]
fn failing_scenarios_fail_with_their_message_under_nextest() {
    if !nextest_available() {
        panic!("cargo-nextest is not installed; the project's test command needs it");
    }
    let out = cargo(&[
        "nextest",
        "run",
        "-p",
        "clnrm-failing-fixtures",
        "--test",
        "clnrm",
        "--no-fail-fast",
        "--color",
        "never",
    ]);
    assert!(!out.status.success());
    let output = text(&out);
    let count = failing_expectations().len();
    assert!(
        output.contains(&format!("{count} tests run: 0 passed, {count} failed")),
        "{output}"
    );
    // Each test's captured output follows its `FAIL [...] binary NAME` line.
    let found = sections(&output, |line| {
        let rest = line.trim_start().strip_prefix("FAIL [")?;
        rest.split("clnrm-failing-fixtures::clnrm ")
            .nth(1)
            .map(str::to_string)
    });
    check_failures("nextest", &found);
}

/// The example's test binary and its `greet` binary, built by cargo.
struct Example {
    test: PathBuf,
    greet: PathBuf,
}

fn example_binaries() -> Example {
    let out = cargo(&[
        "test",
        "-p",
        "hello-clnrm",
        "--test",
        "clnrm",
        "--no-run",
        "--message-format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let artifacts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let executable = |target: &str| {
        artifacts
            .iter()
            .find_map(|v| {
                (v["target"]["name"] == target)
                    .then(|| v["executable"].as_str().map(PathBuf::from))
                    .flatten()
            })
            .unwrap_or_else(|| panic!("no executable for {target}"))
    };
    Example {
        test: executable("clnrm"),
        greet: executable("greet"),
    }
}

/// Runs the test binary the way cargo and nextest do (package folder, env).
fn example(binaries: &Example, args: &[&str]) -> Output {
    run_example(binaries, args, None)
}

fn run_example(binaries: &Example, args: &[&str], junit: Option<&Path>) -> Output {
    let mut command = Command::new(&binaries.test);
    command
        .args(args)
        .current_dir(workspace().join("examples/hello"))
        .env("CARGO_MANIFEST_DIR", workspace().join("examples/hello"))
        .env("CARGO_BIN_EXE_greet", &binaries.greet)
        .env_remove("CLNRM_JUNIT");
    if let Some(path) = junit {
        command.env("CLNRM_JUNIT", path);
    }
    command.output().expect("run the example's test binary")
}

const EXAMPLE_TESTS: &[&str] = &[
    "ignored.clnrm.toml::ignored",
    "local-with-service.clnrm.toml::local_with_service",
    "services.clnrm.toml::fetch_by_host_name",
    "steps.clnrm.toml::argv_and_output",
    "templates/matrix.clnrm.toml.tera::greets[who=world]",
    "templates/matrix.clnrm.toml.tera::greets[who=clnrm]",
];

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
    // Only the named file was read: the other files never became trials.
    assert!(
        exact_out.contains("1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"),
        "{exact_out}"
    );
    // A name that is not a file reads nothing and runs nothing.
    let none = example(&binary, &["--exact", "nope.clnrm.toml::x"]);
    assert!(String::from_utf8_lossy(&none.stdout).contains("0 passed; 0 failed"));
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
    assert!(xml.contains("line=\""), "{xml}");
    assert!(xml.contains("file=\""), "{xml}");
}

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

#[test]
fn a_signalled_test_process_kills_its_steps() {
    let binary = failing_fixtures_binary();
    let fixtures = workspace().join("tests/fixtures/failing");
    for signal in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let mut child = Command::new(&binary)
            .args(["--ignored", "--exact", "signalled.clnrm.toml::signalled"])
            .current_dir(&fixtures)
            .env("CARGO_MANIFEST_DIR", &fixtures)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while clnrm_tests::count_processes(&["sleep", "1019"]) == 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            clnrm_tests::count_processes(&["sleep", "1019"]),
            1,
            "the step started"
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)
            .expect("signal");
        let started = std::time::Instant::now();
        let status = child.wait().expect("wait");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{signal}: {:?}",
            started.elapsed()
        );
        assert!(!status.success(), "{signal}: a cancelled test fails");
        assert_eq!(
            clnrm_tests::count_processes(&["sleep", "1019"]),
            0,
            "{signal}: the step's process is gone"
        );
    }
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

#[test]
fn a_signalled_test_process_removes_its_containers() {
    let binary = failing_fixtures_binary();
    let fixtures = workspace().join("tests/fixtures/failing");
    let mut child = Command::new(&binary)
        .args([
            "--ignored",
            "--exact",
            "signalled-container.clnrm.toml::signalled_container",
        ])
        .current_dir(&fixtures)
        .env("CARGO_MANIFEST_DIR", &fixtures)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let label = format!("label=clnrm.pid={}", child.id());
    let containers = || {
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter", &label])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while clnrm_tests::count_processes(&["sleep", "1022"]) == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(containers(), 1, "the runner container is up");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    let status = child.wait().expect("wait");
    assert!(!status.success());
    assert_eq!(containers(), 0, "the container is removed");
}

/// The failing fixtures' test binary, built by cargo (it is `test = false`).
fn failing_fixtures_binary() -> PathBuf {
    let out = cargo(&[
        "test",
        "-p",
        "clnrm-failing-fixtures",
        "--test",
        "clnrm",
        "--no-run",
        "--message-format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| {
            (v["target"]["name"] == "clnrm")
                .then(|| v["executable"].as_str().map(PathBuf::from))
                .flatten()
        })
        .expect("test executable")
}
