//! OTLP JSON (`ExportTraceServiceRequest`, and the file exporter's lines of
//! `TracesData`: the same `resourceSpans` shape) and single span objects, as
//! the stdout exporters print them (snake_case, or the camelCase the
//! original tool printed), into the span model. Lenient where exporters
//! differ: ids in any case, numbers as strings or numbers, enums as integers
//! or names, attributes as OTLP key/value lists or plain objects.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::model::{Attributes, Event, Kind, Span, Status, kv_text, list_text};

/// The spans of an OTLP JSON document (an `ExportTraceServiceRequest`, as
/// an OTLP/HTTP exporter posts it, or a `TracesData` line of the file
/// exporter); `None` when it has no `resourceSpans` list.
pub fn from_otlp(document: &Value) -> Option<Vec<Span>> {
    let resources = field(document, &["resourceSpans", "resource_spans"])?.as_array()?;
    let mut spans = Vec::new();
    for resource in resources {
        let attributes = field(resource, &["resource"])
            .and_then(|r| field(r, &["attributes"]))
            .map(attributes_of)
            .unwrap_or_default();
        let attributes = Arc::new(attributes);
        let scopes = ["scopeSpans", "scope_spans", "instrumentationLibrarySpans"]
            .iter()
            .filter_map(|key| resource.get(*key).and_then(Value::as_array))
            .flatten();
        for scope in scopes {
            let listed = scope.get("spans").and_then(Value::as_array);
            for span in listed.into_iter().flatten() {
                let mut span = span_of(span);
                span.resource = Arc::clone(&attributes);
                spans.push(span);
            }
        }
    }
    Some(spans)
}

/// A single span object (`name` with `span_id`/`spanId` or
/// `trace_id`/`traceId`); `None` for any other object (a log line).
pub fn from_span_object(object: &Value) -> Option<Span> {
    object.get("name")?.as_str()?;
    field(object, &["span_id", "spanId", "trace_id", "traceId"])?;
    Some(span_of(object))
}

fn span_of(value: &Value) -> Span {
    let id = |keys: &[&str]| {
        field(value, keys)
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
    };
    let attributes = field(value, &["attributes"])
        .map(attributes_of)
        .unwrap_or_default();
    let status = field(value, &["status"])
        .and_then(status_of)
        .or_else(|| {
            attributes
                .get("otel.status_code")
                .and_then(|s| Status::from_name(s))
        })
        .unwrap_or_default();
    Span {
        trace_id: id(&["traceId", "trace_id"]).unwrap_or_default(),
        span_id: id(&["spanId", "span_id"]).unwrap_or_default(),
        // OTLP JSON writes an empty parent for a root span.
        parent_span_id: id(&["parentSpanId", "parent_span_id", "parent_id", "parentId"])
            .filter(|p| p.chars().any(|c| c != '0')),
        name: field(value, &["name"])
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        kind: field(value, &["kind"])
            .and_then(kind_of)
            .unwrap_or_default(),
        status,
        start_unix_nano: field(value, &["startTimeUnixNano", "start_time_unix_nano"])
            .and_then(time),
        end_unix_nano: field(value, &["endTimeUnixNano", "end_time_unix_nano"]).and_then(time),
        attributes,
        events: field(value, &["events"])
            .and_then(Value::as_array)
            .map(|events| events.iter().filter_map(event_of).collect())
            .unwrap_or_default(),
        resource: Arc::default(),
    }
}

/// The first of `keys` the object has.
fn field<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().find_map(|key| value.get(*key))
}

/// A timestamp; 0 is OTLP's "not set" (as protobuf reads it too).
fn time(value: &Value) -> Option<u64> {
    number(value).filter(|t| *t > 0)
}

/// A 64-bit number written as a string (OTLP JSON) or as a number.
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        _ => None,
    }
}

