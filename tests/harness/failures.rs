//! Failing scenarios under the real runners: each fails with the message its
//! file names in `# fails-with:` comments.

use crate::support::{cargo, failing_expectations, nextest_available, sections, text};

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
