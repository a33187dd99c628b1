//! One OTLP/HTTP request: its body decoded (gzip, protobuf or JSON) and the
//! answer the OTLP specification gives: 200 with an empty export response in
//! the request's own type, 400 with a reason, 405, 404, 413, 415.

use std::io::Read;

use tiny_http::{Header, Method, Request, Response};

use crate::spans::{Span, from_protobuf};

use super::MAX_BODY_BYTES;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// What a request brought: spans (none for logs and metrics), or why its
/// body was refused.
type Taken = Result<Vec<Span>, String>;

/// A refusal: status, reason.
struct Refusal(u16, String);

/// The answer to `request`, and what it brought.
pub(super) fn handle(request: &mut Request) -> (Answer, Taken) {
    let json = header(request, "Content-Type").is_some_and(|t| media_type(&t) == JSON);
    match take(request) {
        Ok(spans) => {
            let body = if json { b"{}".to_vec() } else { Vec::new() };
            let content_type = if json { JSON } else { PROTOBUF };
            let response = Response::from_data(body).with_header(content_header(content_type));
            (response, Ok(spans))
        }
        Err(Refusal(status, reason)) => {
            let warning = format!(
                "the span receiver refused a request to {} ({status}): {reason}",
                request.url()
            );
            (refusal(status, &reason, json), Err(warning))
        }
    }
}

pub(super) type Answer = Response<std::io::Cursor<Vec<u8>>>;

fn take(request: &mut Request) -> Result<Vec<Span>, Refusal> {
    if *request.method() != Method::Post {
        return Err(Refusal(405, "only POST is accepted".into()));
    }
    let path = request
        .url()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let traces = match path.as_str() {
        "/v1/traces" => true,
        // Accepted and dropped: only spans are judged.
        "/v1/logs" | "/v1/metrics" => false,
        other => return Err(Refusal(404, format!("no OTLP signal at `{other}`"))),
    };
    let content_type = header(request, "Content-Type").map(|t| media_type(&t));
    let json = match content_type.as_deref() {
        Some(PROTOBUF) => false,
        Some(JSON) => true,
        other => {
            return Err(Refusal(
                415,
                format!(
                    "content type {} is neither {PROTOBUF} nor {JSON}",
                    other.map_or("(none)".into(), |t| format!("`{t}`"))
                ),
            ));
        }
    };
    let body = read_body(request)?;
    if !traces {
        return Ok(Vec::new());
    }
    if json {
        let document: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| Refusal(400, format!("the body is not JSON: {e}")))?;
        crate::spans::from_otlp_json(&document)
            .ok_or_else(|| Refusal(400, "the JSON body has no `resourceSpans`".into()))
    } else {
        from_protobuf(&body)
            .map_err(|e| Refusal(400, format!("the body is not an OTLP trace export: {e}")))
    }
}

/// The body, unzipped when `Content-Encoding: gzip`, at most `MAX_BODY_BYTES`.
fn read_body(request: &mut Request) -> Result<Vec<u8>, Refusal> {
    let too_large = || Refusal(413, format!("the body is over {MAX_BODY_BYTES} bytes"));
    if request
        .body_length()
        .is_some_and(|n| n as u64 > MAX_BODY_BYTES)
    {
        return Err(too_large());
    }
    let encoding = header(request, "Content-Encoding").map(|e| e.trim().to_ascii_lowercase());
    let mut reader = request.as_reader().take(MAX_BODY_BYTES + 1);
    let mut body = Vec::new();
    let read = match encoding.as_deref() {
        None | Some("identity") => reader.read_to_end(&mut body),
        // The unzipped size is bounded too: a small bomb is still too large.
        Some("gzip") => flate2::read::GzDecoder::new(reader)
            .take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut body),
        Some(other) => {
            return Err(Refusal(
                415,
                format!("content encoding `{other}` is not gzip"),
            ));
        }
    };
    read.map_err(|e| Refusal(400, format!("the body cannot be read: {e}")))?;
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(body)
}

fn header(request: &Request, name: &str) -> Option<String> {
    (request.headers().iter())
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

/// `application/json; charset=utf-8` -> `application/json`.
fn media_type(value: &str) -> String {
    let bare = value.split(';').next().unwrap_or_default();
    bare.trim().to_ascii_lowercase()
}

fn content_header(content_type: &str) -> Header {
    Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
        .expect("a constant header is valid")
}

/// A refusal as a `google.rpc.Status` (code 3, INVALID_ARGUMENT, and the
/// reason), in the request's own type.
fn refusal(status: u16, reason: &str, json: bool) -> Answer {
    let (body, content_type) = if json {
        let body = serde_json::json!({ "code": 3, "message": reason }).to_string();
        (body.into_bytes(), JSON)
    } else {
        let mut body = Vec::new();
        prost::encoding::int32::encode(1, &3, &mut body);
        prost::encoding::string::encode(2, &reason.to_string(), &mut body);
        (body, PROTOBUF)
    };
    Response::from_data(body)
        .with_status_code(status)
        .with_header(content_header(content_type))
}
