//! The span receiver against a real producer: the OpenTelemetry Python SDK
//! and its OTLP/HTTP exporter (`scripts/test-tools.sh` installs them),
//! configured through the standard variables only.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clnrm_core::receiver::Receiver;
use clnrm_core::spans::{Kind, Status};

fn python() -> std::path::PathBuf {
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
