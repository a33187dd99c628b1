//! A scenario's spans: the receiver its programs export to, the `OTEL_*`
//! variables each step and service gets, and, after the steps, the judging
//! of the `[expect.*]` tables against what arrived.
//!
//! The receiver listens on loopback for steps on the host and, through
//! [`SpanRoute`], on the scenario network's gateway for its containers.

mod keep;
mod sources;

pub(crate) use keep::keep_spans;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::SpanRoute;
use crate::expect::{judge_all, judge_scenario};
use crate::outcome::{Failure, FailureKind};
use crate::receiver::Receiver;
use crate::scenario::{Expectations, OTLP_HTTP_PROTOCOLS, Scenario, ScenarioFile, Step};
use crate::spans::Span;

use super::place::Place;
use super::record::{ScenarioRun, Unchecked};

/// How long the receiver must be quiet before spans are judged: SDKs flush
/// on exit, a batch processor within `OTEL_BSP_SCHEDULE_DELAY`.
const SETTLE_IDLE: Duration = Duration::from_millis(100);
/// The longest wait for quiet: a program that never stops exporting.
const SETTLE_CAP: Duration = Duration::from_secs(2);
/// The batch processor's delay the steps are given (milliseconds).
const BATCH_DELAY_MS: &str = "50";
/// How long services get to flush and exit (SIGTERM) before they are killed.
const SERVICE_STOP_GRACE: Duration = Duration::from_secs(2);
/// The host name the scenario's containers know the receiver by.
pub const RECEIVER_HOST: &str = "clnrm-otlp";

/// Whether and how a scenario's spans are collected.
pub(super) enum Collection {
    /// Nothing in the file asks for spans.
    NotNeeded,
    Receiving(SpanReceiver),
    /// The receiver could not start (said after the steps).
    Unavailable(String),
}

pub(super) struct SpanReceiver {
    receiver: Arc<Receiver>,
}

/// Whether anything in the file asks for spans: expectations, `[otel]`,
/// `wait_for_span`, a collector service, or spans collected from output.
fn needs_spans(file: &ScenarioFile, scenario: &Scenario) -> bool {
    !file.expect.is_empty()
        || file.otel.is_some()
        || (file.services.iter()).any(|s| s.wait_for_span.is_some() || s.is_collector())
        || (scenario.collect.iter()).any(|c| c.value.starts_with("spans:"))
}

impl Collection {
    pub(super) fn for_scenario(file: &ScenarioFile, scenario: &Scenario) -> Self {
        if !needs_spans(file, scenario) {
            return Collection::NotNeeded;
        }
        match Receiver::start(IpAddr::V4(Ipv4Addr::LOCALHOST)) {
            Ok(receiver) => Collection::Receiving(SpanReceiver {
                receiver: Arc::new(receiver),
            }),
            Err(e) => Collection::Unavailable(format!("cannot collect spans: {e}")),
        }
    }

    /// How the scenario's containers (runner and services) reach the
    /// receiver, when spans are collected; `traceparent` is the services'.
    pub(super) fn route(&self, file: &ScenarioFile, traceparent: String) -> Option<SpanRoute> {
        let Collection::Receiving(spans) = self else {
            return None;
        };
        let mut env = common_env(file);
        env.push(("TRACEPARENT".into(), traceparent));
        Some(SpanRoute {
            receiver: Arc::clone(&spans.receiver),
            host_names: receiver_names(file),
            env,
        })
    }

