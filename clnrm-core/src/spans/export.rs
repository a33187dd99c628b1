//! The span model written back out as OTLP JSON lines: one `TracesData`
//! document per line, one line per resource (as the OTLP file exporter
//! writes them), so any OTLP tool, and clnrm's own span-file reader, read
//! what a run collected. Normalised: attribute values are their canonical
//! strings, ids lowercase hex, enums integers, times decimal strings.

use std::borrow::Borrow;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::model::{Attributes, Event, Kind, Span, Status};

/// `spans` as OTLP JSON lines, each ending in a newline; consecutive spans
/// of one resource share a line.
pub fn to_otlp_json_lines<S: Borrow<Span>>(spans: &[S]) -> String {
    let mut out = String::new();
    for resource_spans in resource_groups(spans) {
        let line = TracesData {
            resource_spans: std::slice::from_ref(&resource_spans),
        };
        out.push_str(&to_json(&line));
        out.push('\n');
    }
    out
}

/// `spans` as one OTLP JSON document (an `ExportTraceServiceRequest`, which
/// is also a `TracesData`), one `resourceSpans` entry per run of spans of one
/// resource.
pub fn to_otlp_json_document<S: Borrow<Span>>(spans: &[S]) -> String {
    to_json(&TracesData {
        resource_spans: &resource_groups(spans),
    })
}

fn to_json(value: &impl Serialize) -> String {
    // Sized for a test's run trace (a few kilobytes), grown by doubling past it.
    let mut out = Vec::with_capacity(4096);
    // Borrowed strings and integers only: serialising cannot fail, and
    // serde_json writes UTF-8.
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

// The OTLP JSON shapes, borrowing from the span model: a run trace is
// written after every test, so no intermediate `serde_json::Value` is
// built. Fields are in name order, as the keys of a `Value` were.

#[derive(Serialize)]
struct TracesData<'a> {
    #[serde(rename = "resourceSpans")]
    resource_spans: &'a [ResourceSpans<'a>],
}

#[derive(Serialize)]
struct ResourceSpans<'a> {
    resource: Resource<'a>,
    #[serde(rename = "scopeSpans")]
    scope_spans: [ScopeSpans<'a>; 1],
}

#[derive(Serialize)]
struct Resource<'a> {
    attributes: KeyValues<'a>,
}

#[derive(Serialize)]
struct ScopeSpans<'a> {
    spans: Vec<SpanJson<'a>>,
}

#[derive(Serialize)]
struct SpanJson<'a> {
    attributes: KeyValues<'a>,
    #[serde(rename = "endTimeUnixNano", skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "decimal")]
    end_time_unix_nano: Option<u64>,
    events: Vec<EventJson<'a>>,
    kind: u8,
    name: &'a str,
    #[serde(rename = "parentSpanId", skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<&'a str>,
    #[serde(rename = "spanId")]
    span_id: &'a str,
    #[serde(rename = "startTimeUnixNano", skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "decimal")]
    start_time_unix_nano: Option<u64>,
    status: StatusJson,
    #[serde(rename = "traceId")]
    trace_id: &'a str,
}

#[derive(Serialize)]
struct EventJson<'a> {
    attributes: KeyValues<'a>,
    name: &'a str,
    #[serde(rename = "timeUnixNano", skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "decimal")]
    time_unix_nano: Option<u64>,
}

#[derive(Serialize)]
struct StatusJson {
    code: u8,
}

/// Attributes as OTLP `KeyValue`s, every value a `stringValue`.
struct KeyValues<'a>(&'a Attributes);

impl Serialize for KeyValues<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct KeyValue<'a> {
            key: &'a str,
            value: AnyValue<'a>,
        }
        #[derive(Serialize)]
        struct AnyValue<'a> {
            #[serde(rename = "stringValue")]
            string_value: &'a str,
        }
        serializer.collect_seq(self.0.iter().map(|(key, value)| KeyValue {
            key,
            value: AnyValue {
                string_value: value,
            },
        }))
    }
}

