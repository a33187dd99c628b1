//! Failing scenarios under the real runners: each fails with the message its
//! file names in `# fails-with:` comments, once, where the runner shows it.

use crate::support::{
    cargo, example_binaries, example_command, failing_expectations, nextest_of_failing_fixtures,
    sections, text,
};

/// What the summary says in place of a report printed as the test failed.
const PRINTED_ABOVE: &str = "(the report is printed above, where the test failed: --nocapture)";

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
    // Each report once, in the `failures:` summary: nothing printed besides.
    assert_eq!(found.len(), count, "{output}");
    assert!(!output.contains(PRINTED_ABOVE), "{output}");
}

#[test]
fn failing_scenarios_fail_with_their_message_under_nextest() {
    let out = nextest_of_failing_fixtures()
        .arg("--no-fail-fast")
        .output()
        .expect("run cargo nextest");
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
    // The report is printed before `test NAME ... FAILED`, where nextest takes
    // a failure's message from; libtest-mimic's summary after it only points
    // back, so the report is shown once.
    // (The run's closing summary repeats the `FAIL` lines, with nothing under them.)
    let before: Vec<(String, String)> = found
        .iter()
        .filter(|(_, body)| body.contains("running 1 test"))
        .map(|(name, body)| {
            let verdict = format!("test {name} ... FAILED");
            let (report, summary) = body.split_once(&verdict).unwrap_or((body, ""));
            assert!(
                summary.contains(PRINTED_ABOVE),
                "nextest: {name}: no pointer in the summary:\n{body}"
            );
            assert_eq!(
                body.matches(&format!("---- {name} ----")).count(),
                2,
                "nextest: {name}: the report and the summary's pointer:\n{body}"
            );
            (name.clone(), report.to_string())
        })
        .collect();
    check_failures("nextest", &before);
}

/// nextest's libtest JSON (`--message-format libtest-json`): the `failed`
/// event of each test carries its report in `stdout`.
#[test]
fn failing_scenarios_carry_their_report_in_nextest_libtest_json() {
    let out = nextest_of_failing_fixtures()
        .args(["--no-fail-fast", "--message-format", "libtest-json"])
        .env("NEXTEST_EXPERIMENTAL_LIBTEST_JSON", "1")
        .output()
        .expect("run cargo nextest");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let failed: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["type"] == "test" && e["event"] == "failed")
        .map(|e| {
            let name = e["name"].as_str().unwrap_or_default();
            let name = name.split_once('$').map_or(name, |(_, test)| test);
            let report = e["stdout"].as_str().unwrap_or_default();
            (name.to_string(), report.to_string())
        })
        .collect();
    assert_eq!(
        failed.len(),
        failing_expectations().len(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, report) in &failed {
        assert!(
            report.starts_with(&format!("---- {name} ----\n")),
            "{name}: {report:?}"
        );
        assert!(!report.contains(PRINTED_ABOVE), "{name}: {report:?}");
    }
    check_failures("nextest libtest-json", &failed);
}

#[test]
fn a_bad_manifest_fails_the_test_binary_with_its_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = 1").expect("write");
    let binary = example_binaries();
    for args in [&[][..], &["--list"][..]] {
        let out = example_command(&binary)
            .args(args)
            .env("CARGO_MANIFEST_DIR", dir.path())
            .output()
            .expect("run the example's test binary");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("Cargo.toml` is not a valid manifest: unclosed table"),
            "{args:?}: {}",
            text(&out)
        );
    }
}
