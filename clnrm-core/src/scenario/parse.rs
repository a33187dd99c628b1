//! Rendered TOML text -> [`ScenarioFile`], reporting every problem at once.

use std::ops::Range;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::model::*;
use super::parse_expect::{read_expect, read_otel_validation};
use super::parse_steps::{read_scenarios, read_top_level_steps};
use super::reader::{Diagnostics, TableReader, ValueRef};
use super::spanned::Spanned;
use crate::diagnostic::{Code, Diagnostic};

/// Plugins the original tool knew that this version does not run.
const KNOWN_UNSUPPORTED_PLUGINS: &[&str] = &[
    "surrealdb",
    "network_service",
    "ollama",
    "vllm",
    "tgi",
    "postgres",
    "redis",
    "otel_collector",
    "chaos_engine",
];

const TOP_LEVEL_HINTS: &[(&str, &str)] = &[
    (
        "network",
        "services already share the scenario's own network and reach each other by id; remove `network`",
    ),
    (
        "resources",
        "resource limits live in `[limits]` (`cpu_millicores`, `memory_mb`)",
    ),
    (
        "otel_expectations",
        "span expectations live in `[[expect.span]]`, `[expect.graph]`, `[expect.counts]`, ...",
    ),
];

const SERVICE_HINTS: &[(&str, &str)] = &[
    (
        "network",
        "services already share the scenario's own network and reach each other by id; remove `network`",
    ),
    (
        "resources",
        "resource limits live in the file's `[limits]` table",
    ),
];

/// The result of parsing one rendered document.
#[derive(Debug)]
pub struct Parsed {
    /// `None` when the text is not valid TOML.
    pub file: Option<ScenarioFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses rendered scenario text. Never panics; every problem is a diagnostic.
pub fn parse_scenario(text: &str) -> Parsed {
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut diagnostics: Vec<Diagnostic> = errors.iter().map(syntax_diagnostic).collect();
    if !errors.is_empty() {
        // What recovery kept of a broken document is cut short: anything found
        // in it (a scenario "missing", a key "absent") would only follow from
        // the syntax error, and could come before it in the file.
        return Parsed {
            file: None,
            diagnostics,
        };
    }
    let diags = Diagnostics::default();
    let file = read_document(root.get_ref(), 0..text.len(), &diags);
    diagnostics.extend(diags.into_vec());
    Parsed {
        file: Some(file),
        diagnostics,
    }
}

/// Every key path (`scenario.steps.command`, ...) the parser reads in `text`;
/// for documentation checks. Free-form tables (`[vars]`, `env`) are not listed.
pub fn accepted_keys(text: &str) -> std::collections::BTreeSet<String> {
    let (root, _) = DeTable::parse_recoverable(text);
    let diags = Diagnostics::recording_keys();
    read_document(root.get_ref(), 0..text.len(), &diags);
    diags.take_keys()
}

fn syntax_diagnostic(error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim_end().trim_end_matches('.');
    let mut diagnostic = Diagnostic::error(Code::TomlSyntax, format!("invalid TOML: {message}"));
    if let Some(span) = error.span() {
        diagnostic = diagnostic.at(span);
    }
    diagnostic
}

fn read_document(root: &DeTable<'_>, span: Range<usize>, diags: &Diagnostics) -> ScenarioFile {
    let mut doc =
        TableReader::new(root, span.clone(), diags, String::new()).with_hints(TOP_LEVEL_HINTS);
    let header = read_header(&mut doc);
    // Plain TOML tables read before rendering (see `prepare`); any content is accepted here.
    for key in ["vars", "matrix"] {
        doc.get(key);
    }
    let determinism = doc.get("determinism").and_then(|v| read_determinism(&v));
    let services = read_services(&mut doc);
    let mut scenarios = Vec::new();
    if let Some(steps) = doc.get("steps") {
        scenarios.extend(read_top_level_steps(&steps, &header));
    }
    if let Some(list) = doc.get("scenario") {
        if !scenarios.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    "the file has both top-level `[[steps]]` and `[[scenario]]`",
                )
                .at(doc.key_span("scenario").unwrap_or(span.clone()))
                .with_help(
                    "move the top-level steps into a `[[scenario]]` with `[[scenario.steps]]`",
                ),
            );
        }
        scenarios.extend(read_scenarios(&list));
    }
    let mut expect = doc
        .get("expect")
        .map(|v| read_expect(&v))
        .unwrap_or_default();
    if let Some(old) = doc.get("otel_validation") {
        read_otel_validation(&old, &mut expect);
    }
    let assertions = doc
        .get("assertions")
        .map(|v| read_assertions(&v))
        .unwrap_or_default();
    let otel = doc.get("otel").and_then(|v| read_otel(&v));
    let report = doc.get("report").and_then(|v| read_report(&v));
    let limits = doc.get("limits").and_then(|v| read_limits(&v));
    doc.finish();
    ScenarioFile {
        header,
        services,
        scenarios,
        expect,
        assertions,
        otel,
        report,
        limits,
        determinism,
    }
}

