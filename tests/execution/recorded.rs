//! Export bodies recorded from real SDKs (tests/fixtures/spans/recorded/,
//! its README says how) POSTed to a real receiver with the headers they were
//! sent with: each is taken in whole, as the same spans as decoding it
//! directly, and a damaged one is refused, never a panic.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};

use clnrm_core::receiver::Receiver;
use clnrm_core::spans::{Kind, Span, Status, from_protobuf};

/// A recorded request: its path, its headers, its body as it was sent.
struct Recorded {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn recorded(name: &str) -> Recorded {
    let dir = clnrm_tests::fixtures().join("spans/recorded");
    let body = std::fs::read(dir.join(format!("{name}.body"))).expect("a recorded body");
    let head = std::fs::read_to_string(dir.join(format!("{name}.headers"))).expect("its headers");
    let mut lines = head.lines();
    let path = (lines.next())
        .and_then(|l| l.strip_prefix("POST "))
        .expect("`POST PATH` first")
        .to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Recorded {
        path,
        headers,
        body,
    }
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer: status, headers (names in lowercase), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Sends `body` with the recorded headers, but for the connection's own
/// (`Host`, `Content-Length`, `Connection`).
fn post(receiver: &Receiver, recorded: &Recorded, body: &[u8]) -> Answer {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        recorded.path,
        receiver.address(),
        body.len()
    );
    let own = ["host", "content-length", "connection"];
    for (name, value) in &recorded.headers {
        if !own.contains(&name.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(receiver.address()).expect("connect");
    stream.write_all(head.as_bytes()).expect("write the head");
    stream.write_all(body).expect("write the body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer");
    let end = (answer.windows(4))
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    let head = String::from_utf8_lossy(&answer[..end]).to_string();
    let mut lines = head.lines();
    let status = (lines.next())
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: answer[end + 4..].to_vec(),
    }
}

fn start() -> Receiver {
    Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("the receiver starts")
}

/// Posts `name` as recorded to a fresh receiver: what it took in.
fn taken_in(name: &str) -> Vec<Span> {
    let recorded = recorded(name);
    let receiver = start();
    let answer = post(&receiver, &recorded, &recorded.body);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let content_type = (answer.headers.iter()).find(|(k, _)| k == "content-type");
    let json = recorded
        .header("Content-Type")
        .is_some_and(|t| t.starts_with("application/json"));
    let (wanted_type, wanted_body) = if json {
        ("application/json", &b"{}"[..])
    } else {
        ("application/x-protobuf", &b""[..])
    };
    assert_eq!(content_type.map(|(_, v)| v.as_str()), Some(wanted_type));
    assert_eq!(answer.body, wanted_body, "an empty export response");
    assert!(receiver.warnings().is_empty(), "{:?}", receiver.warnings());
    receiver.spans()
}

/// Each span as `name kind <- parent-name status`, in arrival order.
fn outline(spans: &[Span]) -> Vec<String> {
    spans
        .iter()
        .map(|span| {
            let parent = (span.parent_span_id.as_deref())
                .map(|p| {
                    (spans.iter().find(|s| s.span_id == p))
                        .map_or_else(|| format!("?{p}"), |s| s.name.clone())
                })
                .unwrap_or_else(|| "-".into());
            format!(
                "{} {:?} <- {parent} {:?}",
                span.name, span.kind, span.status
            )
        })
        .collect()
}

fn named<'s>(spans: &'s [Span], name: &str) -> &'s Span {
    (spans.iter())
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span `{name}` in {:?}", outline(spans)))
}

