//! `cargo bench -p clnrm-benches --bench spans_judge`
//!
//! The two span targets: decoding 10,000 spans of OTLP protobuf (one
//! `ExportTraceServiceRequest`, as an SDK's exporter sends it) into the span
//! model, target < 100 ms; and judging those 10,000 spans against 50
//! expectations (`[[expect.span]]` with parent, kind, attribute and duration
//! constraints, plus `[expect.counts]` and `[expect.status]`), parsing
//! excluded, target < 20 ms. Both in release, medians of
//! `CLNRM_BENCH_RUNS` (default 15) runs; each figure is printed with its
//! ratio to the target.
//!
//! Fails (non-zero exit) only when the decoded spans are not the ones
//! encoded, or when the expectations that must hold do not; timings are
//! never asserted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use clnrm_benches::{Summary, env_count, header, ms};
use clnrm_core::executor::judge_spans;
use clnrm_core::scenario::{
    CountBound, CountsExpectation, Expectations, SpanExpectation, SpanKind, SpanStatus, Spanned,
    StatusExpectation,
};
use clnrm_core::spans::from_protobuf;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1 as otlp;
use prost::Message;

const SPANS: usize = 10_000;
const NAMES: usize = 50;
const DECODE_TARGET: Duration = Duration::from_millis(100);
const JUDGE_TARGET: Duration = Duration::from_millis(20);
const WIDTH: usize = 34;

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// 10,000 spans in traces of 50: a `root` server span (the first name) with
/// 49 client children, each with three attributes, an event, and a status.
fn export() -> Vec<u8> {
    let spans = (0..SPANS)
        .map(|i| {
            let trace = (i / NAMES) as u64;
            let position = i % NAMES;
            let id = |n: usize| (n as u64 + 1).to_be_bytes().to_vec();
            let root = i - position;
            otlp::Span {
                trace_id: [trace.to_be_bytes(), trace.to_be_bytes()].concat(),
                span_id: id(i),
                parent_span_id: if position == 0 { Vec::new() } else { id(root) },
                name: format!("op.{position}"),
                kind: if position == 0 { 2 } else { 3 },
                start_time_unix_nano: 1_000_000 * i as u64,
                end_time_unix_nano: 1_000_000 * i as u64 + 2_000_000,
                attributes: vec![
                    attribute("http.method", any_value::Value::StringValue("GET".into())),
                    attribute("http.status_code", any_value::Value::IntValue(200)),
                    attribute("ratio", any_value::Value::DoubleValue(0.5)),
                ],
                events: vec![otlp::span::Event {
                    name: "done".into(),
                    ..otlp::span::Event::default()
                }],
                status: Some(otlp::Status {
                    code: 1,
                    ..otlp::Status::default()
                }),
                ..otlp::Span::default()
            }
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

/// 50 span expectations (one per name) that all hold, and the counts and
/// status tables.
fn expectations() -> Expectations {
    let spans = (0..NAMES)
        .map(|position| SpanExpectation {
            name: Spanned::new(format!("op.{position}"), 0..0),
            parent: (position > 0).then(|| "op.0".to_string()),
            kind: Some(if position == 0 {
                SpanKind::Server
            } else {
                SpanKind::Client
            }),
            attrs_all: vec![("http.status_code".into(), "200".into())],
            events_all: vec!["done".into()],
            duration_ms_max: Some(5),
            ..SpanExpectation::default()
        })
        .collect();
    Expectations {
        spans,
        counts: Some(CountsExpectation {
            spans_total: Some(CountBound {
                eq: Some(SPANS as u64),
                ..CountBound::default()
            }),
            errors_total: Some(CountBound {
                eq: Some(0),
                ..CountBound::default()
            }),
            ..CountsExpectation::default()
        }),
        status: Some(StatusExpectation {
            all: Some(SpanStatus::Ok),
            ..StatusExpectation::default()
        }),
        ..Expectations::default()
    }
}

fn ratio_line(label: &str, median: Duration, target: Duration) -> String {
    let verdict = if median < target { "met" } else { "NOT met" };
    format!(
        "target: {label} median < {} ms: {verdict} ({:.2} ms, {:.2}x the target)",
        ms(target),
        ms(median),
        median.as_secs_f64() / target.as_secs_f64()
    )
}

fn main() -> ExitCode {
    let runs = env_count("CLNRM_BENCH_RUNS", 15);
    let body = export();
    let spans = match from_protobuf(&body) {
        Ok(spans) if spans.len() == SPANS => spans,
        other => {
            eprintln!(
                "spans_judge: FAILED: the export does not decode to {SPANS} spans: {other:?}"
            );
            return ExitCode::FAILURE;
        }
    };
    let expect = expectations();
    let failures = judge_spans(&expect, &spans, &[]);
    if !failures.is_empty() {
        eprintln!("spans_judge: FAILED: expectations that must hold do not:");
        for failure in failures.iter().take(5) {
            eprintln!("  {}", failure.message);
        }
        return ExitCode::FAILURE;
    }
    let decode = Summary::of(&clnrm_benches::sample(runs, || {
        black_box(
            from_protobuf(black_box(&body))
                .map(|s| s.len())
                .unwrap_or_default(),
        );
    }));
    let judge = Summary::of(&clnrm_benches::sample(runs, || {
        black_box(judge_spans(black_box(&expect), black_box(&spans), &[]));
    }));
    println!(
        "spans_judge: {SPANS} spans ({} bytes of OTLP protobuf), {} expectations, {runs} runs",
        body.len(),
        expect.spans.len()
    );
    println!();
    println!("{}", header(WIDTH));
    println!("{}", decode.row_ms("decode OTLP protobuf", WIDTH));
    println!("{}", judge.row_ms("judge 50 expectations", WIDTH));
    println!("{}", ratio_line("decode", decode.median, DECODE_TARGET));
    println!("{}", ratio_line("judge", judge.median, JUDGE_TARGET));
    ExitCode::SUCCESS
}