fn read_header(doc: &mut TableReader<'_, '_>) -> Header {
    let meta = doc.get("meta");
    let test = doc.get("test");
    let test_metadata = test.as_ref().and_then(|t| {
        let mut table = t.table()?;
        let metadata = table.get("metadata");
        table.finish();
        if metadata.is_none() {
            doc.diags().push(
                Diagnostic::error(Code::MissingHeader, "`[test]` has no `metadata` table")
                    .at(t.span())
                    .with_help("write the header as `[meta]` (or the older `[test.metadata]`)"),
            );
        }
        metadata
    });
    match (meta, test_metadata) {
        (Some(meta), other) => {
            if other.is_some() {
                doc.diags().push(
                    Diagnostic::error(
                        Code::ConflictingKeys,
                        "the file has both `[meta]` and `[test.metadata]`",
                    )
                    .at(doc.key_span("test").unwrap_or(meta.span()))
                    .with_help("keep one header: `[meta]`"),
                );
            }
            read_header_table(&meta, HeaderShape::Meta)
        }
        (None, Some(metadata)) => read_header_table(&metadata, HeaderShape::TestMetadata),
        (None, None) => {
            if test.is_none() {
                doc.diags().push(
                    Diagnostic::error(Code::MissingHeader, "the file has no `[meta]` header")
                        .at(0..0)
                        .with_help("add `[meta]` with at least `name = \"...\"`"),
                );
            }
            Header::default()
        }
    }
}

fn read_header_table(value: &ValueRef<'_, '_>, shape: HeaderShape) -> Header {
    let Some(mut t) = value.table() else {
        return Header {
            shape,
            ..Header::default()
        };
    };
    let name = t
        .required_string("name")
        .unwrap_or_else(|| Spanned::new(String::new(), t.span()));
    let mut header = Header {
        shape,
        name,
        version: t.get("version").and_then(|v| scalar_text(&v)),
        description: t.string("description").map(|s| s.value),
        tags: t
            .get("tags")
            .and_then(|v| v.string_list())
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.value)
            .collect(),
        timeout: t
            .get_or_deprecated("timeout", "timeout_seconds")
            .and_then(|v| v.duration(Duration::from_secs(1))),
        span: t.span(),
        ..Header::default()
    };
    if shape == HeaderShape::Meta {
        header.ignore = t.get("ignore").and_then(|v| match v.value {
            DeValue::Boolean(true) => Some(String::new()),
            DeValue::Boolean(false) => None,
            DeValue::String(reason) => Some(reason.to_string()),
            _ => {
                v.wrong_type("a boolean or a reason string");
                None
            }
        });
        header.image = t.string("image");
        header.build = t.get("build").and_then(|v| read_build(&v));
        if let (Some(image), Some(_)) = (&header.image, &header.build) {
            t.diags().push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    "`meta` sets both `image` and `build`",
                )
                .at(image.span.clone())
                .with_help("keep one: a ready image or a build context"),
            );
        }
        header.backend = t
            .get("backend")
            .and_then(|v| read_backend(&v))
            .unwrap_or_default();
        header.strict = t.bool("strict").unwrap_or(false);
    }
    t.finish();
    header
}

