//! Spans from containers, against the real engine: the runner and the
//! services export to the scenario's receiver through the gateway of the
//! scenario's internal network, by its host name; services are stopped
//! gracefully (so they flush) before anything is judged.

use std::process::Command;

use super::{default_settings, our_containers, report, run_file, serial, stdout};

/// A scenario file around `body`, whose containers see the span fixtures
/// (`post-span.sh`, `flush-on-term.sh`) at /fx.
fn scenario(body: &str) -> String {
    let fixtures = clnrm_tests::fixtures().join("spans");
    format!(
        "[meta]\nname = \"s\"\nimage = \"clnrm-busybox:latest\"\n\n{body}",
        body = body.replace("FIXTURES", &fixtures.display().to_string())
    )
}

/// Networks this test process created that still exist.
fn our_networks() -> usize {
    let out = Command::new("docker")
        .args(["network", "ls", "-q", "--filter"])
        .arg(format!("label=clnrm.pid={}", std::process::id()))
        .output()
        .expect("docker network ls");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn the_runner_exports_to_the_receiver_by_its_host_name_with_no_route_out() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    // The runner has no mounts: the producer script comes in on stdin.
    let producer = std::fs::read_to_string(clnrm_tests::fixtures().join("spans/post-span.sh"))
        .expect("fixture");
    let toml = scenario(&format!(
        r#"[[scenario]]
name = "s"

[[scenario.steps]]
name = "export"
command = ["sh", "-c", "echo $OTEL_EXPORTER_OTLP_ENDPOINT; cat > /tmp/post.sh && sh /tmp/post.sh from.runner"]
stdin = {producer:?}

[[scenario.steps]]
name = "no_route_out"
command = ["sh", "-c", "wget -q -T 2 -O /dev/null http://1.1.1.1/ && echo reached || echo unreachable"]

[[expect.span]]
name = "from.runner"
kind = "server"

[expect.hermeticity]
resource_attrs.must_match = {{ "service.name" = "box" }}
"#
    ));
    let r = run_file(dir.path(), &toml, &default_settings());
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0).trim(), "http://clnrm-otlp:4318");
    assert_eq!(
        stdout(&r, 1).trim(),
        "unreachable",
        "the network is internal"
    );
    let spans = r.spans.as_ref().expect("spans were collected");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(our_containers(), 0);
    assert_eq!(our_networks(), 0, "the scenario's network is removed");
}

#[test]
fn services_export_too_and_flush_when_stopped_before_judging() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = scenario(
        r#"[service.api]
image = "clnrm-busybox:latest"
args = ["/fx/flush-on-term.sh"]
volumes = [{ host_path = "FIXTURES", container_path = "/fx", read_only = true }]
# Ready when its span has arrived at the receiver.
wait_for_span = "service.ready"

# The original's collector service: the receiver answers to its id.
[service.collector]
plugin = "otel_collector"

[[scenario]]
name = "s"

[[scenario.steps]]
name = "by_the_collectors_name"
service = "api"
command = ["/fx/post-span.sh", "step.in.service", "http://collector:4318"]

[expect.counts]
spans_total = { eq = 3 }
by_name = { "service.ready" = { eq = 1 }, "service.flushed" = { eq = 1 }, "step.in.service" = { eq = 1 } }
"#,
    );
    let r = run_file(dir.path(), &toml, &default_settings());
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(our_containers(), 0);
    assert_eq!(our_networks(), 0);
}

#[test]
fn a_span_file_written_in_the_runner_is_read_after_the_steps() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","name":"filed","kind":3}]}]}]}"#;
    let toml = scenario(&format!(
        r#"[[scenario]]
name = "s"
artifacts.collect = ["spans:file:/tmp/spans.jsonl"]

[[scenario.steps]]
name = "write"
command = ["sh", "-c", "cat > /tmp/spans.jsonl"]
stdin = {line:?}

[[expect.span]]
name = "filed"
kind = "client"
"#
    ));
    let r = run_file(dir.path(), &toml, &default_settings());
    assert!(!r.failed(), "{}", report(&r));
    // A file that is not there fails the scenario, naming it.
    let missing = toml.replace(
        "spans:file:/tmp/spans.jsonl",
        "spans:file:/tmp/nowhere.jsonl",
    );
    let r = run_file(dir.path(), &missing, &default_settings());
    assert!(
        report(&r)
            .contains("the span file `/tmp/nowhere.jsonl` (`artifacts.collect`) could not be read"),
        "{}",
        report(&r)
    );
    assert_eq!(our_containers(), 0);
}

