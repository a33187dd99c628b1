//! The receiver against real HTTP requests on a real socket.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1 as otlp;
use prost::Message;

use super::Receiver;

fn start() -> Receiver {
    Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("the receiver starts")
}

/// Sends one request; the answer's status and body.
fn post(receiver: &Receiver, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    send(receiver, "POST", path, headers, body)
}

fn send(
    receiver: &Receiver,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(receiver.address()).expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body).expect("write body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer");
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let start = text.find("\r\n\r\n").map_or(answer.len(), |i| i + 4);
    (status, answer[start..].to_vec())
}

fn protobuf_export(names: &[&str]) -> Vec<u8> {
    let spans = names
        .iter()
        .map(|name| otlp::Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: (*name).into(),
            ..otlp::Span::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![otlp::ResourceSpans {
            scope_spans: vec![otlp::ScopeSpans {
                spans,
                ..otlp::ScopeSpans::default()
            }],
            ..otlp::ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

const JSON_EXPORT: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"02","name":"from-json"}]}]}]}"#;

fn names(receiver: &Receiver) -> Vec<String> {
    receiver.spans().into_iter().map(|s| s.name).collect()
}

#[test]
fn protobuf_json_and_gzip_bodies_are_taken_in() {
    let receiver = start();
    let protobuf = [("Content-Type", "application/x-protobuf")];
    let (status, body) = post(
        &receiver,
        "/v1/traces",
        &protobuf,
        &protobuf_export(&["a", "b"]),
    );
    assert_eq!((status, body.len()), (200, 0), "an empty export response");
    let json = [("Content-Type", "application/json; charset=utf-8")];
    let (status, body) = post(&receiver, "/v1/traces", &json, JSON_EXPORT.as_bytes());
    assert_eq!((status, body.as_slice()), (200, &b"{}"[..]));
    let mut zipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    zipped
        .write_all(&protobuf_export(&["zipped"]))
        .expect("gzip");
    let zipped = zipped.finish().expect("gzip");
    let gzip = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "gzip"),
    ];
    assert_eq!(post(&receiver, "/v1/traces", &gzip, &zipped).0, 200);
    assert_eq!(names(&receiver), ["a", "b", "from-json", "zipped"]);
    assert!(receiver.warnings().is_empty(), "{:?}", receiver.warnings());
}

#[test]
fn logs_and_metrics_are_accepted_and_dropped() {
    let receiver = start();
    let protobuf = [("Content-Type", "application/x-protobuf")];
    for path in ["/v1/logs", "/v1/metrics"] {
        assert_eq!(
            post(&receiver, path, &protobuf, b"anything").0,
            200,
            "{path}"
        );
    }
    assert!(receiver.spans().is_empty());
}

#[test]
fn bad_requests_get_the_specifications_codes_and_a_warning() {
    let receiver = start();
    let json = [("Content-Type", "application/json")];
    let (status, body) = post(&receiver, "/v1/traces", &json, b"{not json");
    assert_eq!(status, 400);
    let reason: serde_json::Value = serde_json::from_slice(&body).expect("a JSON status");
    assert_eq!(reason["code"], 3);
    assert!(
        reason["message"]
            .as_str()
            .is_some_and(|m| m.contains("not JSON")),
        "{reason}"
    );
    let protobuf = [("Content-Type", "application/x-protobuf")];
    assert_eq!(
        post(&receiver, "/v1/traces", &protobuf, b"\xff\xff\xff").0,
        400
    );
    let (status, _) = post(
        &receiver,
        "/v1/traces",
        &[("Content-Type", "text/plain")],
        b"hi",
    );
    assert_eq!(status, 415);
    assert_eq!(post(&receiver, "/v2/traces", &protobuf, b"").0, 404);
    assert_eq!(send(&receiver, "GET", "/v1/traces", &protobuf, b"").0, 405);
    // Said to be too large: refused before it is read.
    let mut stream = TcpStream::connect(receiver.address()).expect("connect");
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        super::MAX_BODY_BYTES + 1
    );
    stream.write_all(head.as_bytes()).expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let warnings = receiver.warnings();
    assert_eq!(warnings.len(), 6, "{warnings:?}");
    assert!(warnings[0].contains("(400)"), "{warnings:?}");
    assert!(receiver.spans().is_empty());
}

#[test]
fn settling_waits_for_quiet_but_never_past_its_cap() {
    let receiver = Arc::new(start());
    // Nothing came: quiet already.
    receiver.settle(Duration::from_secs(60), Duration::from_secs(60));
    let protobuf = [("Content-Type", "application/x-protobuf")];
    post(
        &receiver,
        "/v1/traces",
        &protobuf,
        &protobuf_export(&["late"]),
    );
    receiver.settle(Duration::from_millis(50), Duration::from_secs(60));
    assert_eq!(names(&receiver), ["late"]);
    // A program that never stops exporting is cut off by the cap.
    let stop = Arc::new(AtomicBool::new(false));
    let chatter = {
        let (receiver, stop) = (Arc::clone(&receiver), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                post(&receiver, "/v1/traces", &protobuf, &protobuf_export(&["x"]));
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    receiver.settle(Duration::from_secs(60), Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    chatter.join().expect("the chatter stops");
}