fn read_backend(value: &ValueRef<'_, '_>) -> Option<Backend> {
    let name = value.string()?;
    match name.value.as_str() {
        "container" => Some(Backend::Container),
        "local" => Some(Backend::Local),
        other => {
            value.diags.push(
                value
                    .invalid(Code::InvalidValue, format!("unknown backend `{other}`"))
                    .with_help("use \"container\" (the default) or \"local\""),
            );
            None
        }
    }
}

fn read_build(value: &ValueRef<'_, '_>) -> Option<ImageBuild> {
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

/// A version may be written as a string or a number.
fn scalar_text(value: &ValueRef<'_, '_>) -> Option<String> {
    match value.value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().to_string()),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        _ => {
            value.wrong_type("a string");
            None
        }
    }
}

fn read_services(doc: &mut TableReader<'_, '_>) -> Vec<Service> {
    let singular = doc.get("service");
    let plural = doc.get("services");
    if singular.is_some() && plural.is_some() {
        doc.diags().push(
            Diagnostic::error(
                Code::ConflictingKeys,
                "the file has both `[service.*]` and `[services.*]` tables",
            )
            .at(doc.key_span("services").unwrap_or(doc.span()))
            .with_help("both spellings are accepted, but use one of them for all services"),
        );
    }
    let mut services = Vec::new();
    for tables in [singular, plural].into_iter().flatten() {
        let Some(mut t) = tables.table() else {
            continue;
        };
        for (id, value) in t.entries() {
            if let Some(service) = read_service(id, &value) {
                if let Some(previous) = services
                    .iter()
                    .find(|s: &&Service| s.id.value == service.id.value)
                {
                    doc.diags().push(
                        Diagnostic::error(
                            Code::DuplicateName,
                            format!("service `{}` is defined twice", service.id.value),
                        )
                        .at(service.id.span.clone())
                        .with_note(format!("first defined at byte {}", previous.id.span.start)),
                    );
                    continue;
                }
                services.push(service);
            }
        }
        t.finish();
    }
    services
}