#[test]
fn no_spans_from_a_container_says_where_the_receiver_listened() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = scenario(
        "[[scenario]]\nname = \"s\"\n\n[[scenario.steps]]\nname = \"quiet\"\ncommand = [\"true\"]\n\n[expect.counts]\nspans_total = { gte = 1 }\n",
    );
    let r = run_file(dir.path(), &toml, &default_settings());
    let text = report(&r);
    assert!(
        text.contains("no spans were collected: the receiver listened on 127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("(in the containers http://clnrm-otlp:4318)"),
        "{text}"
    );
    // Bound where the scenario's own programs reach it, never on every
    // interface: loopback, and the scenario network's gateway.
    let listened = (text.split("the receiver listened on ").nth(1))
        .and_then(|rest| rest.split(" (in the containers").next())
        .expect("the addresses");
    let ips: Vec<std::net::IpAddr> = (listened.split([',', ' ']))
        .filter_map(|word| word.parse::<std::net::SocketAddr>().ok())
        .map(|address| address.ip())
        .collect();
    assert!(ips.len() >= 2, "loopback and the gateway: {listened}");
    assert!(
        ips.iter().all(|ip| match ip {
            std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
            std::net::IpAddr::V6(v6) => v6.is_loopback(),
        }),
        "{listened}"
    );
    assert_eq!(our_containers(), 0);
}

/// The static build of the example's instrumented program
/// (`scripts/test-tools.sh` makes it), for images without a C library.
fn static_traced_folder() -> std::path::PathBuf {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-tools/traced/x86_64-unknown-linux-gnu/release");
    assert!(
        folder.join("traced").is_file(),
        "the static `traced` is not built: run `bash scripts/test-tools.sh` (the README's test command does)"
    );
    folder
}

#[test]
fn the_rust_sdk_exports_from_a_container_without_a_c_library() {
    let _serial = serial();
    let traced = static_traced_folder().join("traced");
    let traced = traced.canonicalize().expect("the static build");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = scenario(&format!(
        r#"[[scenario]]
name = "s"

[[scenario.steps]]
name = "protobuf"
command = [{traced:?}, "checkout", "--items", "2"]

[[scenario.steps]]
name = "json"
command = [{traced:?}, "checkout", "--decline"]
env = {{ OTEL_EXPORTER_OTLP_PROTOCOL = "http/json", OTEL_SERVICE_NAME = "shop" }}
expected_exit_code = 2

[[expect.span]]
name = "payment.charge"
parent = "checkout"
kind = "client"
events.all = ["declined"]

[expect.counts]
spans_total = {{ eq = 7 }}
errors_total = {{ eq = 1 }}
"#
    ));
    let mut settings = default_settings();
    // Mounted into the runner (busybox: no C library) at the same path.
    settings.binaries = vec![traced];
    let r = run_file(dir.path(), &toml, &settings);
    assert!(!r.failed(), "{}", report(&r));
    let spans = r.spans.as_ref().expect("collected");
    let services: std::collections::BTreeSet<&str> = (spans.iter())
        .filter_map(|s| s.resource.get("service.name").map(String::as_str))
        .collect();
    assert!(services.contains("shop"), "{services:?}");
    assert_eq!(our_containers(), 0);
}

#[test]
fn the_traced_examples_known_answers_hold_on_the_host_and_in_containers() {
    use clnrm_core::config::{Config, ConfigOverrides};
    use clnrm_core::runner::{Event, RunOptions, run_suite};
    use clnrm_core::suite::SuiteBuilder;
    let _serial = serial();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/traced");
    let config = Config::load(&example, &ConfigOverrides::default()).expect("the example's config");
    let suite = SuiteBuilder::new(config)
        .binaries_in(static_traced_folder())
        .build()
        .expect("the example's suite");
    let mut finished = Vec::new();
    run_suite(&suite, RunOptions::new(2, false), &mut |event| {
        if let Event::TestFinished(test) = event {
            finished.push(test.clone());
        }
    });
    assert_eq!(finished.len(), suite.tests.len());
    assert!(finished.len() >= 40, "{} tests", finished.len());
    let failed: Vec<String> = (finished.iter())
        .filter(|t| !t.outcome.is_success())
        .map(|t| format!("{}: {:#?}", t.name, t.outcome))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(our_containers(), 0);
}
