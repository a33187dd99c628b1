//! How spans arrive never changes a verdict: split into batches, the batches
//! and the spans in each shuffled, encoded as OTLP export requests and decoded
//! again (or POSTed to a real receiver), a set of spans is judged exactly as
//! it is whole and in order: the same failures, word for word.
//!
//! The spans: the recorded Python and Rust SDK exports, plus generated traces (parent
//! links, every kind and status, events, attributes of every OTLP value type,
//! timestamps or none, now and then a cycle of parent ids). The expectations:
//! one scenario file with every `[expect.*]` table, some holding, some not.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::PathBuf;

use clnrm_core::discover::DiscoveredFile;
use clnrm_core::executor::judge_spans;
use clnrm_core::pipeline::Pipeline;
use clnrm_core::receiver::Receiver;
use clnrm_core::scenario::Expectations;
use clnrm_core::spans::{Span, from_protobuf};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as otlp;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use prost::Message;

/// The recorded protobuf exports: the Python SDK's, the Rust SDK's.
const RECORDED: [&[u8]; 2] = [
    include_bytes!("../fixtures/spans/recorded/python-protobuf.body"),
    include_bytes!("../fixtures/spans/recorded/traced-protobuf.body"),
];

fn recorded_items() -> Vec<Item> {
    RECORDED.iter().flat_map(|body| items_of(body)).collect()
}

/// Every table; the comments say what holds on the recorded spans alone.
const EXPECTATIONS: &str = r#"[meta]
name = "batches"
backend = "local"

[[steps]]
name = "s"
command = ["true"]

# Holds.
[[expect.span]]
name = "db.query"
parent = "checkout"
kind = "client"
attrs.all = { "db.system" = "postgresql", "db.rows" = "-1" }
events.all = ["retry"]
duration_ms = { min = 1, max = 10 }

# Holds: every attribute type Python sets, as canonical strings.
[[expect.span]]
name = "checkout"
kind = "server"
attrs.all = { "http.status_code" = "200", "cart.total" = "12.5", "cart.weight" = "3", "cart.gift" = "true", "cart.skus" = "[a-1,b-2]" }
attrs.any = { "cart.items" = "3", "cart.items.wrong" = "4" }
events.any = ["cart.validated", "never"]

# Fails: both `checkout` spans are servers.
[[expect.span]]
name = "checkout"
kind = "client"

# Over the generated spans: many candidates, met as often as not.
[[expect.span]]
name = "gen.work"
kind = "server"
duration_ms = { max = 5 }

[[expect.span]]
name = "gen.io"
parent = "gen.root"
attrs.any = { "gen.int" = "1", "gen.str" = "b", "gen.bytes" = "0102", "gen.map" = "{k=v,n=1}" }
events.any = ["retry", "cache.miss"]

[[expect.span]]
name = "gen.leaf"
parent = "gen.work"
attrs.any = { "gen.double" = "3", "gen.list" = "[a,2]", "gen.flag" = "true" }

# Fails: no such name.
[[expect.span]]
name = "absent.span"

[expect.graph]
must_include = [["checkout", "db.query"], ["queue.consume", "render"], ["gen.root", "gen.work"], ["render", "checkout"]]
must_not_cross = [["db.query", "render"], ["gen.work", "gen.leaf"], ["checkout", "payment.charge"]]
acyclic = true

[expect.counts]
spans_total = { gte = 7 }
events_total = { gte = 2, lte = 40 }
errors_total = { eq = 1 }
by_name = { "db.query" = { eq = 1 }, "gen.root" = { gte = 1 }, "gen.leaf" = { lte = 3 }, "absent.span" = { eq = 0 }, "missing.span" = { gte = 1 } }

[[expect.window]]
outer = "checkout"
contains = ["db.query", "payment.charge", "queue.publish"]

[[expect.window]]
outer = "gen.root"
contains = ["gen.work", "gen.leaf"]

# Fails: no `checkout` is in the trace of a `queue.consume`.
[[expect.window]]
outer = "queue.consume"
contains = ["render", "checkout"]

[expect.order]
must_precede = [["db.query", "payment.charge"], ["gen.work", "gen.io"], ["payment.charge", "db.query"]]
must_follow = [["queue.publish", "payment.charge"], ["render", "queue.consume"]]