fn read_service(id: Spanned<String>, value: &ValueRef<'_, '_>) -> Option<Service> {
    let mut t = value.table()?.with_hints(SERVICE_HINTS);
    let plugin = t
        .get_or_deprecated("plugin", "type")
        .and_then(|v| v.string())
        .unwrap_or_else(|| Spanned::new("generic_container".to_string(), id.span.clone()));
    if plugin.value != "generic_container" {
        let known = KNOWN_UNSUPPORTED_PLUGINS.contains(&plugin.value.as_str());
        t.diags().push(
            Diagnostic::error(
                Code::UnsupportedPlugin,
                format!(
                    "plugin `{}` {} not supported",
                    plugin.value,
                    if known { "is" } else { "is unknown and" }
                ),
            )
            .at(plugin.span.clone())
            .with_help("use `plugin = \"generic_container\"` with `image = \"...\"` (or `build`) for this service"),
        );
    }
    let image = t.string("image").map(ImageSource::Image);
    let build = t
        .get("build")
        .and_then(|v| read_build(&v))
        .map(ImageSource::Build);
    let image = match (image, build) {
        (Some(image), Some(_)) => {
            t.diags().push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    format!("service `{}` sets both `image` and `build`", id.value),
                )
                .at(t.key_span("build").unwrap_or(t.span()))
                .with_help("keep one: a ready image or a build context"),
            );
            Some(image)
        }
        (image, build) => image.or(build),
    };
    if image.is_none() {
        t.diags().push(
            Diagnostic::error(
                Code::MissingKey,
                format!("service `{}` has no `image` (or `build`)", id.value),
            )
            .at(id.span.clone())
            .with_help("add `image = \"name:tag\"` or `build = { context = \"dir\" }`"),
        );
    }
    let args = t.get("args");
    let command = t.get("command");
    if args.is_some() && command.is_some() {
        t.diags().push(
            Diagnostic::error(
                Code::ConflictingKeys,
                format!("service `{}` sets both `args` and `command`", id.value),
            )
            .at(t.key_span("command").unwrap_or(t.span()))
            .with_help("they mean the same (the container's command); keep one"),
        );
    }
    let args = args
        .or(command)
        .and_then(|v| v.string_list())
        .map(|list| list.into_iter().map(|s| s.value).collect())
        .unwrap_or_default();
    let env = t
        .get_or_deprecated("env", "environment")
        .and_then(|v| v.string_map())
        .unwrap_or_default();
    let ports = t
        .get("ports")
        .and_then(|v| read_ports(&v))
        .unwrap_or_default();
    let volumes = t
        .get("volumes")
        .and_then(|v| read_volumes(&v))
        .unwrap_or_default();
    let health_check = t.get("health_check").and_then(|v| read_health_check(&v));
    let wait_for_span = t.string("wait_for_span").map(|s| s.value);
    t.finish();
    Some(Service {
        span: value.span(),
        id,
        plugin,
        image,
        args,
        env,
        ports,
        volumes,
        health_check,
        wait_for_span,
    })
}

fn read_ports(value: &ValueRef<'_, '_>) -> Option<Vec<Spanned<PortMapping>>> {
    let mut ports = Vec::new();
    for item in value.array()? {
        let parsed = match item.value {
            DeValue::Integer(_) => item.integer().map(|n| parse_port_number(&n.to_string())),
            DeValue::String(s) => Some(parse_port_string(s)),
            _ => {
                item.wrong_type("a port number or a \"HOST:CONTAINER\" string");
                None
            }
        };
        match parsed {
            Some(Ok(port)) => ports.push(Spanned::new(port, item.span())),
            Some(Err(reason)) => {
                item.diags
                    .push(item.invalid(Code::InvalidPort, reason).with_help(
                        "write a container port such as 8080, or \"8080:80\" (host:container)",
                    ))
            }
            None => {}
        }
    }
    Some(ports)
}

fn parse_port_number(text: &str) -> Result<PortMapping, String> {
    parse_u16_port(text).map(|container| PortMapping {
        host: None,
        container,
    })
}

fn parse_u16_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(format!("`{text}` is not a port (1-65535)")),
    }
}

fn parse_port_string(text: &str) -> Result<PortMapping, String> {
    let text = text.strip_suffix("/tcp").unwrap_or(text);
    match text.rsplit_once(':') {
        Some((host, container)) => {
            // "127.0.0.1:8080:80": the address part is not ours to pin.
            let host = host.rsplit_once(':').map_or(host, |(_, port)| port);
            Ok(PortMapping {
                host: Some(parse_u16_port(host)?),
                container: parse_u16_port(container)?,
            })
        }
        None => parse_port_number(text),
    }
}

