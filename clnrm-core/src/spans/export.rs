//! The span model written back out as OTLP JSON lines: one `TracesData`
//! document per line, one line per resource (as the OTLP file exporter
//! writes them), so any OTLP tool, and clnrm's own span-file reader, read
//! what a run collected. Normalised: attribute values are their canonical
//! strings, ids lowercase hex, enums integers, times decimal strings.

use std::borrow::Borrow;
use std::sync::Arc;

use super::model::{Attributes, Event, Kind, Span, Status};

/// `spans` as OTLP JSON lines, each ending in a newline; consecutive spans
/// of one resource share a line.
pub fn to_otlp_json_lines<S: Borrow<Span>>(spans: &[S]) -> String {
    let mut out = Json::with_capacity(spans);
    for group in resource_groups(spans) {
        out.traces_data(std::slice::from_ref(&group));
        out.0.push('\n');
    }
    out.0
}

/// `spans` as one OTLP JSON document (an `ExportTraceServiceRequest`, which
/// is also a `TracesData`), one `resourceSpans` entry per run of spans of one
/// resource.
pub fn to_otlp_json_document<S: Borrow<Span>>(spans: &[S]) -> String {
    let mut out = Json::with_capacity(spans);
    out.traces_data(&resource_groups(spans));
    out.0
}

/// Spans of one resource, in order.
struct Group<'a> {
    resource: &'a Attributes,
    spans: Vec<&'a Span>,
}

fn resource_groups<S: Borrow<Span>>(spans: &[S]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut last: Option<&Arc<Attributes>> = None;
    for span in spans.iter().map(Borrow::borrow) {
        match (last, groups.last_mut()) {
            (Some(resource), Some(group)) if same_resource(resource, &span.resource) => {
                group.spans.push(span);
            }
            _ => groups.push(Group {
                resource: &span.resource,
                spans: vec![span],
            }),
        }
        last = Some(&span.resource);
    }
    groups
}

/// Spans of one process share one resource: compare the pointers before
/// the attributes.
fn same_resource(a: &Arc<Attributes>, b: &Arc<Attributes>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// The OTLP JSON writer: compact, keys in name order (as `serde_json`
/// writes a `Value`'s), optional fields left out.
///
/// Written out by hand rather than derived: a harness writes a run trace
/// after every test, in the dev profile (`cargo test`'s), where derived
/// serialisation cost ~100 µs a test's trace against a budget of a few µs.
/// Strings are escaped by `serde_json` whenever they need it; a test holds
/// the output equal to `serde_json`'s for the same value.
struct Json(String);

impl Json {
    fn with_capacity<S>(spans: &[S]) -> Self {
        Self(String::with_capacity(512 + 512 * spans.len()))
    }

    fn raw(&mut self, text: &str) {
        self.0.push_str(text);
    }

    /// A JSON string; only strings with quotes, backslashes or control
    /// characters take the escaping path.
    fn string(&mut self, text: &str) {
        if is_plain(text.as_bytes()) {
            self.0.push('"');
            self.0.push_str(text);
            self.0.push('"');
        } else {
            // Serialising a `str` cannot fail.
            self.0
                .push_str(&serde_json::to_string(text).unwrap_or_default());
        }
    }

    /// A 64-bit integer as OTLP JSON writes it: a decimal string.
    fn decimal(&mut self, n: u64) {
        self.0.push('"');
        self.0.push_str(itoa::Buffer::new().format(n));
        self.0.push('"');
    }

    fn small(&mut self, n: u8) {
        self.0.push_str(itoa::Buffer::new().format(n));
    }

    /// `items`, comma-separated, in brackets.
    fn array<T>(&mut self, items: impl IntoIterator<Item = T>, mut each: impl FnMut(&mut Self, T)) {
        self.0.push('[');
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                self.0.push(',');
            }
            each(self, item);
        }
        self.0.push(']');
    }

    fn traces_data(&mut self, groups: &[Group<'_>]) {
        self.raw("{\"resourceSpans\":");
        self.array(groups, |out, group| {
            out.raw("{\"resource\":{\"attributes\":");
            out.key_values(group.resource);
            out.raw("},\"scopeSpans\":[{\"spans\":");
            out.array(&group.spans, |out, span| out.span(span));
            out.raw("}]}");
        });
        self.0.push('}');
    }

    fn key_values(&mut self, attributes: &Attributes) {
        self.array(attributes, |out, (key, value)| {
            out.raw("{\"key\":");
            out.string(key);
            out.raw(",\"value\":{\"stringValue\":");
            out.string(value);
            out.raw("}}");
        });
    }

    fn span(&mut self, span: &Span) {
        self.raw("{\"attributes\":");
        self.key_values(&span.attributes);
        if let Some(end) = span.end_unix_nano {
            self.raw(",\"endTimeUnixNano\":");
            self.decimal(end);
        }
        self.raw(",\"events\":");
        self.array(&span.events, |out, event| out.event(event));
        self.raw(",\"kind\":");
        self.small(kind_number(span.kind));
        self.raw(",\"name\":");
        self.string(&span.name);
        if let Some(parent) = &span.parent_span_id {
            self.raw(",\"parentSpanId\":");
            self.string(parent);
        }
        self.raw(",\"spanId\":");
        self.string(&span.span_id);
        if let Some(start) = span.start_unix_nano {
            self.raw(",\"startTimeUnixNano\":");
            self.decimal(start);
        }
        self.raw(",\"status\":{\"code\":");
        self.small(status_number(span.status));
        self.raw("},\"traceId\":");
        self.string(&span.trace_id);
        self.0.push('}');
    }

    fn event(&mut self, event: &Event) {
        self.raw("{\"attributes\":");
        self.key_values(&event.attributes);
        self.raw(",\"name\":");
        self.string(&event.name);
        if let Some(time) = event.time_unix_nano {
            self.raw(",\"timeUnixNano\":");
            self.decimal(time);
        }
        self.0.push('}');
    }
}