[expect.status]
all = "OK"
by_name = { "db.query" = "ERROR", "payment.charge" = "OK", "render" = "UNSET", "gen.io" = "ERROR" }

[expect.hermeticity]
no_external_services = true
resource_attrs.must_match = { "deployment.environment" = "test", "service.name" = "shop" }
span_attrs.forbid_keys = ["password", "gen.secret"]
"#;

/// The peers `no_external_services` accepts besides loopback.
fn allowed() -> Vec<String> {
    vec!["db".into()]
}

fn expectations() -> Expectations {
    let report = Pipeline::default().process_text(
        &DiscoveredFile {
            name: "batches.clnrm.toml".into(),
            path: PathBuf::from("batches.clnrm.toml"),
            root: PathBuf::new(),
        },
        EXPECTATIONS.to_string(),
    );
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let file = report.variants[0].file.clone().expect("parsed");
    file.expect
}

/// One span with what it is exported with.
#[derive(Clone)]
struct Item {
    resource: Resource,
    scope: Option<InstrumentationScope>,
    span: otlp::Span,
}

/// Short, for a failing case: `name span-id <- parent-id`.
impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
        write!(
            f,
            "{} {} <- {:?} (kind {}, status {})",
            self.span.name,
            hex(&self.span.span_id),
            hex(&self.span.parent_span_id),
            self.span.kind,
            self.span.status.as_ref().map_or(0, |s| s.code)
        )
    }
}

fn items_of(body: &[u8]) -> Vec<Item> {
    let request = ExportTraceServiceRequest::decode(body).expect("a recorded export");
    let mut items = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                items.push(Item {
                    resource: resource.clone(),
                    scope: scope_spans.scope.clone(),
                    span,
                });
            }
        }
    }
    items
}

/// One export request, grouped by resource and scope as SDKs send them (in
/// the order each first occurs).
fn encode(items: &[&Item]) -> Vec<u8> {
    let mut resources: Vec<otlp::ResourceSpans> = Vec::new();
    for item in items {
        let r = match (resources.iter()).position(|r| r.resource.as_ref() == Some(&item.resource)) {
            Some(r) => r,
            None => {
                resources.push(otlp::ResourceSpans {
                    resource: Some(item.resource.clone()),
                    ..otlp::ResourceSpans::default()
                });
                resources.len() - 1
            }
        };
        let scopes = &mut resources[r].scope_spans;
        let s = match scopes.iter().position(|s| s.scope == item.scope) {
            Some(s) => s,
            None => {
                scopes.push(otlp::ScopeSpans {
                    scope: item.scope.clone(),
                    ..otlp::ScopeSpans::default()
                });
                scopes.len() - 1
            }
        };
        scopes[s].spans.push(item.span.clone());
    }
    ExportTraceServiceRequest {
        resource_spans: resources,
    }
    .encode_to_vec()
}

/// The failures, every word of them, in a canonical order.
type Verdict = Vec<(String, String, Option<String>, Option<String>)>;

/// The same verdict, or what differs.
fn same(arrived: &Verdict, reference: &Verdict) -> Result<(), TestCaseError> {
    let only = |a: &Verdict, b: &Verdict| -> Vec<String> {
        (a.iter().filter(|f| !b.contains(f)))
            .map(|f| format!("{f:?}"))
            .collect()
    };
    prop_assert!(
        arrived == reference,
        "in batches, not whole: {:#?}\nwhole, not in batches: {:#?}",
        only(arrived, reference),
        only(reference, arrived)
    );
    Ok(())
}

fn verdict(expect: &Expectations, spans: &[Span]) -> Verdict {
    let mut failures: Verdict = judge_spans(expect, spans, &allowed())
        .into_iter()
        .map(|f| (format!("{:?}", f.kind), f.message, f.expected, f.actual))
        .collect();
    failures.sort();
    failures
}

fn whole(items: &[Item]) -> Vec<Span> {
    from_protobuf(&encode(&items.iter().collect::<Vec<_>>())).expect("decodes")
}

// Generated spans.

const T0: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;

fn any_value(value: Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(any_value(value)),
        ..KeyValue::default()
    }
}