fn kind_of(value: &Value) -> Option<Kind> {
    match value {
        Value::Number(n) => Kind::from_number(n.as_i64()?),
        Value::String(s) => Kind::from_name(s).or_else(|| Kind::from_number(s.parse().ok()?)),
        _ => None,
    }
}

/// `{"code": 2}`, `{"code": "STATUS_CODE_ERROR"}`, `{"status_code": "ERROR"}`, `"ERROR"`.
fn status_of(value: &Value) -> Option<Status> {
    match value {
        Value::Object(_) => {
            field(value, &["code", "status_code", "statusCode"]).and_then(status_of)
        }
        Value::Number(n) => Status::from_number(n.as_i64()?),
        Value::String(s) => Status::from_name(s).or_else(|| Status::from_number(s.parse().ok()?)),
        _ => None,
    }
}

fn event_of(value: &Value) -> Option<Event> {
    if let Value::String(name) = value {
        return Some(Event {
            name: name.clone(),
            ..Event::default()
        });
    }
    Some(Event {
        name: field(value, &["name"])?.as_str()?.to_string(),
        time_unix_nano: field(value, &["timeUnixNano", "time_unix_nano"]).and_then(time),
        attributes: field(value, &["attributes"])
            .map(attributes_of)
            .unwrap_or_default(),
    })
}

/// OTLP's `[{"key": k, "value": AnyValue}]`, or a plain `{"k": v}` object.
fn attributes_of(value: &Value) -> Attributes {
    match value {
        Value::Array(list) => list
            .iter()
            .filter_map(|kv| {
                let key = kv.get("key")?.as_str()?;
                Some((key.to_string(), any_value(kv.get("value")?)))
            })
            .collect(),
        Value::Object(map) => plain_map(map),
        _ => Attributes::new(),
    }
}

/// An OTLP `AnyValue` (`{"intValue": "3"}`) as its canonical string.
fn any_value(value: &Value) -> String {
    let Value::Object(object) = value else {
        return plain_value(value);
    };
    let typed = |keys: &[&str]| keys.iter().find_map(|k| object.get(*k));
    if let Some(v) = typed(&["stringValue", "string_value"]) {
        return plain_value(v);
    }
    if let Some(v) = typed(&["boolValue", "bool_value"]) {
        return plain_value(v);
    }
    if let Some(v) = typed(&["intValue", "int_value"]) {
        // int64 comes as a decimal string in OTLP JSON.
        return match v {
            Value::String(s) => s.trim().to_string(),
            other => plain_value(other),
        };
    }
    if let Some(v) = typed(&["doubleValue", "double_value"]) {
        return match v {
            Value::String(s) => s.parse::<f64>().map_or_else(|_| s.clone(), canonical_float),
            other => plain_value(other),
        };
    }
    if let Some(v) = typed(&["arrayValue", "array_value"]) {
        let values = v.get("values").and_then(Value::as_array);
        return list_text(values.into_iter().flatten().map(any_value));
    }
    if let Some(v) = typed(&["kvlistValue", "kvlist_value"]) {
        let pairs = attributes_of(v.get("values").unwrap_or(&Value::Null));
        return kv_text(&pairs);
    }
    if let Some(v) = typed(&["bytesValue", "bytes_value"]) {
        // Base64 in OTLP JSON; compared as hex, as protobuf's bytes are.
        return (v.as_str())
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .map_or_else(|| plain_value(v), hex::encode);
    }
    // Not an AnyValue: a plain object as a value.
    kv_text(&plain_map(object))
}

/// A plain JSON value as its canonical string.
fn plain_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => canonical_float(f),
            _ => n.to_string(),
        },
        Value::Null => String::new(),
        Value::Array(items) => list_text(items.iter().map(plain_value)),
        Value::Object(map) => kv_text(&plain_map(map)),
    }
}

fn plain_map(map: &Map<String, Value>) -> Attributes {
    map.iter()
        .map(|(k, v)| (k.clone(), plain_value(v)))
        .collect()
}

