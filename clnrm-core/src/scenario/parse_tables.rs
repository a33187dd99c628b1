//! The small top-level tables: `[assertions]`, `[otel]`, `[report]`,
//! `[limits]` and `[determinism]`, and the `build` table of an image.

use std::time::Duration;

use toml::de::DeValue;

use super::model::*;
use super::reader::TableReader;
use super::spanned::Spanned;
use super::value::{ValueRef, type_name};
use crate::diagnostic::{Code, Diagnostic};

pub(crate) fn read_build(value: &ValueRef<'_, '_>) -> Option<ImageBuild> {
    if let DeValue::String(_) = value.value {
        return value.string().map(|context| ImageBuild {
            context,
            dockerfile: None,
        });
    }
    let mut t = value.table()?;
    let context = t.required_string("context");
    let dockerfile = t.string("dockerfile").map(|s| s.value);
    t.finish();
    Some(ImageBuild {
        context: context?,
        dockerfile,
    })
}

pub(crate) fn read_assertions(value: &ValueRef<'_, '_>) -> Vec<Assertion> {
    let Some(mut t) = value.table() else {
        return Vec::new();
    };
    let assertions = t
        .entries()
        .into_iter()
        .map(|(key, v)| {
            let value = match v.value {
                DeValue::Boolean(b) => AssertionValue::Bool(*b),
                DeValue::Integer(_) => v
                    .integer()
                    .map_or(AssertionValue::Other("?".into()), AssertionValue::Integer),
                DeValue::String(s) => AssertionValue::Text(s.to_string()),
                other => AssertionValue::Other(type_name(other).to_string()),
            };
            let claim = known_claim(&key.value, &value);
            Assertion { key, value, claim }
        })
        .collect();
    t.finish();
    assertions
}

fn known_claim(key: &str, value: &AssertionValue) -> Option<KnownClaim> {
    match (key, value) {
        ("container_should_have_executed_commands", AssertionValue::Integer(n)) => {
            u32::try_from(*n).ok().map(KnownClaim::ExecutedCommands)
        }
        (
            "all_steps_should_succeed" | "all_commands_should_succeed",
            AssertionValue::Bool(true),
        ) => Some(KnownClaim::AllStepsSucceed),
        ("execution_should_be_hermetic", AssertionValue::Bool(true)) => Some(KnownClaim::Hermetic),
        _ => None,
    }
}

/// The `[otel] protocol` values programs are given as they are.
pub(crate) const OTLP_HTTP_PROTOCOLS: &[&str] = &["http/protobuf", "http/json"];

pub(crate) fn read_otel(value: &ValueRef<'_, '_>) -> Option<Otel> {
    let mut t = value.table()?;
    let otel = Otel {
        exporter: t.string("exporter").map(|s| s.value),
        endpoint: t.string("endpoint").map(|s| s.value),
        protocol: t.string("protocol").map(|s| s.value),
        sample_ratio: t.get("sample_ratio").and_then(|v| v.float()),
        resources: t
            .get("resources")
            .and_then(|v| v.string_map())
            .unwrap_or_default(),
        headers: t
            .get("headers")
            .and_then(|v| v.string_map())
            .unwrap_or_default(),
        propagators: t
            .get("propagators")
            .map(|v| read_propagators(&v))
            .unwrap_or_default(),
    };
    if let Some(ratio) = otel.sample_ratio
        && !(0.0..=1.0).contains(&ratio)
    {
        t.diags().push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`otel.sample_ratio` must be between 0 and 1, found {ratio}"),
            )
            .at(t.key_span("sample_ratio").unwrap_or(t.span())),
        );
    }
    if let Some(protocol) = &otel.protocol
        && !OTLP_HTTP_PROTOCOLS.contains(&protocol.as_str())
    {
        t.diags().push(
            Diagnostic::warning(
                Code::NotSupportedYet,
                format!(
                    "`otel.protocol = \"{protocol}\"`: the span receiver speaks OTLP over HTTP only; programs are given `http/protobuf`"
                ),
            )
            .at(t.key_span("protocol").unwrap_or(t.span()))
            .with_help("use `http/protobuf` or `http/json`"),
        );
    }
    t.finish();
    Some(otel)
}

/// The propagators a step's context may be carried by: the W3C trace
/// context (`TRACEPARENT`, which every step is given) and W3C baggage
/// (`BAGGAGE`: clnrm starts none, so there is none to carry).
const PROPAGATORS: &[&str] = &["tracecontext", "baggage"];

