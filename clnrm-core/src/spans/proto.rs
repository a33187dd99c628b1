//! OTLP protobuf (`ExportTraceServiceRequest`, as OTLP/HTTP exporters send it
//! with `application/x-protobuf`) into the span model, through the message
//! types of `opentelemetry-proto`.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1 as otlp;
use prost::Message;

use super::model::{Attributes, Event, Kind, Span, Status, kv_text, list_text};

/// The spans of a protobuf export request, or why it is not one.
pub fn from_protobuf(body: &[u8]) -> Result<Vec<Span>, prost::DecodeError> {
    let request = ExportTraceServiceRequest::decode(body)?;
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes_of(&r.attributes))
            .unwrap_or_default();
        let resource = Arc::new(resource);
        for scope in resource_spans.scope_spans {
            spans.extend(scope.spans.into_iter().map(|span| {
                let mut span = span_of(span);
                span.resource = Arc::clone(&resource);
                span
            }));
        }
    }
    Ok(spans)
}

fn span_of(span: otlp::Span) -> Span {
    let attributes = attributes_of(&span.attributes);
    let status = span
        .status
        .and_then(|s| Status::from_number(i64::from(s.code)))
        .filter(|s| *s != Status::Unset)
        .or_else(|| (attributes.get("otel.status_code")).and_then(|s| Status::from_name(s)))
        .unwrap_or_default();
    let parent = hex::encode(&span.parent_span_id);
    Span {
        trace_id: hex::encode(&span.trace_id),
        span_id: hex::encode(&span.span_id),
        // An all-zero parent is no parent, as in OTLP JSON.
        parent_span_id: parent.chars().any(|c| c != '0').then_some(parent),
        name: span.name,
        kind: Kind::from_number(i64::from(span.kind)).unwrap_or_default(),
        status,
        start_unix_nano: (span.start_time_unix_nano > 0).then_some(span.start_time_unix_nano),
        end_unix_nano: (span.end_time_unix_nano > 0).then_some(span.end_time_unix_nano),
        attributes,
        events: span
            .events
            .into_iter()
            .map(|e| Event {
                name: e.name,
                time_unix_nano: (e.time_unix_nano > 0).then_some(e.time_unix_nano),
                attributes: attributes_of(&e.attributes),
            })
            .collect(),
        resource: Arc::default(),
    }
}

fn attributes_of(list: &[KeyValue]) -> Attributes {
    list.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(canonical).unwrap_or_default(),
            )
        })
        .collect()
}

/// The canonical string of a value, the same as for OTLP JSON.
fn canonical(value: &AnyValue) -> String {
    match &value.value {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(f)) => format!("{f}"),
        Some(any_value::Value::ArrayValue(array)) => list_text(array.values.iter().map(canonical)),
        Some(any_value::Value::KvlistValue(list)) => kv_text(&attributes_of(&list.values)),
        Some(any_value::Value::BytesValue(bytes)) => hex::encode(bytes),
        // An index into a profile's string table: no trace carries one.
        Some(any_value::Value::StringValueStrindex(_)) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::resource::v1::Resource;

    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    #[test]
    fn a_protobuf_export_decodes_to_the_same_model_as_json() {
        let span = otlp::Span {
            trace_id: vec![0x5b; 16],
            span_id: vec![0xee; 8],
            // All zeros: a root span, as in JSON.
            parent_span_id: vec![0; 8],
            name: "GET /".into(),
            kind: 2,
            start_time_unix_nano: 1_000_000,
            end_time_unix_nano: 4_000_000,
            attributes: vec![
                kv("http.status_code", any_value::Value::IntValue(200)),
                kv("whole", any_value::Value::DoubleValue(3.0)),
                kv("raw", any_value::Value::BytesValue(vec![1, 2])),
            ],
            // A zero time is "not set", in both encodings.
            events: vec![otlp::span::Event {
                name: "e".into(),
                time_unix_nano: 0,
                ..otlp::span::Event::default()
            }],
            status: Some(otlp::Status {
                code: 2,
                ..otlp::Status::default()
            }),
            ..otlp::Span::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![otlp::ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("api".into()),
                    )],
                    ..Resource::default()
                }),
                scope_spans: vec![otlp::ScopeSpans {
                    spans: vec![span],
                    ..otlp::ScopeSpans::default()
                }],
                ..otlp::ResourceSpans::default()
            }],
        };
        let spans = from_protobuf(&request.encode_to_vec()).expect("decodes");
        let json = super::super::json::from_otlp(
            &serde_json::from_str(&format!(
                r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"api"}}}}]}},
                "scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"{}","parentSpanId":"0000000000000000","name":"GET /","kind":"SPAN_KIND_SERVER",
                "events":[{{"name":"e","timeUnixNano":"0"}}],
                "startTimeUnixNano":"1000000","endTimeUnixNano":"4000000",
                "attributes":[{{"key":"http.status_code","value":{{"intValue":"200"}}}},{{"key":"whole","value":{{"doubleValue":3}}}},{{"key":"raw","value":{{"bytesValue":"AQI="}}}}],
                "status":{{"code":"STATUS_CODE_ERROR"}}}}]}}]}}]}}"#,
                "5b".repeat(16),
                "ee".repeat(8)
            ))
            .expect("json"),
        )
        .expect("otlp json");
        assert_eq!(spans, json);
        assert_eq!(spans[0].parent_span_id, None);
        assert_eq!(spans[0].attributes["raw"], "0102");
        assert_eq!(spans[0].events[0].time_unix_nano, None);
        assert!(from_protobuf(b"\xff\xff not protobuf").is_err());
    }
}
