//! Keys the original's own suites use on steps, honoured: retries
//! (`retry_on_failure`, `max_retries`) and `expected_output_regex_not`.

use clnrm_core::outcome::Outcome;

use super::{run, run_file, stdout};

/// A step that fails until its third run (it counts its runs in a file of
/// the scenario's working directory).
const FLAKY: &str = r#"command = ["sh", "-c", "n=$(cat runs 2>/dev/null || echo 0); n=$((n + 1)); echo $n > runs; echo run $n; [ $n -ge 3 ]"]"#;

#[test]
fn a_retried_step_passes_on_a_later_attempt_and_each_attempt_ran() {
    let r = run(&format!(
        "[[steps]]\nname = \"flaky\"\n{FLAKY}\nretry_on_failure = true\nmax_retries = 2\n"
    ));
    assert!(!r.failed(), "{:?}", r.steps[0].earlier_attempts);
    assert_eq!(r.steps[0].attempts(), 3);
    let outputs: Vec<String> = (r.steps[0].earlier_attempts.iter())
        .map(|a| a.output.as_ref().expect("ran").stdout.clone())
        .collect();
    assert_eq!(outputs, ["run 1\n", "run 2\n"]);
}

#[test]
fn a_step_out_of_retries_fails_and_its_report_says_every_attempt() {
    let toml = format!(
        "[meta]\nname = \"t\"\nbackend = \"local\"\n\n[[steps]]\nname = \"flaky\"\n{FLAKY}\nretry_on_failure = true\nmax_retries = 1\n"
    );
    let (finished, _) = run_file(&toml, false);
    let Outcome::Failed(failures) = &finished[0].outcome else {
        panic!("{:?}", finished[0].outcome);
    };
    assert_eq!(
        failures.list[0].message,
        "expected exit code 0, was 1 (attempt 2 of 2, `retry_on_failure`; attempt 1: expected exit code 0, was 1)"
    );
}

#[test]
fn without_retry_on_failure_a_step_runs_once() {
    for keys in ["", "retry_on_failure = false\nmax_retries = 5\n"] {
        let r = run(&format!("[[steps]]\nname = \"flaky\"\n{FLAKY}\n{keys}"));
        assert!(r.failed());
        assert_eq!(r.steps[0].attempts(), 1, "{keys}");
    }
}

#[test]
fn expected_output_regex_not_fails_a_step_whose_output_matches() {
    let step = |regex: &str| {
        format!(
            "[[steps]]\nname = \"s\"\ncommand = [\"echo\", \"all good\"]\nexpected_output_regex_not = \"{regex}\"\n"
        )
    };
    assert!(!run(&step("(?i)error")).failed());
    let r = run(&step("good$"));
    assert!(r.failed());
    let failures = r.failures(&|_| None);
    assert_eq!(
        failures.list[0].message,
        "expected stdout not to match regex `good$`; it did"
    );
}

#[test]
fn max_duration_seconds_caps_the_scenarios_timeout() {
    let r = run(
        "[limits]\nmax_duration_seconds = 1\n\n[[steps]]\nname = \"slow\"\ncommand = [\"sleep\", \"30\"]\ntimeout = \"60s\"\n",
    );
    assert!(r.failed());
    let failures = r.failures(&|_| None);
    let messages: Vec<&str> = failures.list.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages.contains(&"the scenario timed out after 1s"),
        "{messages:?}"
    );
}

#[test]
fn a_step_whose_dependency_failed_does_not_run() {
    let r = run(r#"[[steps]]
name = "build"
command = ["false"]
continue_on_failure = true

[[steps]]
name = "unrelated"
command = ["true"]
continue_on_failure = true

[[steps]]
name = "deploy"
depends_on = ["build"]
command = ["sh", "-c", "echo ran > deployed"]
continue_on_failure = true

[[steps]]
name = "check"
depends_on = "unrelated"
command = ["sh", "-c", "test ! -e deployed && echo checked"]
"#);
    let ran: Vec<(&str, bool)> = (r.steps.iter())
        .map(|s| (s.name.as_str(), s.output.is_some()))
        .collect();
    assert_eq!(
        ran,
        [
            ("build", true),
            ("unrelated", true),
            ("deploy", false),
            ("check", true)
        ]
    );
    assert_eq!(stdout(&r, 3), "checked\n");
    let failures = r.failures(&|_| None);
    let messages: Vec<&str> = failures.list.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages.contains(&"the step did not start: it depends on step `build`, which failed"),
        "{messages:?}"
    );
}
