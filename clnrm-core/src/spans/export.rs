//! The span model written back out as OTLP JSON lines: one `TracesData`
//! document per line, one line per resource (as the OTLP file exporter
//! writes them), so any OTLP tool, and clnrm's own span-file reader, read
//! what a run collected. Normalised: attribute values are their canonical
//! strings, ids lowercase hex, enums integers, times decimal strings.

use serde_json::{Value, json};

use super::model::{Attributes, Kind, Span, Status};

/// `spans` as OTLP JSON lines, each ending in a newline; consecutive spans
/// of one resource share a line.
pub fn to_otlp_json_lines(spans: &[Span]) -> String {
    let mut out = String::new();
    for resource_spans in resource_groups(spans) {
        out.push_str(&json!({ "resourceSpans": [resource_spans] }).to_string());
        out.push('\n');
    }
    out
}

/// `spans` as one OTLP JSON document (an `ExportTraceServiceRequest`, which
/// is also a `TracesData`), one `resourceSpans` entry per run of spans of one
/// resource.
pub fn to_otlp_json_document(spans: &[Span]) -> String {
    json!({ "resourceSpans": resource_groups(spans) }).to_string()
}

/// One `ResourceSpans` per run of consecutive spans sharing a resource.
fn resource_groups(spans: &[Span]) -> Vec<Value> {
    let mut groups = Vec::new();
    let mut rest = spans;
    while let Some(first) = rest.first() {
        let same = rest
            .iter()
            .take_while(|s| s.resource == first.resource)
            .count();
        let (batch, after) = rest.split_at(same);
        groups.push(json!({
            "resource": { "attributes": key_values(&first.resource) },
            "scopeSpans": [{ "spans": batch.iter().map(span_json).collect::<Vec<_>>() }],
        }));
        rest = after;
    }
    groups
}

fn span_json(span: &Span) -> Value {
    let mut object = json!({
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": kind_number(span.kind),
        "attributes": key_values(&span.attributes),
        "events": span.events.iter().map(|e| {
            let mut event = json!({ "name": e.name, "attributes": key_values(&e.attributes) });
            if let Some(time) = e.time_unix_nano {
                event["timeUnixNano"] = json!(time.to_string());
            }
            event
        }).collect::<Vec<_>>(),
        "status": { "code": status_number(span.status) },
    });
    if let Some(parent) = &span.parent_span_id {
        object["parentSpanId"] = json!(parent);
    }
    if let Some(start) = span.start_unix_nano {
        object["startTimeUnixNano"] = json!(start.to_string());
    }
    if let Some(end) = span.end_unix_nano {
        object["endTimeUnixNano"] = json!(end.to_string());
    }
    object
}

fn key_values(attributes: &Attributes) -> Vec<Value> {
    (attributes.iter())
        .map(|(key, value)| json!({ "key": key, "value": { "stringValue": value } }))
        .collect()
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
    use crate::spans::{Event, spans_in_lines};

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