/// `[otel.propagators] use = [...]` (the original's shape), or a plain list.
fn read_propagators(value: &ValueRef<'_, '_>) -> Vec<String> {
    let names = match value.value {
        DeValue::Table(_) => value.table().and_then(|mut t| {
            let names = t.string_list("use");
            if !t.has("use") {
                t.missing("use");
            }
            t.finish();
            names
        }),
        _ => value.string_list(),
    };
    let names = names.unwrap_or_default();
    for name in names
        .iter()
        .filter(|n| !PROPAGATORS.contains(&n.value.as_str()))
    {
        value.diags.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("propagator `{}` is not supported: steps are given the W3C trace context (`TRACEPARENT`)", name.value),
            )
            .at(name.span.clone())
            .with_help("use `[\"tracecontext\", \"baggage\"]`; an SDK that reads `TRACEPARENT` (the OpenTelemetry environment carrier) continues the trace"),
        );
    }
    if !names.is_empty() && !names.iter().any(|n| n.value == "tracecontext") {
        value.diags.push(
            Diagnostic::warning(
                Code::InvalidValue,
                "the propagators leave out `tracecontext`, but steps are given `TRACEPARENT` all the same",
            )
            .at(value.span())
            .with_help("add \"tracecontext\""),
        );
    }
    names.into_iter().map(|n| n.value).collect()
}

/// `[report]`: paths of the files written after the run, relative to the
/// scenario file's folder. An empty path, or one path for two reports, is
/// an `invalid-value` error (that key is left out).
pub(crate) fn read_report(value: &ValueRef<'_, '_>) -> Option<Report> {
    let mut t = value.table()?;
    let mut seen = Vec::new();
    let report = Report {
        json: report_path(&mut t, "json", &mut seen),
        junit: report_path(&mut t, "junit", &mut seen),
        digest: report_path(&mut t, "digest", &mut seen),
    };
    t.finish();
    Some(report)
}

fn report_path(
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    seen: &mut Vec<String>,
) -> Option<String> {
    let path = t.string(key)?;
    let problem = if path.value.trim().is_empty() {
        Some(format!("`report.{key}` is empty"))
    } else {
        (seen.contains(&path.value))
            .then(|| format!("`report.{key}` names the same file as another report"))
    };
    if let Some(message) = problem {
        t.diags().push(
            Diagnostic::error(Code::InvalidValue, message)
                .at(path.span)
                .with_help("give each report a path of its own, relative to this file's folder"),
        );
        return None;
    }
    seen.push(path.value.clone());
    Some(path.value)
}

pub(crate) fn read_limits(value: &ValueRef<'_, '_>) -> Option<Limits> {
    let mut t = value.table()?;
    let limits = Limits {
        cpu_millicores: t.get("cpu_millicores").and_then(|v| v.unsigned::<u32>()),
        memory_mb: t.get("memory_mb").and_then(|v| v.unsigned::<u32>()),
        max_containers: t.get("max_containers").and_then(|v| {
            let n = v.unsigned::<u32>()?;
            Some(Spanned::new(n, v.span()))
        }),
        max_duration: t
            .get("max_duration_seconds")
            .and_then(|v| v.duration(Duration::from_secs(1))),
    };
    t.finish();
    Some(limits)
}

pub(crate) fn read_determinism(value: &ValueRef<'_, '_>) -> Option<Determinism> {
    let mut t = value.table()?;
    let seed = t.get("seed").and_then(|v| v.unsigned::<u64>());
    let freeze_clock = t.get("freeze_clock").and_then(|v| match v.value {
        DeValue::Datetime(dt) => Some(Spanned::new(dt.to_string(), v.span())),
        _ => v.string(),
    });
    let freeze_clock =
        freeze_clock.and_then(|clock| match humantime::parse_rfc3339_weak(&clock.value) {
            // Written as a template (`"{{ freeze_clock }}"`): checked once rendered.
            Err(_) if clock.value.contains("{{") => Some(clock.value),
            Ok(_) => Some(clock.value),
            Err(e) => {
                t.diags().push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`determinism.freeze_clock` is not an RFC 3339 time ({e})"),
                    )
                    .at(clock.span)
                    .with_help("write a time such as \"2025-01-01T00:00:00Z\""),
                );
                None
            }
        });
    t.finish();
    Some(Determinism { seed, freeze_clock })
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;

    const SCENARIO: &str = "[meta]\nname = \"r\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";

    #[test]
    fn report_paths_are_read_and_an_empty_or_repeated_one_is_an_error() {
        let parsed = parse_scenario(&format!(
            "{SCENARIO}[report]\njson = \"out/r.json\"\njunit = \"out/r.xml\"\ndigest = \"out/r.sha256\"\n"
        ));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let report = parsed.file.and_then(|f| f.report).expect("report");
        assert_eq!(report.json.as_deref(), Some("out/r.json"));
        assert_eq!(report.junit.as_deref(), Some("out/r.xml"));
        assert_eq!(report.digest.as_deref(), Some("out/r.sha256"));

        let parsed = parse_scenario(&format!(
            "{SCENARIO}[report]\njson = \"\"\njunit = \"r.out\"\ndigest = \"r.out\"\n"
        ));
        let messages: Vec<&str> = (parsed.diagnostics.iter())
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "`report.json` is empty",
                "`report.digest` names the same file as another report"
            ]
        );
        let report = parsed.file.and_then(|f| f.report).expect("report");
        assert_eq!(report.json, None);
        assert_eq!(report.junit.as_deref(), Some("r.out"));
        assert_eq!(report.digest, None);
    }
}