/// An attribute of each OTLP value type, and the peers hermeticity reads.
fn attribute() -> impl Strategy<Value = KeyValue> {
    let string = |s: &str| any_value(Value::StringValue(s.into()));
    prop_oneof![
        select(vec!["a", "b"]).prop_map(|s| kv("gen.str", Value::StringValue(s.into()))),
        any::<bool>().prop_map(|b| kv("gen.flag", Value::BoolValue(b))),
        (-2i64..3).prop_map(|i| kv("gen.int", Value::IntValue(i))),
        select(vec![1.5, 3.0, -0.25, 12.5]).prop_map(|f| kv("gen.double", Value::DoubleValue(f))),
        Just(kv(
            "gen.list",
            Value::ArrayValue(ArrayValue {
                values: vec![string("a"), any_value(Value::IntValue(2))],
            })
        )),
        Just(kv(
            "gen.map",
            Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("n", Value::IntValue(1)),
                    kv("k", Value::StringValue("v".into())),
                ],
            })
        )),
        prop::collection::vec(1u8..3, 0..3).prop_map(|b| kv("gen.bytes", Value::BytesValue(b))),
        Just(kv("gen.secret", Value::StringValue("hunter2".into()))),
        select(vec!["127.0.0.1", "db", "localhost", "api.example.net"])
            .prop_map(|h| kv("server.address", Value::StringValue(h.into()))),
        select(vec![
            "http://[::1]:8080/x",
            "https://user@ext.example.org:8443/p?q=1",
            "http://db/a",
        ])
        .prop_map(|u| kv("url.full", Value::StringValue(u.into()))),
    ]
}

