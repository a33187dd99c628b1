//! A run's own trace: `clnrm.run` -> `clnrm.scenario` -> set-up, steps,
//! teardown, in one trace with the spans of the programs the steps ran,
//! each program's root a child of its step's span (`TRACEPARENT`).

use std::time::Duration;

use clnrm_core::receiver::Receiver;
use clnrm_core::run_trace::{RunTrace, write_trace};
use clnrm_core::spans::{Span, Status, spans_in_lines};
use sha2::{Digest, Sha256};

/// Runs the one file `toml` and returns the whole run's spans, as
/// `cargo clnrm run --trace` writes them.
fn run_traced(toml: &str) -> Vec<Span> {
    let (finished, parent) = super::run_file(toml, true);
    let mut trace = RunTrace::new(&parent);
    for test in &finished {
        trace.add(test);
    }
    trace.finish()
}

fn named<'s>(spans: &'s [Span], name: &str) -> &'s Span {
    (spans.iter())
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span `{name}` in {:?}", names(spans)))
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn the_run_its_scenario_and_its_steps_are_one_trace_with_the_programs_spans() {
    let python = super::receiver::python();
    let producer = clnrm_tests::fixtures().join("spans/python_producer.py");
    let spans = run_traced(&format!(
        r#"[meta]
name = "s"
backend = "local"

[[scenario]]
name = "shop"

[[scenario.steps]]
name = "produce"
command = [{python:?}, {producer:?}]
env = {{ OTEL_SERVICE_NAME = "shop" }}

[[scenario.steps]]
name = "fails"
command = ["sh", "-c", "echo out; exit 3"]
continue_on_failure = true

[expect.counts]
spans_total = {{ gte = 1 }}
"#
    ));
    let run = named(&spans, "clnrm.run");
    assert_eq!(spans[0].name, "clnrm.run");
    assert!(
        (spans.iter()).all(|s| s.trace_id == run.trace_id),
        "one trace"
    );
    assert_eq!(run.parent_span_id, None);
    assert_eq!(run.status, Status::Error, "a test failed");
    let scenario = named(&spans, "clnrm.scenario");
    assert_eq!(
        scenario.parent_span_id.as_deref(),
        Some(run.span_id.as_str())
    );
    assert_eq!(scenario.attributes["clnrm.scenario.name"], "shop");
    for child in [
        "clnrm.setup",
        "clnrm.step:produce",
        "clnrm.step:fails",
        "clnrm.teardown",
    ] {
        assert_eq!(
            named(&spans, child).parent_span_id.as_deref(),
            Some(scenario.span_id.as_str()),
            "{child}"
        );
    }
    let fails = named(&spans, "clnrm.step:fails");
    assert_eq!(fails.attributes["clnrm.step.exit_code"], "3");
    assert_eq!(
        fails.attributes["clnrm.step.argv"],
        r#"["sh","-c","echo out; exit 3"]"#
    );
    assert_eq!(
        fails.attributes["clnrm.step.stdout.sha256"],
        format!("{:x}", Sha256::digest(b"out\n"))
    );
    assert_eq!(fails.status, Status::Error);
    assert!(fails.duration_nanos().is_some());
    // The program's root span is a child of the step that ran it.
    let produce = named(&spans, "clnrm.step:produce");
    assert_eq!(produce.status, Status::Ok);
    let checkout = named(&spans, "checkout");
    assert_eq!(
        checkout.parent_span_id.as_deref(),
        Some(produce.span_id.as_str())
    );
    assert_eq!(
        checkout.resource.get("service.name").map(String::as_str),
        Some("shop")
    );
    assert_eq!(
        run.resource.get("service.name").map(String::as_str),
        Some("clnrm")
    );
    // Written as one OTLP JSON document, it reads back the same.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/trace.json");
    write_trace(&path, &spans).expect("written");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), 1, "one document");
    assert_eq!(spans_in_lines(&text).spans, spans);
}

#[test]
fn otel_endpoint_receives_the_scenarios_own_spans_and_its_programs() {
    let collector = Receiver::start(std::net::Ipv4Addr::LOCALHOST.into()).expect("a collector");
    let python = super::receiver::python();
    let producer = clnrm_tests::fixtures().join("spans/python_producer.py");
    run_traced(&format!(
        r#"[meta]
name = "s"
backend = "local"

[otel]
endpoint = "{}"
headers = {{ "x-team" = "qa" }}

[[scenario]]
name = "shop"

[[scenario.steps]]
name = "produce"
command = [{python:?}, {producer:?}]
"#,
        collector.endpoint()
    ));
    collector.settle(Duration::from_millis(50), Duration::from_secs(2));
    let received = collector.spans();
    let names = names(&received);
    for name in [
        "clnrm.scenario",
        "clnrm.step:produce",
        "checkout",
        "db.query",
    ] {
        assert!(names.contains(&name), "{name} not forwarded: {names:?}");
    }
}

/// Runs `toml` and returns its one test's outcome.
fn outcome_of(toml: &str) -> clnrm_core::outcome::Outcome {
    // Not asked to record: the expectations on own spans make it so.
    let (finished, _) = super::run_file(toml, false);
    finished.into_iter().next().expect("one test").outcome
}

#[test]
fn expectations_that_name_clnrms_own_spans_are_judged_against_them() {
    let file = |expectations: &str| {
        format!(
            "[meta]\nname = \"s\"\nbackend = \"local\"\n\n[[scenario]]\nname = \"s\"\n\n[[scenario.steps]]\nname = \"hello\"\ncommand = [\"echo\", \"hello\"]\n\n{expectations}"
        )
    };
    // The original's spellings too: `clnrm.scenario.<name>`, `clnrm.step.<name>`.
    let holds = file(
        r#"[[expect.span]]
name = "clnrm.step:hello"
parent = "clnrm.scenario"
attrs.all = { "clnrm.step.exit_code" = "0" }

[[expect.span]]
name = "clnrm.step.hello"
parent = "clnrm.scenario.s"

[expect.graph]
must_include = [["clnrm.run", "clnrm.scenario"], ["clnrm.scenario.s", "clnrm.step.hello"]]

[expect.counts]
by_name = { "clnrm.run" = { eq = 1 }, "clnrm.setup" = { eq = 1 } }

[expect.order]
must_precede = [["clnrm.setup", "clnrm.step:hello"]]
"#,
    );
    let outcome = outcome_of(&holds);
    assert!(outcome.is_success(), "{outcome:#?}");
    // A step that is not there fails, and no program spans are asked for.
    let outcome = outcome_of(&file("[[expect.span]]\nname = \"clnrm.step:nope\"\n"));
    let failures = outcome.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0]
            .message
            .contains("`clnrm.step:nope`: no span has that name"),
        "{failures:#?}"
    );
    // Totals are about the programs' spans: clnrm's own never count there.
    let outcome = outcome_of(&file("[expect.counts]\nspans_total = { eq = 0 }\n"));
    assert!(
        outcome
            .failures()
            .iter()
            .any(|f| f.message.starts_with("no spans were collected")),
        "{outcome:#?}"
    );
}

#[test]
fn nothing_is_recorded_when_nobody_uses_the_trace() {
    let (finished, _) = super::run_file(
        "[meta]\nname = \"s\"\nbackend = \"local\"\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n",
        false,
    );
    assert!(finished[0].outcome.is_success());
    assert!(finished[0].spans.is_empty(), "{:?}", finished[0].spans);
}
