//! `[services.*]` (or `[service.*]`) tables -> [`Service`]s: image or build,
//! command, environment, ports, volumes and health check.

use std::time::Duration;

use toml::de::DeValue;

use super::model::*;
use super::parse_tables::read_build;
use super::reader::TableReader;
use super::spanned::Spanned;
use super::value::ValueRef;
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
    "chaos_engine",
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

pub(crate) fn read_services(doc: &mut TableReader<'_, '_>) -> Vec<Service> {
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
    let collector = plugin.value == COLLECTOR_PLUGIN;
    if collector {
        t.diags().push(
            Diagnostic::warning(
                Code::DeprecatedKey,
                format!(
                    "service `{}`: clnrm's own span receiver stands in for `plugin = \"{COLLECTOR_PLUGIN}\"`: no container is started, and the scenario's containers reach the receiver as `http://{}:4318`",
                    id.value, id.value
                ),
            )
            .at(plugin.span.clone())
            .with_help("programs get OTEL_EXPORTER_OTLP_ENDPOINT for the receiver anyway; the service can be removed"),
        );
    } else if plugin.value != "generic_container" {
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
    if image.is_none() && !collector {
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
    let health_check = t
        .get_or_deprecated("health_check", "healthcheck")
        .and_then(|v| read_health_check(&v));
    let wait_for_span = t.string("wait_for_span").map(|s| s.value);
    let working_dir = t
        .get_or_deprecated("working_dir", "workdir")
        .and_then(|v| v.string());
    if let Some(dir) = working_dir.as_ref().filter(|d| !d.value.starts_with('/')) {
        t.diags().push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`working_dir` is `{}`, not an absolute path", dir.value),
            )
            .at(dir.span.clone())
            .with_help("a container's working directory is absolute: write `/app`, say"),
        );
    }
    let depends_on = t
        .get("depends_on")
        .and_then(|v| v.string_or_list())
        .unwrap_or_default();
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
        working_dir,
        depends_on,
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
                    warn_engine_socket(host, item.span(), item.diags);
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
            warn_engine_socket(&host.value, host.span.clone(), item.diags);
            volumes.push(Volume {
                host_path: host.value,
                container_path: container.value,
                read_only,
            });
        }
    }
    Some(volumes)
}

/// The sockets of container engines: whoever holds one runs containers as it
/// likes, privileged ones and the host's root included.
const ENGINE_SOCKETS: &[&str] = &["docker.sock", "podman.sock", "containerd.sock"];

/// Mounting an engine's socket is allowed (the scenario names it), but said:
/// it gives the container the engine, which no default does.
fn warn_engine_socket(
    host_path: &str,
    span: std::ops::Range<usize>,
    diags: &crate::scenario::Diagnostics,
) {
    let name = std::path::Path::new(host_path).file_name();
    if name.is_some_and(|n| ENGINE_SOCKETS.iter().any(|s| n == *s)) {
        diags.push(
            Diagnostic::warning(
                Code::EngineSocket,
                format!("`{host_path}` is a container engine's socket: the container can control the engine, and through it the host"),
            )
            .at(span)
            .with_help("mount it only when the program under test drives containers itself"),
        );
    }
}

/// `health_check`: a table with `cmd` (argv), or a string, which runs with
/// `sh -c` as a compose file's string `healthcheck` does (`CMD-SHELL`).
fn read_health_check(value: &ValueRef<'_, '_>) -> Option<HealthCheck> {
    if let DeValue::String(_) = value.value {
        let text = value.string()?;
        return Some(HealthCheck {
            cmd: vec!["sh".into(), "-c".into(), text.value],
            interval: None,
            timeout: None,
            retries: None,
        });
    }
    let mut t = value.table()?;
    // The original's files wrote `type = "exec"`: the only kind there is.
    if let Some(kind) = t.string("type").filter(|k| k.value != "exec") {
        t.diags().push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("health check `type = \"{}\"` is not known", kind.value),
            )
            .at(kind.span)
            .with_help("a health check runs a command in the container: write `cmd = [...]` (and leave `type` out)"),
        );
    }
    let cmd = match t.get_or_deprecated("cmd", "command") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    /// The one service of `service` (a `[services.s]` body), and the codes
    /// of what was said about it.
    fn one_service(service: &str) -> (Option<Service>, Vec<Code>) {
        let text = format!(
            "[meta]\nname = \"x\"\n[services.s]\nimage = \"i\"\n{service}\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n"
        );
        let parsed = parse_scenario(&text);
        let codes = parsed.diagnostics.iter().map(|d| d.code).collect();
        (
            parsed.file.and_then(|f| f.services.into_iter().next()),
            codes,
        )
    }

    #[test]
    fn the_originals_health_check_spellings_are_read() {
        let (service, codes) = one_service(
            "healthcheck = { command = [\"ollama\", \"list\"], interval = \"10s\", timeout = \"5s\", retries = 5 }",
        );
        let check = service
            .and_then(|s| s.health_check)
            .expect("a health check");
        assert_eq!(check.cmd, ["ollama", "list"]);
        assert_eq!(check.interval, Some(Duration::from_secs(10)));
        assert_eq!(
            (check.timeout, check.retries),
            (Some(Duration::from_secs(5)), Some(5))
        );
        assert_eq!(codes, [Code::DeprecatedKey, Code::DeprecatedKey]);

        let (service, codes) =
            one_service("health_check = \"curl -f http://localhost/ || exit 1\"");
        let check = service
            .and_then(|s| s.health_check)
            .expect("a health check");
        assert_eq!(
            check.cmd,
            ["sh", "-c", "curl -f http://localhost/ || exit 1"]
        );
        assert!(codes.is_empty());

        let exec = "[services.s.health_check]\ntype = \"exec\"\ncommand = [\"pg_isready\"]\ninterval = \"5s\"";
        let (service, codes) = one_service(exec);
        assert_eq!(
            service.and_then(|s| s.health_check).map(|c| c.cmd),
            Some(vec!["pg_isready".into()])
        );
        assert_eq!(codes, [Code::DeprecatedKey]);
        let (_, codes) = one_service(&exec.replace("exec", "http"));
        assert!(codes.contains(&Code::InvalidValue), "{codes:?}");
    }

    #[test]
    fn the_originals_workdir_is_working_dir() {
        let (service, codes) = one_service("workdir = \"/app\"");
        assert_eq!(
            service.and_then(|s| s.working_dir).map(|d| d.value),
            Some("/app".into())
        );
        assert_eq!(codes, [Code::DeprecatedKey]);
    }

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