/// A span without its ids: name, kind, status, attributes, events (name,
/// ms), times (start ms, duration ms), the earlier span that is its parent.
type Shape = (
    &'static str,
    i32,
    i32,
    Vec<KeyValue>,
    Vec<(&'static str, u64)>,
    Option<(u64, u64)>,
    Index,
);

fn shape() -> impl Strategy<Value = Shape> {
    (
        select(vec!["gen.work", "gen.io", "gen.leaf"]),
        0i32..6,
        0i32..3,
        prop::collection::vec(attribute(), 0..5),
        prop::collection::vec(
            (select(vec!["retry", "done", "cache.miss"]), 0u64..60),
            0..3,
        ),
        prop::option::weighted(0.9, (0u64..50, 0u64..10)),
        any::<Index>(),
    )
}

/// A trace: its spans (the first is its root, `gen.root`), its resource and
/// scope, and whether it also holds a cycle of parent ids.
type TraceShape = (Vec<Shape>, usize, usize, bool);

fn trace_shape() -> impl Strategy<Value = TraceShape> {
    (
        prop::collection::vec(shape(), 1..7),
        0usize..3,
        0usize..3,
        prop::bool::weighted(0.2),
    )
}

fn resource(which: usize) -> Resource {
    let attributes = match which {
        0 => vec![
            ("service.name", "gen-a"),
            ("deployment.environment", "test"),
        ],
        1 => vec![("service.name", "shop"), ("deployment.environment", "test")],
        _ => vec![
            ("service.name", "gen-b"),
            ("deployment.environment", "staging"),
            ("host.name", "x"),
        ],
    };
    Resource {
        attributes: (attributes.into_iter())
            .map(|(k, v)| kv(k, Value::StringValue(v.into())))
            .collect(),
        ..Resource::default()
    }
}

fn scope(which: usize) -> Option<InstrumentationScope> {
    let named = |name: &str, version: &str| InstrumentationScope {
        name: name.into(),
        version: version.into(),
        ..InstrumentationScope::default()
    };
    match which {
        0 => Some(named("gen.lib", "1.0")),
        1 => Some(named("gen.other", "")),
        _ => None,
    }
}

fn id(bytes: usize, n: usize) -> Vec<u8> {
    let mut id = vec![0xc0; bytes];
    id[bytes - 2..].copy_from_slice(&(n as u16 + 1).to_be_bytes());
    id
}

fn span_of(shape: &Shape, trace: usize, number: usize, parent: Option<usize>) -> otlp::Span {
    let (name, kind, status, attributes, events, times, _) = shape;
    let base = T0 + trace as u64 * 1_000 * MS;
    let (start, end) = times.map_or((0, 0), |(start, length)| {
        (base + start * MS, base + (start + length) * MS)
    });
    otlp::Span {
        trace_id: id(16, trace),
        span_id: id(8, number),
        parent_span_id: parent.map_or_else(Vec::new, |p| id(8, p)),
        name: (*name).into(),
        kind: *kind,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: attributes.clone(),
        events: (events.iter())
            .map(|(name, at)| otlp::span::Event {
                name: (*name).into(),
                time_unix_nano: base + at * MS,
                attributes: vec![kv("attempt", Value::IntValue(*at as i64))],
                ..otlp::span::Event::default()
            })
            .collect(),
        status: Some(otlp::Status {
            code: *status,
            message: if *status == 2 {
                "boom".into()
            } else {
                String::new()
            },
        }),
        ..otlp::Span::default()
    }
}

/// Traces with distinct ids, spans numbered across all of them.
fn generated(traces: &[TraceShape]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut number = 0;
    for (t, (shapes, which_resource, which_scope, cycle)) in traces.iter().enumerate() {
        let first = number;
        let mut push = |span: otlp::Span| {
            items.push(Item {
                resource: resource(*which_resource),
                scope: scope(*which_scope),
                span,
            });
        };
        for (i, shape) in shapes.iter().enumerate() {
            let parent = (i > 0).then(|| first + shape.6.index(i));
            let mut span = span_of(shape, t, number, parent);
            if i == 0 {
                span.name = "gen.root".into();
            }
            push(span);
            number += 1;
        }
        if *cycle {
            // `gen.work` and `gen.leaf`, each the other's parent.
            let (a, b) = (number, number + 1);
            let mut work = span_of(&shapes[0], t, a, Some(b));
            work.name = "gen.work".into();
            let mut leaf = span_of(&shapes[0], t, b, Some(a));
            leaf.name = "gen.leaf".into();
            push(work);
            push(leaf);
            number += 2;
        }
    }
    items
}

/// At most this many batches.
const MAX_BATCHES: usize = 6;

/// The spans, and how they are cut: the batch count, each span's batch and
/// place in it, each batch's place in the sending order.
type Case = (Vec<Item>, usize, Vec<(usize, u32)>, Vec<u32>);

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(trace_shape(), 0..4).prop_flat_map(|traces| {
        let mut items = recorded_items();
        items.extend(generated(&traces));
        let n = items.len();
        (
            Just(items),
            1..=MAX_BATCHES,
            prop::collection::vec((0..MAX_BATCHES, any::<u32>()), n),
            prop::collection::vec(any::<u32>(), MAX_BATCHES),
        )
    })
}

/// The batches in sending order, each with its spans in order (some empty).
fn batches<'i>(
    items: &'i [Item],
    count: usize,
    places: &[(usize, u32)],
    order: &[u32],
) -> Vec<Vec<&'i Item>> {
    let mut batches: Vec<Vec<(u32, usize, &Item)>> = vec![Vec::new(); count];
    for (i, (item, (batch, key))) in items.iter().zip(places).enumerate() {
        batches[batch % count].push((*key, i, item));
    }
    let mut sending: Vec<(u32, usize, Vec<&Item>)> = (batches.into_iter().enumerate())
        .map(|(b, mut batch)| {
            batch.sort_by_key(|(key, i, _)| (*key, *i));
            let spans = batch.into_iter().map(|(_, _, item)| item).collect();
            (order[b], b, spans)
        })
        .collect();
    sending.sort_by_key(|(key, b, _)| (*key, *b));
    sending.into_iter().map(|(_, _, spans)| spans).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoded_batches_in_any_order_are_judged_as_the_whole(
        (items, count, places, order) in case()
    ) {
        let expect = expectations();
        let reference = verdict(&expect, &whole(&items));
        prop_assert!(!reference.is_empty());
        let mut arrived = Vec::new();
        for batch in batches(&items, count, &places, &order) {
            arrived.extend(from_protobuf(&encode(&batch)).expect("decodes"));
        }
        prop_assert_eq!(arrived.len(), items.len());
        same(&verdict(&expect, &arrived), &reference)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn batches_posted_to_a_receiver_are_judged_as_the_whole(
        (items, count, places, order) in case(),
        zipped in prop::collection::vec(any::<bool>(), MAX_BATCHES),
    ) {
        let expect = expectations();
        let reference = verdict(&expect, &whole(&items));
        let receiver = Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("the receiver starts");
        for (batch, zip) in batches(&items, count, &places, &order).iter().zip(zipped) {
            prop_assert_eq!(post(&receiver, &encode(batch), zip), 200);
        }
        prop_assert!(receiver.warnings().is_empty(), "{:?}", receiver.warnings());
        let arrived = receiver.spans();
        prop_assert_eq!(arrived.len(), items.len());
        same(&verdict(&expect, &arrived), &reference)?;
    }
}

