//! Spans sent on to an OTLP/HTTP endpoint (a collector, a tracing backend):
//! after a scenario, what it recorded and what its programs exported go to
//! `[otel] endpoint` with the `[otel] headers`; after a run, the whole run to
//! clnrm's own `OTEL_EXPORTER_OTLP_ENDPOINT`. The programs always export to
//! clnrm's receiver, so nothing reaches an endpoint unjudged; a failed
//! forward is a note, never a verdict.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::spans::{Span, to_otlp_json_lines};

/// The longest a forward may take.
const FORWARD_LIMIT: Duration = Duration::from_secs(5);

/// `endpoint` as the URL spans are posted to: the SDKs' rule, `/v1/traces`
/// appended unless it is there.
fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

/// Posts `spans` to `endpoint` as OTLP JSON, one request per resource.
pub fn forward<S: std::borrow::Borrow<Span>>(
    endpoint: &str,
    headers: &[(String, String)],
    spans: &[S],
) -> Result<(), String> {
    let url = traces_url(endpoint);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let send = async {
        for body in to_otlp_json_lines(spans).lines() {
            let mut request = hyper::Request::post(&url).header("Content-Type", "application/json");
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let request = request
                .body(Full::new(Bytes::from(body.to_string())))
                .map_err(|e| e.to_string())?;
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("it answered {}", response.status()));
            }
        }
        Ok(())
    };
    runtime
        .block_on(async { tokio::time::timeout(FORWARD_LIMIT, send).await })
        .map_err(|_| format!("no answer within {}s", FORWARD_LIMIT.as_secs()))?
        .map_err(|e| format!("cannot forward the spans to {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_as_the_sdks_add_it() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }

    #[test]
    fn the_headers_go_with_each_request() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let server = std::thread::spawn(move || {
            let (mut client, _) = listener.accept().expect("a request");
            let mut head = Vec::new();
            let mut byte = [0u8];
            while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).expect("read") == 1 {
                head.push(byte[0]);
            }
            let _ = client.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            String::from_utf8_lossy(&head).to_ascii_lowercase()
        });
        let headers = [("X-Api-Key".to_string(), "k1".to_string())];
        forward(&endpoint, &headers, &[Span::default()]).expect("forwarded");
        let head = server.join().expect("the server");
        assert!(head.starts_with("post /v1/traces "), "{head}");
        assert!(head.contains("x-api-key: k1\r\n"), "{head}");
        assert!(
            head.contains("content-type: application/json\r\n"),
            "{head}"
        );
    }

    #[test]
    fn spans_reach_the_endpoint() {
        let collector = crate::receiver::Receiver::start(std::net::Ipv4Addr::LOCALHOST.into())
            .expect("a receiver stands in for the collector");
        let span = Span {
            name: "forwarded".into(),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "00f067aa0ba902b7".into(),
            ..Span::default()
        };
        forward(&collector.endpoint(), &[], std::slice::from_ref(&span)).expect("forwarded");
        assert_eq!(collector.spans(), [span]);
        // Nothing listening: an error naming the URL, soon.
        let closed = format!("http://127.0.0.1:{}", collector.address().port());
        drop(collector);
        let error = forward(&closed, &[], &[Span::default()]).expect_err("nothing listens");
        assert!(error.contains("/v1/traces"), "{error}");
    }
}