/// `1.5` -> "1.5", `3.0` -> "3": a double that is a whole number compares
/// equal to the integer written in an expectation.
fn canonical_float(f: f64) -> String {
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).expect("json")
    }

    #[test]
    fn an_otlp_export_with_every_attribute_type_and_its_resource() {
        let document = json(
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
            "scopeSpans":[{"scope":{"name":"lib"},"spans":[{
              "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"",
              "name":"GET /","kind":2,"startTimeUnixNano":"1000000","endTimeUnixNano":"4000000",
              "attributes":[
                {"key":"http.status_code","value":{"intValue":"200"}},
                {"key":"ok","value":{"boolValue":true}},
                {"key":"ratio","value":{"doubleValue":1.5}},
                {"key":"whole","value":{"doubleValue":3.0}},
                {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"2"}]}}}],
              "events":[{"timeUnixNano":"2000000","name":"retry","attributes":[]}],
              "status":{"code":2,"message":"boom"}}]}]}]}"#,
        );
        let spans = from_otlp(&document).expect("an OTLP document");
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(span.parent_span_id, None, "an empty parent is a root");
        assert_eq!(span.kind, Kind::Server);
        assert_eq!(span.status, Status::Error);
        assert_eq!(span.duration_nanos(), Some(3_000_000));
        let attr = |k: &str| span.attributes.get(k).map(String::as_str);
        assert_eq!(attr("http.status_code"), Some("200"));
        assert_eq!(attr("ok"), Some("true"));
        assert_eq!(attr("ratio"), Some("1.5"));
        assert_eq!(attr("whole"), Some("3"));
        assert_eq!(attr("tags"), Some("[a,2]"));
        assert_eq!(span.events[0].name, "retry");
        assert_eq!(span.events[0].time_unix_nano, Some(2_000_000));
        assert_eq!(
            span.resource.get("service.name").map(String::as_str),
            Some("api")
        );
    }

    #[test]
    fn span_objects_in_snake_case_or_camel_case() {
        let snake = json(
            r#"{"name":"db.query","trace_id":"AB","span_id":"01","parent_span_id":"02","kind":"client",
                "start_time_unix_nano":10,"end_time_unix_nano":30,"attributes":{"rows":3,"db":"pg"},
                "events":["opened",{"name":"closed"}],"status":"OK"}"#,
        );
        let camel = json(
            r#"{"name":"db.query","traceId":"ab","spanId":"01","parentSpanId":"02","kind":"SPAN_KIND_CLIENT",
                "startTimeUnixNano":"10","endTimeUnixNano":"30","attributes":[{"key":"rows","value":{"intValue":3}},
                {"key":"db","value":{"stringValue":"pg"}}],"events":[{"name":"opened"},{"name":"closed"}],
                "status":{"code":"STATUS_CODE_OK"}}"#,
        );
        let (a, b) = (
            from_span_object(&snake).expect("snake"),
            from_span_object(&camel).expect("camel"),
        );
        assert_eq!(a, b);
        assert_eq!(a.parent_span_id.as_deref(), Some("02"));
        assert_eq!(a.status, Status::Ok);
        assert_eq!(a.attributes.get("rows").map(String::as_str), Some("3"));
        // A log line with a name is no span.
        assert!(from_span_object(&json(r#"{"name":"ready","level":"info"}"#)).is_none());
    }

    #[test]
    fn status_falls_back_to_the_otel_status_code_attribute() {
        let span = from_span_object(&json(
            r#"{"name":"a","span_id":"1","attributes":{"otel.status_code":"ERROR"}}"#,
        ))
        .expect("span");
        assert_eq!(span.status, Status::Error);
        // `status` itself wins.
        let span = from_span_object(&json(
            r#"{"name":"a","span_id":"1","status":{"code":1},"attributes":{"otel.status_code":"ERROR"}}"#,
        ))
        .expect("span");
        assert_eq!(span.status, Status::Ok);
    }
}