fn attributes(span: &Span) -> Vec<(&str, &str)> {
    (span.attributes.iter())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// 2026-01-01T00:00:00Z plus `ms`, as the Python producer timed its spans.
fn at(ms: u64) -> Option<u64> {
    Some(1_767_225_600_000_000_000 + ms * 1_000_000)
}

/// What tests/fixtures/spans/python_recorded.py exported.
fn assert_the_python_spans(spans: &[Span]) {
    assert_eq!(
        outline(spans),
        [
            "db.query Client <- checkout Error",
            "payment.charge Client <- checkout Ok",
            "queue.publish Producer <- checkout Unset",
            "checkout Server <- - Unset",
            "render Internal <- queue.consume Unset",
            "queue.consume Consumer <- - Unset",
        ]
    );
    let checkout = named(spans, "checkout");
    assert_eq!(
        attributes(checkout),
        [
            ("cart.gift", "true"),
            ("cart.items", "3"),
            ("cart.quantities", "[1,2]"),
            ("cart.skus", "[a-1,b-2]"),
            ("cart.total", "12.5"),
            ("cart.weight", "3"),
            ("http.request.method", "POST"),
            ("http.status_code", "200"),
            ("url.full", "http://127.0.0.1:8080/checkout"),
        ]
    );
    assert_eq!(
        (checkout.start_unix_nano, checkout.end_unix_nano),
        (at(0), at(20))
    );
    assert_eq!(checkout.trace_id.len(), 32);
    assert_eq!(checkout.span_id, "a5aec7978306d03b");
    let event = &checkout.events[..];
    assert_eq!(event.len(), 1);
    assert_eq!(
        (event[0].name.as_str(), event[0].time_unix_nano),
        ("cart.validated", at(1))
    );
    assert_eq!(attributes_of(&event[0].attributes), [("items", "3")]);
    let query = named(spans, "db.query");
    assert_eq!(query.kind, Kind::Client);
    assert_eq!(query.status, Status::Error);
    assert_eq!(query.trace_id, checkout.trace_id);
    assert_eq!(query.duration_nanos(), Some(4_000_000));
    assert_eq!(
        attributes(query),
        [
            ("db.rows", "-1"),
            ("db.system", "postgresql"),
            ("server.address", "db")
        ]
    );
    assert_eq!(query.events[0].name, "retry");
    assert_eq!(
        attributes_of(&query.events[0].attributes),
        [("attempt", "2"), ("backoff.ms", "0.5")]
    );
    let payment = named(spans, "payment.charge");
    assert_eq!(
        attributes(payment),
        [
            ("payment.amount", "12.5"),
            ("server.address", "payments.example.com")
        ]
    );
    let consume = named(spans, "queue.consume");
    assert_ne!(consume.trace_id, checkout.trace_id, "a trace of its own");
    assert_eq!(named(spans, "render").trace_id, consume.trace_id);
    for span in spans {
        assert_eq!(
            attributes_of(&span.resource),
            [
                ("deployment.environment", "test"),
                ("service.instance.id", "shop-1"),
                ("service.name", "shop"),
                ("telemetry.sdk.language", "python"),
                ("telemetry.sdk.name", "opentelemetry"),
                ("telemetry.sdk.version", "1.45.2"),
            ],
            "{}",
            span.name
        );
    }
}

fn attributes_of(map: &clnrm_core::spans::Attributes) -> Vec<(&str, &str)> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn the_python_sdks_protobuf_body_is_taken_in_whole() {
    let spans = taken_in("python-protobuf");
    assert_the_python_spans(&spans);
    let body = recorded("python-protobuf").body;
    assert_eq!(spans, from_protobuf(&body).expect("decodes"));
}

#[test]
fn the_python_sdks_gzip_body_is_the_same_spans_as_the_plain_one() {
    let zipped = recorded("python-protobuf-gzip");
    assert_eq!(zipped.header("Content-Encoding"), Some("gzip"));
    assert_eq!(&zipped.body[..2], b"\x1f\x8b", "gzip as it was sent");
    let spans = taken_in("python-protobuf-gzip");
    let plain = recorded("python-protobuf").body;
    assert_eq!(spans, from_protobuf(&plain).expect("decodes"));
    assert_the_python_spans(&spans);
}

#[test]
fn a_truncated_body_is_refused_with_400_and_a_warning() {
    let plain = recorded("python-protobuf");
    let zipped = recorded("python-protobuf-gzip");
    let receiver = start();
    let cuts = [plain.body.len() - 1, plain.body.len() / 2, 3];
    for (n, cut) in cuts.into_iter().enumerate() {
        let body = &plain.body[..cut];
        assert!(from_protobuf(body).is_err(), "{cut} bytes decode");
        let answer = post(&receiver, &plain, body);
        assert_eq!(answer.status, 400, "{cut} bytes");
        let warnings = receiver.warnings();
        assert_eq!(warnings.len(), n + 1, "{warnings:?}");
        assert!(
            warnings[n].contains("(400)") && warnings[n].contains("not an OTLP trace export"),
            "{warnings:?}"
        );
    }
    // A gzip stream cut short cannot be read.
    let answer = post(&receiver, &zipped, &zipped.body[..zipped.body.len() / 2]);
    assert_eq!(answer.status, 400);
    assert!(
        receiver.warnings()[3].contains("cannot be read"),
        "{:?}",
        receiver.warnings()
    );
    assert!(receiver.spans().is_empty());
    // And the receiver goes on.
    assert_eq!(post(&receiver, &plain, &plain.body).status, 200);
    assert_eq!(receiver.spans().len(), 6);
}

/// What a span is, without what changes from run to run (ids, times).
fn shape(spans: &[Span]) -> Vec<String> {
    let lines = outline(spans).into_iter().zip(spans).map(|(line, span)| {
        let events: Vec<String> = (span.events.iter())
            .map(|e| format!("{} {:?}", e.name, attributes_of(&e.attributes)))
            .collect();
        format!(
            "{line} {:?} {events:?} resource {:?}",
            attributes(span),
            attributes_of(&span.resource)
        )
    });
    lines.collect()
}

/// The spans of a JSON body, decoded directly (the one line the OTLP file
/// exporter would write for it).
fn decoded_json(body: &[u8]) -> Vec<Span> {
    let document: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    let found = clnrm_core::spans::spans_in_lines(&document.to_string());
    assert_eq!(found.invalid_lines, 0);
    found.spans
}

/// What `traced checkout --items 3` exported (either protocol).
fn assert_the_traced_spans(spans: &[Span]) {
    assert_eq!(
        outline(spans),
        [
            "cart.load Internal <- checkout Unset",
            "payment.charge Client <- checkout Ok",
            "receipt.send Producer <- checkout Unset",
            "checkout Server <- - Unset",
        ]
    );
    let checkout = named(spans, "checkout");
    assert_eq!(
        attributes(checkout),
        [
            ("http.request.method", "POST"),
            ("order.express", "false"),
            ("order.items", "3"),
            ("order.total", "37.5"),
        ]
    );
    assert!(checkout.duration_nanos().is_some_and(|n| n >= 15_000_000));
    let cart = named(spans, "cart.load");
    assert_eq!(cart.events.len(), 1);
    assert_eq!(cart.events[0].name, "cache.miss");
    assert_eq!(
        attributes_of(&cart.events[0].attributes),
        [("cache.key", "cart")]
    );
    assert!(cart.events[0].time_unix_nano > cart.start_unix_nano);
    assert_eq!(
        attributes(named(spans, "payment.charge")),
        [("payment.amount", "37.5"), ("server.address", "payments")]
    );
    for span in spans {
        assert_eq!(span.trace_id, checkout.trace_id);
        assert_eq!(
            attributes_of(&span.resource),
            [
                ("deployment.environment", "test"),
                ("service.name", "shop"),
                ("telemetry.sdk.language", "rust"),
                ("telemetry.sdk.name", "opentelemetry"),
                ("telemetry.sdk.version", "0.33.1"),
            ]
        );
    }
}

#[test]
fn the_rust_sdks_protobuf_body_is_taken_in_whole() {
    let spans = taken_in("traced-protobuf");
    assert_the_traced_spans(&spans);
    let body = recorded("traced-protobuf").body;
    assert_eq!(spans, from_protobuf(&body).expect("decodes"));
}

#[test]
fn the_rust_sdks_json_body_is_taken_in_whole_as_its_protobuf_would_be() {
    let recorded_json = recorded("traced-json");
    assert_eq!(
        recorded_json.header("Content-Type"),
        Some("application/json")
    );
    let text = String::from_utf8_lossy(&recorded_json.body);
    // OTLP JSON as the specification has it: hex ids, enums as integers,
    // 64-bit integers as strings.
    assert!(text.contains(r#""kind": 2"#), "{text:.400}");
    assert!(text.contains(r#""intValue": "3""#), "{text:.400}");
    let spans = taken_in("traced-json");
    assert_the_traced_spans(&spans);
    assert!(text.contains(&format!(r#""spanId": "{}""#, spans[0].span_id)));
    assert_eq!(spans, decoded_json(&recorded_json.body));
    // Another run of the same program, in protobuf: the same spans but for
    // their ids and times.
    assert_eq!(shape(&spans), shape(&taken_in("traced-protobuf")));
}

#[test]
fn a_declined_checkout_under_a_callers_span_is_taken_in_whole() {
    let spans = taken_in("traced-json-declined");
    assert_eq!(
        outline(&spans),
        [
            "cart.load Internal <- checkout Unset",
            "payment.charge Client <- checkout Error",
            "checkout Server <- ?b7ad6b7169203331 Unset",
        ]
    );
    let checkout = named(&spans, "checkout");
    assert_eq!(checkout.trace_id, "0af7651916cd43dd8448eb211c80319c");
    // 25.0, a whole double, as the integer.
    assert_eq!(
        checkout.attributes.get("order.total").map(String::as_str),
        Some("25")
    );
    let payment = named(&spans, "payment.charge");
    assert_eq!(payment.events[0].name, "declined");
    assert_eq!(
        attributes_of(&payment.events[0].attributes),
        [("payment.reason", "card")]
    );
    assert_eq!(spans, decoded_json(&recorded("traced-json-declined").body));
}

#[test]
fn the_file_exporters_lines_are_the_spans_of_the_json_bodies() {
    let text =
        std::fs::read_to_string(clnrm_tests::fixtures().join("spans/recorded/traced-file.jsonl"))
            .expect("the lines");
    assert_eq!(text.lines().count(), 2);
    let found = clnrm_core::spans::spans_in_lines(&text);
    assert_eq!(found.invalid_lines, 0);
    let mut posted = taken_in("traced-json");
    posted.extend(taken_in("traced-json-declined"));
    assert_eq!(found.spans, posted);
}