    /// The variables that make the step's OpenTelemetry SDK export to the
    /// receiver (in a container, by its host name), with `traceparent` (the
    /// step's span); the step's own `env` wins over each.
    pub(super) fn environment(
        &self,
        file: &ScenarioFile,
        step: &Step,
        place: &Place,
        traceparent: String,
    ) -> Vec<(String, String)> {
        let Collection::Receiving(spans) = self else {
            return Vec::new();
        };
        let endpoint = if place.in_container(step) {
            (place.world().and_then(|w| w.span_endpoint()))
                .map(str::to_string)
                .unwrap_or_default()
        } else {
            spans.receiver.endpoint()
        };
        let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), endpoint)];
        env.extend(common_env(file));
        env.push(("TRACEPARENT".into(), traceparent));
        env.retain(|(key, _)| !step.env.iter().any(|(k, _)| k == key));
        env
    }

    /// After the steps: stops the services (so their SDKs flush), settles,
    /// keeps what arrived in `run.spans`, then judges every table; `own`:
    /// clnrm's own spans so far, for the expectations that name them.
    pub(super) fn judge(
        self,
        file: &ScenarioFile,
        scenario: &Scenario,
        place: &Place,
        own: &[Span],
        run: &mut ScenarioRun,
    ) {
        let spans = match self {
            Collection::NotNeeded => return,
            Collection::Unavailable(message) => {
                run.unchecked.push(Unchecked {
                    kind: FailureKind::Unavailable,
                    message,
                    span: None,
                });
                return;
            }
            Collection::Receiving(spans) => spans,
        };
        let receiver = &spans.receiver;
        if let Some(world) = place.world() {
            world.stop_services(SERVICE_STOP_GRACE);
        }
        receiver.settle(SETTLE_IDLE, SETTLE_CAP);
        run.notes.extend(receiver.warnings());
        let mut collected = receiver.spans();
        collected.extend(sources::printed_spans(scenario, run));
        collected.extend(sources::file_spans(scenario, place, run));
        let expect = &file.expect;
        if !expect.is_empty() {
            let allowed = allowed_peers(file, receiver);
            let verdict = judge_scenario(expect, &scenario.name.value, &collected, own, &allowed);
            if collected.is_empty() && verdict.about_programs {
                run.problems.push(Failure::new(
                    FailureKind::SpanExpectation,
                    no_spans_message(file, receiver, place),
                ));
            }
            run.span_misses.extend(verdict.misses);
        }
        run.spans = Some(collected);
    }
}

/// What every program gets besides the endpoint and its `TRACEPARENT`.
fn common_env(file: &ScenarioFile) -> Vec<(String, String)> {
    let protocol = (file.otel.iter())
        .filter_map(|o| o.protocol.as_deref())
        .find(|p| OTLP_HTTP_PROTOCOLS.contains(p))
        .unwrap_or("http/protobuf");
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), protocol.into()),
        ("OTEL_TRACES_EXPORTER".into(), "otlp".into()),
        ("OTEL_BSP_SCHEDULE_DELAY".into(), BATCH_DELAY_MS.into()),
    ];
    let resources: Vec<String> = (file.otel.iter())
        .flat_map(|o| &o.resources)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !resources.is_empty() {
        env.push(("OTEL_RESOURCE_ATTRIBUTES".into(), resources.join(",")));
    }
    env
}

/// The receiver's host names in the containers: [`RECEIVER_HOST`], and the
/// id of each collector service.
fn receiver_names(file: &ScenarioFile) -> Vec<String> {
    let collectors = (file.services.iter())
        .filter(|s| s.is_collector())
        .map(|s| s.id.value.clone());
    std::iter::once(RECEIVER_HOST.to_string())
        .chain(collectors)
        .collect()
}

/// Peers a span may name besides loopback: the file's services and the
/// receiver, by name or address.
fn allowed_peers(file: &ScenarioFile, receiver: &Receiver) -> Vec<String> {
    (file.services.iter())
        .map(|s| s.id.value.clone())
        .chain(std::iter::once(RECEIVER_HOST.to_string()))
        .chain(receiver.addresses().iter().map(|a| a.ip().to_string()))
        .collect()
}

fn no_spans_message(file: &ScenarioFile, receiver: &Receiver, place: &Place) -> String {
    let addresses: Vec<String> = (receiver.addresses().iter())
        .map(|a| a.to_string())
        .collect();
    let mut endpoints = format!("OTEL_EXPORTER_OTLP_ENDPOINT={}", receiver.endpoint());
    if let Some(endpoint) = place.world().and_then(|w| w.span_endpoint()) {
        endpoints.push_str(&format!(" (in the containers {endpoint})"));
    }
    let given: Vec<String> = (common_env(file).into_iter())
        .take(2)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "no spans were collected: the receiver listened on {} and the programs were given {endpoints}, {} (a program exports spans when its OpenTelemetry SDK uses the OTLP/HTTP exporter, and flushes before it exits)",
        addresses.join(" and "),
        given.join(", ")
    )
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
