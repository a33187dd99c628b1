//! `cargo clnrm run --trace FILE` and clnrm's own
//! `OTEL_EXPORTER_OTLP_ENDPOINT`: the run's trace written as one OTLP JSON
//! document, and forwarded to the endpoint.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use clnrm_core::receiver::Receiver;
use clnrm_core::spans::{Span, spans_in_lines};

fn run(dir: &Path, args: &[&str], endpoint: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    command
        .args(["clnrm", "run"])
        .args(args)
        .current_dir(dir)
        .env_remove("CLNRM_ROOTS")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    if let Some(endpoint) = endpoint {
        command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    }
    command.output().expect("run cargo-clnrm")
}

fn two_scenarios(dir: &Path) {
    std::fs::write(
        dir.join("two.clnrm.toml"),
        r#"[meta]
name = "two"
backend = "local"

[[scenario]]
name = "passes"
[[scenario.steps]]
name = "hello"
command = ["echo", "hello"]

[[scenario]]
name = "fails"
[[scenario.steps]]
name = "exits"
command = ["sh", "-c", "exit 4"]
"#,
    )
    .expect("write");
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn trace_writes_the_whole_run_as_one_otlp_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_scenarios(dir.path());
    let out = run(
        dir.path(),
        &[".", "--trace", "out/run.json", "-j", "1"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = std::fs::read_to_string(dir.path().join("out/run.json")).expect("the trace");
    assert_eq!(text.lines().count(), 1);
    let spans = spans_in_lines(&text).spans;
    let names = names(&spans);
    assert_eq!(names.iter().filter(|n| **n == "clnrm.run").count(), 1);
    assert_eq!(names.iter().filter(|n| **n == "clnrm.scenario").count(), 2);
    assert!(names.contains(&"clnrm.step:hello") && names.contains(&"clnrm.step:exits"));
    let exits = spans
        .iter()
        .find(|s| s.name == "clnrm.step:exits")
        .expect("step");
    assert_eq!(exits.attributes["clnrm.step.exit_code"], "4");
    assert!(spans.iter().all(|s| s.trace_id == spans[0].trace_id));
}

#[test]
fn the_run_is_forwarded_to_clnrms_own_otlp_endpoint() {
    let backend = Receiver::start(Ipv4Addr::LOCALHOST.into()).expect("a backend");
    let dir = tempfile::tempdir().expect("tempdir");
    two_scenarios(dir.path());
    let out = run(dir.path(), &["."], Some(&backend.endpoint()));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    backend.settle(Duration::from_millis(50), Duration::from_secs(2));
    let spans = backend.spans();
    let names = names(&spans);
    assert!(names.contains(&"clnrm.run"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "clnrm.scenario").count(), 2);
    // Nothing listening: a warning, and the verdict is the run's own.
    let closed = format!("http://127.0.0.1:{}", backend.address().port());
    drop(backend);
    let out = run(dir.path(), &["."], Some(&closed));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: cannot forward the spans to") && stderr.contains("/v1/traces"),
        "{stderr}"
    );
}

#[test]
fn a_trace_that_cannot_be_written_is_a_warning_not_a_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("one.clnrm.toml"),
        "[meta]\nname = \"one\"\nbackend = \"local\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    )
    .expect("write");
    // A folder where the file should be.
    std::fs::create_dir(dir.path().join("taken")).expect("mkdir");
    let out = run(dir.path(), &[".", "--trace", "taken"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: cannot write the trace taken"),
        "{stderr}"
    );
}

#[test]
fn secrets_are_masked_in_the_trace_and_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("secret.clnrm.toml"),
        r#"[meta]
name = "secret"
backend = "local"

[[scenario]]
name = "leaks"
artifacts.collect = ["spans:stdout"]
[[scenario.steps]]
name = "prints"
command = ["sh", "-c", "echo '{\"name\":\"call\",\"trace_id\":\"t1\",\"span_id\":\"s1\",\"attributes\":{\"auth\":\"Bearer hunter2-token\"}}'; echo hunter2-token; exit 3"]
env = { API_TOKEN = "hunter2-token" }
"#,
    )
    .expect("write");
    let out = run(
        dir.path(),
        &[".", "--trace", "run.json", "--report-dir", "reports"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let trace = std::fs::read_to_string(dir.path().join("run.json")).expect("the trace");
    let spans = spans_in_lines(&trace).spans;
    let call = spans
        .iter()
        .find(|s| s.name == "call")
        .expect("the program's span");
    assert_eq!(call.attributes["auth"], "Bearer ***");
    let step = (spans.iter())
        .find(|s| s.name == "clnrm.step:prints")
        .expect("the step's span");
    assert!(step.attributes["clnrm.step.argv"].contains("***"));
    assert!(!trace.contains("hunter2-token"), "{trace}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("hunter2-token"), "{stdout}");
    let reports: Vec<_> = (std::fs::read_dir(dir.path().join("reports")).expect("reports"))
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert!(
        reports.len() >= 2,
        "the JSON and JUnit reports: {reports:?}"
    );
    for report in reports {
        let text = std::fs::read_to_string(&report).expect("read");
        assert!(
            !text.contains("hunter2-token"),
            "{}: {text}",
            report.display()
        );
    }
}
