//! A scenario's spans: the receiver its programs export to, the `OTEL_*`
//! variables each step gets, and, after the steps, the judging of the
//! `[expect.*]` tables against what arrived.
//!
//! Judged today: every table, for steps on the host. Steps in containers
//! still fail as not supported yet: nothing passes unchecked.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::expect::judge_all;
use crate::outcome::{Failure, FailureKind};
use crate::receiver::Receiver;
use crate::scenario::{Expectations, Scenario, ScenarioFile, Step};
use crate::spans::{Span, spans_in_lines};

use super::record::{ScenarioRun, Unchecked};

/// How long the receiver must be quiet before spans are judged: SDKs flush
/// on exit, a batch processor within `OTEL_BSP_SCHEDULE_DELAY`.
const SETTLE_IDLE: Duration = Duration::from_millis(100);
/// The longest wait for quiet: a program that never stops exporting.
const SETTLE_CAP: Duration = Duration::from_secs(2);
/// The batch processor's delay the steps are given (milliseconds).
const BATCH_DELAY_MS: &str = "50";

/// Whether and how a scenario's spans are collected.
pub(super) enum Collection {
    /// No span expectations.
    NotNeeded,
    Receiving(SpanReceiver),
    /// Expectations this version cannot check here (said after the steps).
    Unsupported(String),
}

pub(super) struct SpanReceiver {
    receiver: Receiver,
    /// One trace for the scenario; each step is a span of it (`TRACEPARENT`).
    trace_id: String,
}

impl Collection {
    pub(super) fn for_scenario(file: &ScenarioFile, scenario: &Scenario, on_host: bool) -> Self {
        if file.expect.is_empty() {
            return Collection::NotNeeded;
        }
        if let Some(file_entry) =
            (scenario.collect.iter()).find(|c| c.value.starts_with("spans:file:"))
        {
            return Collection::Unsupported(format!(
                "`artifacts.collect = [{:?}]`: span files are not read yet: the scenario fails rather than pass unchecked",
                file_entry.value
            ));
        }
        if !on_host || scenario.steps.iter().any(|s| s.service.is_some()) {
            return Collection::Unsupported(
                "span expectations on steps that run in containers are not supported yet (steps on the host, `backend = \"local\"`, are judged): the scenario fails rather than pass unchecked"
                    .into(),
            );
        }
        match Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)) {
            Ok(receiver) => Collection::Receiving(SpanReceiver {
                receiver,
                trace_id: random_hex(16),
            }),
            Err(e) => Collection::Unsupported(format!("cannot collect spans: {e}")),
        }
    }

    /// The variables that make the step's OpenTelemetry SDK export to the
    /// receiver; the step's own `env` wins over each.
    pub(super) fn environment(&self, file: &ScenarioFile, step: &Step) -> Vec<(String, String)> {
        let Collection::Receiving(spans) = self else {
            return Vec::new();
        };
        let mut env = vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                spans.receiver.endpoint(),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
            ("OTEL_TRACES_EXPORTER".into(), "otlp".into()),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), BATCH_DELAY_MS.into()),
            (
                "TRACEPARENT".into(),
                format!("00-{}-{}-01", spans.trace_id, random_hex(8)),
            ),
        ];
        let resources: Vec<String> = (file.otel.iter())
            .flat_map(|o| &o.resources)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !resources.is_empty() {
            env.push(("OTEL_RESOURCE_ATTRIBUTES".into(), resources.join(",")));
        }
        env.retain(|(key, _)| !step.env.iter().any(|(k, _)| k == key));
        env
    }

    /// After the steps: settles, then judges every table.
    pub(super) fn judge(self, file: &ScenarioFile, scenario: &Scenario, run: &mut ScenarioRun) {
        let spans = match self {
            Collection::NotNeeded => return,
            Collection::Unsupported(message) => {
                run.unchecked.push(Unchecked {
                    kind: FailureKind::Unsupported,
                    message,
                    span: None,
                });
                return;
            }
            Collection::Receiving(spans) => spans,
        };
        let receiver = &spans.receiver;
        receiver.settle(SETTLE_IDLE, SETTLE_CAP);
        run.notes.extend(receiver.warnings());
        let mut collected = receiver.spans();
        collected.extend(printed_spans(scenario, run));
        let expect = &file.expect;
        if collected.is_empty() {
            run.problems.push(Failure::new(
                FailureKind::SpanExpectation,
                format!(
                    "no spans were collected: the receiver listened on {} and the steps were given OTEL_EXPORTER_OTLP_ENDPOINT={}, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, OTEL_TRACES_EXPORTER=otlp (a program exports spans when its OpenTelemetry SDK uses the OTLP/HTTP exporter)",
                    receiver.address(),
                    receiver.endpoint()
                ),
            ));
        }
        // Peers a span may name: the file's services, and the receiver.
        let allowed: Vec<String> = (file.services.iter())
            .map(|s| s.id.value.clone())
            .chain(std::iter::once(receiver.address().ip().to_string()))
            .collect();
        run.span_misses
            .extend(judge_all(expect, &collected, &allowed));
    }
}

/// With `artifacts.collect = ["spans:NAME"]`, the spans the steps printed on
/// stdout (one JSON object per line); a line that looks like JSON but is not
/// is skipped, and counted in a note.
fn printed_spans(scenario: &Scenario, run: &mut ScenarioRun) -> Vec<Span> {
    if !scenario
        .collect
        .iter()
        .any(|c| c.value.starts_with("spans:"))
    {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let mut invalid = 0;
    for output in run.steps.iter().filter_map(|s| s.output.as_ref()) {
        let found = spans_in_lines(&output.stdout);
        spans.extend(found.spans);
        invalid += found.invalid_lines;
    }
    if invalid > 0 {
        run.notes.push(format!(
            "{invalid} line(s) of the steps' stdout looked like span JSON but did not parse: skipped"
        ));
    }
    spans
}

/// `bytes` random bytes as lowercase hex (ids of the W3C trace context).
fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        out.push_str(&format!("{:02x}", fastrand::u8(..)));
    }
    // An all-zero id is invalid; vanishingly rare, but never sent.
    if out.chars().all(|c| c == '0') {
        out.replace_range(..1, "1");
    }
    out
}

/// Judges `spans` against every `[expect.*]` table, as a scenario run does:
/// every expectation that does not hold, as a failure (without its place in
/// a file: a driver with the file locates the expectation itself).
/// `allowed_hosts`: the peers `no_external_services` accepts besides loopback.
pub fn judge_spans(
    expect: &Expectations,
    spans: &[Span],
    allowed_hosts: &[String],
) -> Vec<Failure> {
    judge_all(expect, spans, allowed_hosts)
        .into_iter()
        .map(|miss| miss.into_failure(None))
        .collect()
}