/// Whether `bytes` go between quotes as they are: no quote, no backslash,
/// no control character. Eight bytes at a time, with the word tests of
/// "Bit Twiddling Hacks" (a byte below `n`, a zero byte), which answer
/// exactly whether some byte matches; byte by byte, this loop was most of
/// the writer's time in the dev profile.
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    let has_byte = |word: u64, b: u8| has_below(word ^ (ONES * u64::from(b)), 1);
    let (words, rest) = bytes.as_chunks::<8>();
    let words_plain = (words.iter()).all(|w| {
        let word = u64::from_ne_bytes(*w);
        !(has_below(word, 0x20) || has_byte(word, b'"') || has_byte(word, b'\\'))
    });
    words_plain && (rest.iter()).all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
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

    /// What `serde_json` writes for the document as a `Value` (keys in name
    /// order), optional fields left out where the span has none.
    fn as_serde_json_writes_it(groups: &[(&Attributes, Vec<&Span>)]) -> String {
        use serde_json::{Value, json};
        let key_values = |a: &Attributes| -> Value {
            (a.iter())
                .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
                .collect()
        };
        let span = |s: &Span| {
            let mut v = json!({
                "attributes": key_values(&s.attributes),
                "events": s.events.iter().map(|e| {
                    let mut v = json!({"attributes": key_values(&e.attributes), "name": e.name});
                    if let Some(t) = e.time_unix_nano {
                        v["timeUnixNano"] = t.to_string().into();
                    }
                    v
                }).collect::<Value>(),
                "kind": kind_number(s.kind),
                "name": s.name,
                "spanId": s.span_id,
                "status": {"code": status_number(s.status)},
                "traceId": s.trace_id,
            });
            if let Some(t) = s.end_unix_nano {
                v["endTimeUnixNano"] = t.to_string().into();
            }
            if let Some(t) = s.start_unix_nano {
                v["startTimeUnixNano"] = t.to_string().into();
            }
            if let Some(p) = &s.parent_span_id {
                v["parentSpanId"] = p.clone().into();
            }
            v
        };
        let resource_spans: Value = (groups.iter())
            .map(|(resource, spans)| {
                json!({
                    "resource": {"attributes": key_values(resource)},
                    "scopeSpans": [{"spans": spans.iter().map(|s| span(s)).collect::<Value>()}],
                })
            })
            .collect();
        json!({ "resourceSpans": resource_spans }).to_string()
    }

    #[test]
    fn plain_is_exactly_no_quote_backslash_or_control_character() {
        let plain_byte = |b: u8| b >= 0x20 && b != b'"' && b != b'\\';
        // Every byte value, at every place of a word and in the tail.
        for b in 0..=u8::MAX {
            for at in 0..19 {
                let mut bytes = vec![b'a'; 19];
                bytes[at] = b;
                assert_eq!(is_plain(&bytes), plain_byte(b), "byte {b:#04x} at {at}");
                // High bytes around it (UTF-8) change nothing.
                let mut high = vec![0xff; 19];
                high[at] = b;
                assert_eq!(
                    is_plain(&high),
                    plain_byte(b),
                    "byte {b:#04x} at {at} among 0xff"
                );
            }
        }
        assert!(is_plain(b""));
    }

    #[test]
    fn the_writer_writes_what_serde_json_writes() {
        let odd = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} ünï 日本 \u{2028}";
        let resource = Arc::new(Attributes::from([
            ("service.name".into(), odd.into()),
            (odd.into(), "v".into()),
        ]));
        let full = Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            parent_span_id: Some(odd.into()),
            name: odd.into(),
            kind: Kind::Consumer,
            status: Status::Unset,
            start_unix_nano: Some(u64::MAX),
            end_unix_nano: Some(0),
            attributes: Attributes::from([("a".into(), odd.into()), ("b".into(), String::new())]),
            events: vec![
                Event {
                    name: odd.into(),
                    time_unix_nano: Some(7),
                    attributes: Attributes::from([("k".into(), "v".into())]),
                },
                Event::default(),
            ],
            resource: Arc::clone(&resource),
        };
        let bare = Span {
            resource: Arc::new(Attributes::new()),
            ..Span::default()
        };
        let spans = vec![full.clone(), bare.clone(), full.clone()];
        let groups = [
            (&*resource, vec![&full]),
            (&*bare.resource, vec![&bare]),
            (&*resource, vec![&full]),
        ];
        assert_eq!(
            to_otlp_json_document(&spans),
            as_serde_json_writes_it(&groups)
        );
        let lines: Vec<String> = (groups.iter())
            .map(|g| as_serde_json_writes_it(std::slice::from_ref(g)))
            .collect();
        assert_eq!(to_otlp_json_lines(&spans), lines.join("\n") + "\n");
        assert_eq!(
            to_otlp_json_document::<Span>(&[]),
            r#"{"resourceSpans":[]}"#
        );
        assert_eq!(to_otlp_json_lines::<Span>(&[]), "");
    }
}
