//! What the harness tests share: cargo as the runner gave it, the example's
//! and the failing fixtures' test binaries, and reading runner output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// Cargo as the test runner gave it to us, in the workspace, sharing its target dir.
/// `cargo ARGS` in the workspace, to add to before it runs.
pub fn cargo_command(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .args(args)
        .current_dir(workspace())
        .env_remove("CLNRM_JUNIT");
    command
}

pub fn cargo(args: &[&str]) -> Output {
    cargo_command(args).output().expect("run cargo")
}

/// `cargo nextest run` of the failing fixtures' `clnrm` target, colourless,
/// to add flags to. nextest is part of the project's test command: its
/// absence is a failure, not a skip.
pub fn nextest_of_failing_fixtures() -> Command {
    assert!(
        nextest_available(),
        "cargo-nextest is not installed; the project's test command needs it"
    );
    let mut command = cargo_command(&["nextest", "run", "-p", "clnrm-failing-fixtures"]);
    command.args(["--test", "clnrm", "--color", "never"]);
    command
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn nextest_available() -> bool {
    cargo(&["nextest", "--version"]).status.success()
}

/// What each failing fixture must (and must not) say, by test name.
pub fn failing_expectations() -> Vec<(String, Vec<String>, Vec<String>)> {
    let dir = workspace().join("tests/fixtures/failing/tests/clnrm");
    // Scenario files in the root and one level of folders (test names are
    // their paths relative to the root).
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).expect("fixtures") {
                files.push(inner.expect("entry").path());
            }
        } else {
            files.push(path);
        }
    }
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
                .strip_prefix(&dir)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            (file_name, pick("# fails-with: "), pick("# not: "))
        })
        .collect()
}

/// Splits runner output into (test name, its text) at lines that start a test's section.
pub fn sections(output: &str, starts: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
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

/// The example's test binary and its `greet` binary, built by cargo.
pub struct Example {
    pub test: PathBuf,
    pub greet: PathBuf,
}

pub fn example_binaries() -> Example {
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
pub fn example(binaries: &Example, args: &[&str]) -> Output {
    run_example(binaries, args, None)
}

pub fn run_example(binaries: &Example, args: &[&str], junit: Option<&Path>) -> Output {
    let mut command = example_command(binaries);
    command.args(args);
    if let Some(path) = junit {
        command.env("CLNRM_JUNIT", path);
    }
    command.output().expect("run the example's test binary")
}

/// The test binary as nextest starts it for the test `name`: `--exact NAME
/// --nocapture`, with the variables nextest sets for that process.
pub fn example_as_nextest(binaries: &Example, name: &str) -> Output {
    example_command(binaries)
        .args(["--exact", name, "--nocapture"])
        .env("NEXTEST", "1")
        .env("NEXTEST_EXECUTION_MODE", "process-per-test")
        .env("NEXTEST_TEST_NAME", name)
        .output()
        .expect("run the example's test binary")
}

/// In the example's folder, with its env; without the variables of a nextest
/// run these tests may be part of (set only where a test asks for them).
pub fn example_command(binaries: &Example) -> Command {
    let mut command = Command::new(&binaries.test);
    command
        .current_dir(workspace().join("examples/hello"))
        .env("CARGO_MANIFEST_DIR", workspace().join("examples/hello"))
        .env("CARGO_BIN_EXE_greet", &binaries.greet)
        .env_remove("CLNRM_JUNIT")
        .env_remove("CLNRM_JUNIT_LOCATIONS")
        .env_remove("CLNRM_RESULT_DIR")
        .env_remove("CLNRM_TRACE_DIR")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("NEXTEST")
        .env_remove("NEXTEST_EXECUTION_MODE")
        .env_remove("NEXTEST_TEST_NAME");
    command
}

pub const EXAMPLE_TESTS: &[&str] = &[
    "ignored.clnrm.toml::ignored",
    "local-with-service.clnrm.toml::local_with_service",
    "services.clnrm.toml::fetch_by_host_name",
    "steps.clnrm.toml::argv_and_output",
    "templates/matrix.clnrm.toml.tera::greets[who=world]",
    "templates/matrix.clnrm.toml.tera::greets[who=clnrm]",
];

/// The failing fixtures' test binary, built by cargo (it is `test = false`).
pub fn failing_fixtures_binary() -> PathBuf {
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
