//! `traced checkout [--items N] [--decline] [--peer HOST]`: a small order
//! checkout, instrumented with OpenTelemetry the usual way (the SDK's tracer
//! provider, its batch span processor and the OTLP/HTTP exporter).
//!
//! Configured only through the standard variables, which the SDK reads:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` or `http/json`),
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` and
//! `OTEL_BSP_SCHEDULE_DELAY`. `TRACEPARENT` (W3C trace context), when set, is
//! the parent of the `checkout` span.
//!
//! The spans of one run, each child starting after the previous one ended:
//!
//! ```text
//! checkout (server)            order.items, order.express, order.total, http.request.method
//! ├── cart.load (internal)     event cache.miss
//! ├── payment.charge (client)  server.address, payment.amount; status Ok,
//! │                            or Error "card declined" with event declined
//! └── receipt.send (producer)  only when the payment went through
//! ```

use std::collections::HashMap;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

const USAGE: &str = "\
usage: traced checkout [--items N] [--decline] [--peer HOST]

Checks out an order of N items (default 3) and charges it at the payment
service HOST (default `payments`); --decline has the card declined.
Prints `order confirmed: N items` and exits 0, or `payment declined` on
stderr and exits 2.

Spans go to the OTLP/HTTP endpoint of the standard variables
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY); TRACEPARENT, when set, is
the parent of the `checkout` span.";

/// Price of one item, so the totals are deterministic.
const ITEM_PRICE: f64 = 12.5;
/// How long each step of the checkout works.
const STEP_TIME: Duration = Duration::from_millis(5);

#[derive(Debug, PartialEq)]
struct Order {
    items: i64,
    decline: bool,
    peer: String,
}

#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Checkout(Order),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let order = match parse(&args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Checkout(order)) => order,
        Err(message) => {
            eprintln!(
                "traced: {message}\n{}\n(see `traced --help`)",
                USAGE.lines().next().unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    let provider = match tracer_provider() {
        Ok(provider) => provider,
        Err(message) => {
            eprintln!("traced: {message}");
            return ExitCode::from(1);
        }
    };
    let confirmed = checkout(&provider, &order);
    // Exports what the batch processor still holds, then stops its thread.
    if let Err(e) = provider.shutdown() {
        eprintln!("traced: warning: the tracer provider did not shut down cleanly: {e}");
    }
    if confirmed {
        println!("order confirmed: {} items", order.items);
        ExitCode::SUCCESS
    } else {
        eprintln!("payment declined");
        ExitCode::from(2)
    }
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        Some("checkout") => {}
        Some("--help" | "-h" | "help") => return Ok(Command::Help),
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("a command is required".into()),
    }
    let mut order = Order {
        items: 3,
        decline: false,
        peer: "payments".into(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--items" => {
                let value = args.next().ok_or("`--items` needs a number")?;
                order.items = match value.parse::<i64>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("`--items {value}`: not a positive integer")),
                };
            }
            "--peer" => {
                let value = args.next().ok_or("`--peer` needs a host name")?;
                if value.is_empty() {
                    return Err("`--peer` needs a host name".into());
                }
                order.peer = value.clone();
            }
            "--decline" => order.decline = true,
            "--help" | "-h" => return Ok(Command::Help),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Command::Checkout(order))
}

/// The SDK's provider with the OTLP/HTTP exporter behind a batch processor
/// (its own thread, no async runtime). The exporter takes its endpoint,
/// protocol and timeout from the `OTEL_EXPORTER_OTLP_*` variables, the
/// resource its service name and attributes from `OTEL_SERVICE_NAME` and
/// `OTEL_RESOURCE_ATTRIBUTES`, the processor its delay from
/// `OTEL_BSP_SCHEDULE_DELAY`.
fn tracer_provider() -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("cannot set up the OTLP exporter: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(Warning(exporter))
        .with_resource(Resource::builder().build())
        .build())
}

/// The trace context `TRACEPARENT` carries (the caller's span), or none.
fn parent_context() -> Context {
    let carrier: HashMap<String, String> = std::env::var("TRACEPARENT")
        .ok()
        .map(|value| ("traceparent".to_string(), value))
        .into_iter()
        .collect();
    TraceContextPropagator::new().extract(&carrier)
}

/// Runs the checkout; whether the payment went through.
fn checkout(provider: &SdkTracerProvider, order: &Order) -> bool {
    let tracer = provider.tracer("traced");
    let total = order.items as f64 * ITEM_PRICE;
    let root = tracer
        .span_builder("checkout")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("order.items", order.items),
            KeyValue::new("order.express", false),
            KeyValue::new("order.total", total),
            KeyValue::new("http.request.method", "POST"),
        ])
        .start_with_context(&tracer, &parent_context());
    let cx = parent_context().with_span(root);

    let mut cart = tracer
        .span_builder("cart.load")
        .with_kind(SpanKind::Internal)
        .start_with_context(&tracer, &cx);
    sleep(STEP_TIME);
    cart.add_event("cache.miss", vec![KeyValue::new("cache.key", "cart")]);
    sleep(STEP_TIME);
    cart.end();

    let mut payment = tracer
        .span_builder("payment.charge")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("server.address", order.peer.clone()),
            KeyValue::new("payment.amount", total),
        ])
        .start_with_context(&tracer, &cx);
    sleep(STEP_TIME);
    let confirmed = !order.decline;
    if confirmed {
        payment.set_status(Status::Ok);
    } else {
        payment.add_event("declined", vec![KeyValue::new("payment.reason", "card")]);
        payment.set_status(Status::error("card declined"));
    }
    payment.end();

    if confirmed {
        let mut receipt = tracer
            .span_builder("receipt.send")
            .with_kind(SpanKind::Producer)
            .start_with_context(&tracer, &cx);
        sleep(STEP_TIME);
        receipt.end();
    }

    cx.span().end();
    confirmed
}

/// The OTLP exporter, saying on stderr when an export fails (nothing listens,
/// the collector refuses): the SDK itself only logs that through its internal
/// logs, and the program goes on and exits as it would have.
#[derive(Debug)]
struct Warning<E>(E);

impl<E: SpanExporter> SpanExporter for Warning<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.0.export(batch).await;
        if let Err(e) = &result {
            eprintln!("traced: warning: {spans} span(s) not exported: {e}");
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn defaults_and_options() {
        assert_eq!(
            parse(&args(&["checkout"])),
            Ok(Command::Checkout(Order {
                items: 3,
                decline: false,
                peer: "payments".into()
            }))
        );
        assert_eq!(
            parse(&args(&[
                "checkout",
                "--items",
                "5",
                "--decline",
                "--peer",
                "127.0.0.1"
            ])),
            Ok(Command::Checkout(Order {
                items: 5,
                decline: true,
                peer: "127.0.0.1".into()
            }))
        );
        assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for words in [
            &[][..],
            &["pay"],
            &["checkout", "--items"],
            &["checkout", "--items", "0"],
            &["checkout", "--items", "many"],
            &["checkout", "--peer"],
            &["checkout", "--fast"],
        ] {
            assert!(parse(&args(words)).is_err(), "{words:?}");
        }
    }
}