/// POSTs one protobuf export (gzipped, or not); the status of the answer.
fn post(receiver: &Receiver, body: &[u8], zip: bool) -> u16 {
    let (body, encoding) = if zip {
        let mut zipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        zipped.write_all(body).expect("gzip");
        (zipped.finish().expect("gzip"), "Content-Encoding: gzip\r\n")
    } else {
        (body.to_vec(), "")
    };
    let mut stream = TcpStream::connect(receiver.address()).expect("connect");
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-protobuf\r\n{encoding}Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(&body).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    (answer.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line")
}

/// The expectations are no trivial pass: on the recorded spans alone these
/// fail, and every other one holds (the spans `db.query` and `checkout`, two
/// edges, no crossing, no cycle, four counts, a window, an order, three
/// statuses, the resource, the forbidden keys). The two `checkout` spans
/// are equally near a client `checkout`: the lower id is named.
#[test]
fn the_recorded_spans_alone_fail_exactly_these() {
    let spans = whole(&recorded_items());
    assert_eq!(spans.len(), 10);
    let failures = verdict(&expectations(), &spans);
    let messages: Vec<&str> = failures.iter().map(|f| f.1.as_str()).collect();
    let seen = "spans named `cart.load`, `checkout`, `db.query`, `payment.charge`, `queue.consume`, `queue.publish`, `receipt.send`, `render`";
    let no_name =
        |name: &str| format!("`[[expect.span]]` `{name}`: no span has that name ({seen})");
    assert_eq!(
        messages,
        [
            no_name("absent.span").as_str(),
            "`[[expect.span]]` `checkout`: no span meets every constraint; the nearest (span 0633cc8f3299cdb6): NOT met: kind client (is Server)",
            &no_name("gen.io"),
            &no_name("gen.leaf"),
            &no_name("gen.work"),
            "`[[expect.window]]` `checkout` within `queue.consume`: 2 of 2 outside (or without timestamps)",
            "`[[expect.window]]` outer `gen.root`: no span has that name",
            "`[expect.counts]` by_name `gen.leaf`: no span has that name",
            "`[expect.counts]` by_name `gen.root`: no span has that name",
            "`[expect.counts]` by_name `missing.span`: no span has that name",
            "`[expect.graph]` must_include: no span `checkout` has a parent `render`",
            "`[expect.graph]` must_include: no span `gen.work` has a parent `gen.root`",
            "`[expect.graph]` must_not_cross: spans `checkout` and `payment.charge` are parent and child",
            "`[expect.hermeticity]` no_external_services: spans talk to `payment.charge` -> payments, `payment.charge` -> payments.example.com",
            "`[expect.order]` must_follow: `queue.consume` before `render`: 1 of 1 `render` start before any `queue.consume` ends",
            // The Rust SDK's trace has no `db.query`.
            "`[expect.order]` must_precede: `db.query` before `payment.charge`: 1 of 2 `payment.charge` start before any `db.query` ends",
            "`[expect.order]` must_precede: `gen.work` before `gen.io`: no span `gen.work`",
            "`[expect.order]` must_precede: `payment.charge` before `db.query`: 1 of 1 `db.query` start before any `payment.charge` ends",
            "`[expect.status]` all: expected OK, found `cart.load` Unset, `checkout` Unset, `checkout` Unset, `db.query` Error, `queue.consume` Unset, `queue.publish` Unset, `receipt.send` Unset, `render` Unset",
            "`[expect.status]` by_name `gen.io`: expected ERROR, found no such span",
        ]
    );
}
