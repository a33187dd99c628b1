//! The span receiver against a real producer: the OpenTelemetry Python SDK
//! and its OTLP/HTTP exporter (`scripts/test-tools.sh` installs them),
//! configured through the standard variables only.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clnrm_core::outcome::FailureKind;
use clnrm_core::receiver::Receiver;
use clnrm_core::spans::{Kind, Status};

pub(super) fn python() -> std::path::PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/venv/bin/python");
    assert!(
        python.is_file(),
        "the OpenTelemetry Python SDK is not installed: run `bash scripts/test-tools.sh` (the README's test command does)"
    );
    python
}

#[test]
fn spans_from_the_python_sdk_arrive_whole() {
    let receiver = Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("the receiver starts");
    let out = Command::new(python())
        .arg(clnrm_tests::fixtures().join("spans/python_producer.py"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", "shop")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        .output()
        .expect("run the producer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    receiver.settle(Duration::from_millis(100), Duration::from_secs(5));
    assert!(receiver.warnings().is_empty(), "{:?}", receiver.warnings());
    let spans = receiver.spans();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span `{name}` in {spans:?}"))
    };
    let (checkout, query) = (find("checkout"), find("db.query"));
    assert_eq!(spans.len(), 2);
    assert_eq!(checkout.kind, Kind::Server);
    assert_eq!(query.kind, Kind::Client);
    assert_eq!(
        query.parent_span_id.as_deref(),
        Some(checkout.span_id.as_str())
    );
    assert_eq!(query.trace_id, checkout.trace_id);
    assert_eq!(checkout.trace_id.len(), 32);
    assert_eq!(checkout.parent_span_id, None);
    assert_eq!(query.status, Status::Error);
    assert_eq!(checkout.status, Status::Unset);
    let attribute = |key: &str| checkout.attributes.get(key).map(String::as_str);
    assert_eq!(attribute("http.status_code"), Some("200"));
    assert_eq!(attribute("cart.total"), Some("12.5"));
    assert_eq!(query.events.first().map(|e| e.name.as_str()), Some("retry"));
    assert!(checkout.duration_nanos().is_some());
    let resource = |key: &str| checkout.resource.get(key).map(String::as_str);
    assert_eq!(resource("service.name"), Some("shop"));
    assert_eq!(resource("deployment.environment"), Some("test"));
}

/// Runs a scenario whose one step is the Python producer (or `step`), with
/// `expectations` after it; the outcome.
fn run_with_spans(step: &str, expectations: &str) -> clnrm_core::outcome::Outcome {
    run_with_spans_in("", step, expectations)
}

/// [`run_with_spans`] with more keys in the `[[scenario]]` table.
fn run_with_spans_in(
    scenario_keys: &str,
    step: &str,
    expectations: &str,
) -> clnrm_core::outcome::Outcome {
    let (finished, _) = super::run_file(
        &format!(
            "[meta]\nname = \"s\"\nbackend = \"local\"\n\n[otel]\nresources = {{ \"deployment.environment\" = \"test\" }}\n\n[[scenario]]\nname = \"s\"\n{scenario_keys}\n[[scenario.steps]]\nname = \"produce\"\n{step}\n\n{expectations}\n"
        ),
        false,
    );
    finished.into_iter().next().expect("one test").outcome
}

fn producer_step() -> String {
    format!(
        "command = [{:?}, {:?}]\nenv = {{ OTEL_SERVICE_NAME = \"shop\" }}",
        python().display().to_string(),
        clnrm_tests::fixtures()
            .join("spans/python_producer.py")
            .display()
            .to_string()
    )
}

#[test]
fn a_scenario_is_judged_by_the_spans_its_program_exports() {
    let holds = r#"[[expect.span]]
name = "db.query"
parent = "checkout"
kind = "client"
events.all = ["retry"]

[[expect.span]]
name = "checkout"
kind = "server"
attrs.all = { "http.status_code" = "200", "cart.total" = "12.5" }
duration_ms = { max = 60000 }

[expect.counts]
spans_total = { eq = 2 }
errors_total = { eq = 1 }
by_name = { checkout = { eq = 1 } }

[expect.status]
by_name = { "db.query" = "ERROR" }
"#;
    assert_eq!(
        run_with_spans(&producer_step(), holds),
        clnrm_core::outcome::Outcome::Passed
    );
}

#[test]
fn every_expectation_that_does_not_hold_is_reported_at_its_line() {
    let fails = r#"[[expect.span]]
name = "checkout"
kind = "client"

[[expect.span]]
name = "payment"

[expect.status]
all = "OK"
"#;
    let outcome = run_with_spans(&producer_step(), fails);
    let failures = outcome.failures();
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert!(
        failures
            .iter()
            .all(|f| f.kind == FailureKind::SpanExpectation)
    );
    assert!(
        failures[0]
            .message
            .contains("NOT met: kind client (is Server)"),
        "{failures:#?}"
    );
    assert_eq!(failures[0].location.as_ref().map(|l| l.line), Some(16));
    assert!(
        failures[1].message.contains("no span has that name"),
        "{failures:#?}"
    );
    assert_eq!(failures[1].location.as_ref().map(|l| l.line), Some(20));
    assert!(
        failures[2].message.contains("`db.query` Error"),
        "{failures:#?}"
    );
}

#[test]
fn no_spans_at_all_says_where_the_receiver_listened() {
    let outcome = run_with_spans(
        r#"command = ["true"]"#,
        "[expect.counts]\nspans_total = { gte = 0 }\n",
    );
    let failures = outcome.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    let message = &failures[0].message;
    assert!(
        message.starts_with("no spans were collected: the receiver listened on 127.0.0.1:"),
        "{message}"
    );
    assert!(
        message.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:"),
        "{message}"
    );
}

#[test]
fn the_tables_about_the_whole_trace_are_judged_too() {
    let holds = r#"[expect.graph]
must_include = [["checkout", "db.query"]]
acyclic = true

[[expect.window]]
outer = "checkout"
contains = ["db.query"]

[expect.hermeticity]
no_external_services = true
resource_attrs.must_match = { "service.name" = "shop", "deployment.environment" = "test" }
span_attrs.forbid_keys = ["password"]
"#;
    assert_eq!(
        run_with_spans(&producer_step(), holds),
        clnrm_core::outcome::Outcome::Passed
    );
    // `checkout` starts first and ends last: `db.query` cannot precede it.
    let fails = "[expect.order]\nmust_precede = [[\"db.query\", \"checkout\"]]\n";
    let outcome = run_with_spans(&producer_step(), fails);
    let failures = outcome.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0].kind, FailureKind::SpanExpectation);
    assert!(
        failures[0]
            .message
            .contains("1 of 1 `checkout` start before any `db.query` ends"),
        "{failures:#?}"
    );
}