/// OTLP JSON writes 64-bit integers as decimal strings.
fn decimal<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(n) => serializer.collect_str(n),
        None => serializer.serialize_none(),
    }
}

/// One `ResourceSpans` per run of consecutive spans sharing a resource.
fn resource_groups<S: Borrow<Span>>(spans: &[S]) -> Vec<ResourceSpans<'_>> {
    let mut groups = Vec::new();
    let mut rest = spans;
    while let Some(first) = rest.first() {
        let first = &first.borrow().resource;
        let same = (rest.iter())
            .take_while(|s| same_resource(&Borrow::<Span>::borrow(*s).resource, first))
            .count();
        let (batch, after) = rest.split_at(same);
        groups.push(ResourceSpans {
            resource: Resource {
                attributes: KeyValues(first),
            },
            scope_spans: [ScopeSpans {
                spans: batch.iter().map(|s| span_json(s.borrow())).collect(),
            }],
        });
        rest = after;
    }
    groups
}

/// Spans of one process share one resource: compare the pointers before
/// the attributes.
fn same_resource(a: &Arc<Attributes>, b: &Arc<Attributes>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

fn span_json(span: &Span) -> SpanJson<'_> {
    SpanJson {
        attributes: KeyValues(&span.attributes),
        end_time_unix_nano: span.end_unix_nano,
        events: span.events.iter().map(event_json).collect(),
        kind: kind_number(span.kind),
        name: &span.name,
        parent_span_id: span.parent_span_id.as_deref(),
        span_id: &span.span_id,
        start_time_unix_nano: span.start_unix_nano,
        status: StatusJson {
            code: status_number(span.status),
        },
        trace_id: &span.trace_id,
    }
}

fn event_json(event: &Event) -> EventJson<'_> {
    EventJson {
        attributes: KeyValues(&event.attributes),
        name: &event.name,
        time_unix_nano: event.time_unix_nano,
    }
}

fn kind_number(kind: Kind) -> u8 {
    match kind {
        Kind::Unspecified => 0,
        Kind::Internal => 1,
        Kind::Server => 2,
        Kind::Client => 3,
        Kind::Producer => 4,
        Kind::Consumer => 5,
    }
}

fn status_number(status: Status) -> u8 {
    match status {
        Status::Unset => 0,
        Status::Ok => 1,
        Status::Error => 2,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::spans::spans_in_lines;

    #[test]
    fn what_is_written_reads_back_the_same() {
        let shop = Arc::new(Attributes::from([("service.name".into(), "shop".into())]));
        let other = Arc::new(Attributes::new());
        let span = |name: &str, parent: Option<&str>, resource: &Arc<Attributes>| Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: format!("{:0>16}", name.len()),
            parent_span_id: parent.map(str::to_string),
            name: name.into(),
            kind: Kind::Client,
            status: Status::Error,
            start_unix_nano: Some(1_000),
            end_unix_nano: Some(2_500),
            attributes: Attributes::from([("http.status_code".into(), "200".into())]),
            events: vec![Event {
                name: "retry".into(),
                time_unix_nano: Some(1_200),
                attributes: Attributes::new(),
            }],
            resource: Arc::clone(resource),
        };
        let spans = vec![
            span("checkout", None, &shop),
            span("db", Some("0000000000000008"), &shop),
            span("other", None, &other),
        ];
        let text = to_otlp_json_lines(&spans);
        assert_eq!(text.lines().count(), 2, "one line per resource: {text}");
        let read = spans_in_lines(&text);
        assert_eq!(read.invalid_lines, 0);
        assert_eq!(read.spans, spans);
        let document = to_otlp_json_document(&spans);
        assert_eq!(
            spans_in_lines(&document).spans,
            spans,
            "one document, the same spans"
        );
    }
}