fn read_volumes(value: &ValueRef<'_, '_>) -> Option<Vec<Volume>> {
    let mut volumes = Vec::new();
    for item in value.array()? {
        if let DeValue::String(s) = item.value {
            // docker-style "host:container[:ro]"
            let parts: Vec<&str> = s.split(':').collect();
            match parts.as_slice() {
                [host, container] | [host, container, "ro" | "rw"] if container.starts_with('/') && !host.is_empty() => {
                    volumes.push(Volume {
                        host_path: host.to_string(),
                        container_path: container.to_string(),
                        read_only: parts.get(2) == Some(&"ro"),
                    })
                }
                _ => item.diags.push(
                    item.invalid(Code::InvalidVolume, format!("`{s}` is not a volume"))
                        .with_help("write `{ host_path = \"dir\", container_path = \"/abs\", read_only = true }` or \"dir:/abs[:ro]\""),
                ),
            }
            continue;
        }
        let Some(mut t) = item.table() else { continue };
        let host = t.required_string("host_path");
        let container = t.required_string("container_path");
        let read_only = t.bool("read_only").unwrap_or(false);
        t.finish();
        if let Some(container) = &container
            && !container.value.starts_with('/')
        {
            item.diags.push(
                Diagnostic::error(
                    Code::InvalidVolume,
                    format!(
                        "`container_path` must be absolute, found `{}`",
                        container.value
                    ),
                )
                .at(container.span.clone())
                .with_help("start it with `/`"),
            );
            continue;
        }
        if let (Some(host), Some(container)) = (host, container) {
            if host.value.is_empty() {
                item.diags.push(
                    Diagnostic::error(Code::InvalidVolume, "`host_path` is empty").at(host.span),
                );
                continue;
            }
            volumes.push(Volume {
                host_path: host.value,
                container_path: container.value,
                read_only,
            });
        }
    }
    Some(volumes)
}

fn read_health_check(value: &ValueRef<'_, '_>) -> Option<HealthCheck> {
    let mut t = value.table()?;
    let cmd = match t.get("cmd") {
        Some(v) => v
            .string_list()
            .map(|l| l.into_iter().map(|s| s.value).collect::<Vec<_>>()),
        None => {
            t.missing("cmd");
            None
        }
    };
    let interval = t
        .get("interval")
        .and_then(|v| v.duration(Duration::from_secs(1)))
        .map(|d| d.value);
    let timeout = t
        .get("timeout")
        .and_then(|v| v.duration(Duration::from_secs(1)))
        .map(|d| d.value);
    let retries = t.get("retries").and_then(|v| v.unsigned::<u32>());
    t.finish();
    let cmd = cmd?;
    if cmd.is_empty() {
        value
            .diags
            .push(value.invalid(Code::InvalidCommand, "`health_check.cmd` is empty"));
        return None;
    }
    Some(HealthCheck {
        cmd,
        interval,
        timeout,
        retries,
    })
}

fn read_assertions(value: &ValueRef<'_, '_>) -> Vec<Assertion> {
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
                other => AssertionValue::Other(super::reader::type_name(other).to_string()),
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

fn read_otel(value: &ValueRef<'_, '_>) -> Option<Otel> {
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
    t.finish();
    Some(otel)
}

fn read_report(value: &ValueRef<'_, '_>) -> Option<Report> {
    let mut t = value.table()?;
    let report = Report {
        json: t.string("json").map(|s| s.value),
        junit: t.string("junit").map(|s| s.value),
        digest: t.string("digest").map(|s| s.value),
    };
    t.finish();
    Some(report)
}

fn read_limits(value: &ValueRef<'_, '_>) -> Option<Limits> {
    let mut t = value.table()?;
    let limits = Limits {
        cpu_millicores: t.get("cpu_millicores").and_then(|v| v.unsigned::<u32>()),
        memory_mb: t.get("memory_mb").and_then(|v| v.unsigned::<u32>()),
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
    use super::*;

    #[test]
    fn port_strings() {
        assert_eq!(
            parse_port_string("8080:80"),
            Ok(PortMapping {
                host: Some(8080),
                container: 80
            })
        );
        assert_eq!(
            parse_port_string("127.0.0.1:8080:80"),
            Ok(PortMapping {
                host: Some(8080),
                container: 80
            })
        );
        assert_eq!(
            parse_port_string("80"),
            Ok(PortMapping {
                host: None,
                container: 80
            })
        );
        assert!(parse_port_string("0").is_err());
        assert!(parse_port_string("70000").is_err());
        assert!(parse_port_string("http").is_err());
    }
}