#[test]
fn spans_printed_on_stdout_or_written_to_a_file_are_judged_with_artifacts_collect() {
    let step = r#"command = ["sh", "-c", "echo 'not a span'; echo '{\"name\":\"printed\",\"trace_id\":\"ab\",\"span_id\":\"01\",\"kind\":\"server\"}'; echo '{broken'"]"#;
    let expectation = "[[expect.span]]\nname = \"printed\"\nkind = \"server\"\n";
    let collect = r#"artifacts.collect = ["spans:default"]"#;
    assert!(run_with_spans_in(collect, step, expectation).is_success());
    // Without `artifacts.collect` the printed span is not taken.
    let outcome = run_with_spans(step, expectation);
    assert!(
        outcome.failures()[0]
            .message
            .starts_with("no spans were collected"),
        "{outcome:#?}"
    );
    // The broken line is counted, in the report's notes.
    let outcome = run_with_spans_in(collect, step, "[expect.counts]\nspans_total = { eq = 2 }\n");
    let clnrm_core::outcome::Outcome::Failed(failures) = &outcome else {
        panic!("{outcome:#?}");
    };
    assert!(
        failures
            .notes
            .iter()
            .any(|n| n.starts_with("1 line(s) of the steps' stdout")),
        "{failures:#?}"
    );
    // A span file the step wrote is read after the steps.
    let writes = r#"command = ["sh", "-c", "echo '{\"name\":\"filed\",\"trace_id\":\"ab\",\"span_id\":\"02\"}' > out.jsonl"]"#;
    let filed = "[[expect.span]]\nname = \"filed\"\n";
    let from_file = r#"artifacts.collect = ["spans:file:out.jsonl"]"#;
    assert!(run_with_spans_in(from_file, writes, filed).is_success());
    // A file that is not there fails, saying which.
    let outcome = run_with_spans_in(from_file, r#"command = ["true"]"#, filed);
    assert!(
        (outcome.failures().iter()).any(|f| f.kind == FailureKind::SpanExpectation
            && f.message
                .starts_with("the span file `out.jsonl` (`artifacts.collect`) could not be read")),
        "{outcome:#?}"
    );
}
