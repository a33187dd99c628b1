//! Nothing accepted goes unchecked: every key the scenario parser accepts
//! (in the examples of format_shapes, which hold every table and key) is
//! either named here with what checks it, or is said to be unchecked (an
//! `unchecked-key` or `not-supported-yet` warning, an error under strict
//! mode) by `validate` for a file that uses it. A key the parser learns
//! fails this test until someone says which it is.

mod format_shapes;

use std::collections::BTreeSet;

use clnrm_core::diagnostic::{Code, Severity};
use clnrm_core::scenario::{accepted_keys, parse_scenario};
use clnrm_core::validate::{ValidateOptions, validate};

/// Key paths (a `*` for a name the user chose: a service id, a span name
/// under `by_name`) and what checks each: a table and all below it where a
/// path ends in `.*`.
const CHECKED: &[(&str, &str)] = &[
    ("meta", "the header: names the tests"),
    ("meta.name", "the test names"),
    ("meta.timeout", "the scenario deadline"),
    ("meta.ignore", "libtest's ignored tests"),
    ("meta.build.*", "the runner image, built"),
    ("meta.image", "the runner image, resolved and checked"),
    (
        "meta.backend",
        "the backend, checked against the known ones",
    ),
    ("meta.strict", "strict mode"),
    ("meta.description", "documentation (shown by list)"),
    ("meta.version", "documentation"),
    ("meta.author", "documentation"),
    ("meta.tags", "tag filters"),
    ("test", "the older header"),
    (
        "test.metadata.*",
        "the older header: names, timeout, documentation",
    ),
    ("vars", "rendering"),
    ("matrix", "rendering, one test per combination"),
    ("determinism.*", "rendering: seed and frozen clock"),
    ("service", "services, started as containers"),
    ("services", "services, started as containers"),
    (
        "service.*.plugin",
        "checked: generic_container or the span receiver",
    ),
    ("service.*.image", "resolved and checked against the engine"),
    ("service.*.build.*", "built"),
    ("service.*.args", "the container's command"),
    ("service.*.command", "the container's command"),
    ("service.*.env", "the container's environment"),
    ("service.*.ports", "published, checked 1-65535"),
    ("service.*.volumes.*", "bound, paths checked"),
    ("service.*.health_check.*", "waited for before the steps"),
    ("service.*.wait_for_span", "waited for before the steps"),
    ("service.*.working_dir", "the container's working directory"),
    ("service.*.depends_on", "start order, each healthy first"),
    ("scenario", "scenarios, one test each"),
    ("scenario.name", "the test name"),
    ("scenario.service", "the steps' service"),
    ("scenario.run", "a step"),
    ("scenario.timeout", "the scenario deadline"),
    ("scenario.timeout_ms", "the scenario deadline"),
    ("scenario.expect_failure", "judged: the scenario must fail"),
    ("scenario.artifacts", "collected"),
    (
        "scenario.artifacts.collect",
        "spans judged; logs: said unchecked",
    ),
    (
        "scenario.concurrent",
        "false is what happens; true said unchecked",
    ),
    ("scenario.policy", "the policy table"),
    (
        "scenario.policy.max_execution_time",
        "caps the scenario deadline",
    ),
    (
        "scenario.policy.max_memory_mb",
        "the containers' memory limit",
    ),
    ("scenario.policy.max_cpu_usage", "the containers' CPU limit"),
    (
        "scenario.policy.disallowed_commands",
        "policy-violation before running",
    ),
    ("scenario.policy.security_level", "said unchecked"),
    ("scenario.policy.allowed_network_hosts", "said unchecked"),
    ("scenario.steps", "steps, run in order"),
    ("steps", "steps, run in order"),
    ("steps.*", "see the scenario.steps keys"),
    ("scenario.steps.name", "the step's name in reports"),
    ("scenario.steps.command", "run as argv"),
    ("scenario.steps.run", "run as argv, split into words"),
    ("scenario.steps.service", "the container it runs in"),
    ("scenario.steps.env", "the step's environment"),
    ("scenario.steps.workdir", "the step's working directory"),
    ("scenario.steps.stdin", "fed to the program"),
    ("scenario.steps.expected_exit_code", "judged"),
    ("scenario.steps.expected_output_regex", "judged"),
    ("scenario.steps.expected_output_regex_not", "judged"),
    ("scenario.steps.expected_stderr_regex", "judged"),
    ("scenario.steps.stdout_contains", "judged"),
    ("scenario.steps.stdout_not_contains", "judged"),
    ("scenario.steps.continue_on_failure", "the run goes on"),
    ("scenario.steps.timeout", "the step is killed at it"),
    ("scenario.steps.timeout_ms", "the step is killed at it"),
    ("scenario.steps.retry_on_failure", "retries"),
    ("scenario.steps.max_retries", "retries"),
    (
        "scenario.steps.depends_on",
        "skipped when a dependency failed",
    ),
    ("expect", "span expectations"),
    ("expect.span.*", "judged against the spans"),
    ("expect.graph.*", "judged against the spans"),
    ("expect.counts.*", "judged against the spans"),
    ("expect.window.*", "judged against the spans"),
    ("expect.order.*", "judged against the spans"),
    ("expect.status.*", "judged against the spans"),
    ("expect.hermeticity.*", "judged against the spans"),
    ("otel_validation", "mapped onto the span expectations"),
    ("otel_validation.enabled", "false drops them, said"),
    (
        "otel_validation.validate_spans",
        "a switch: everything mapped is checked",
    ),
    (
        "otel_validation.validate_traces",
        "a switch: everything mapped is checked",
    ),
    (
        "otel_validation.validate_temporal_ordering",
        "a switch: everything mapped is checked",
    ),
    (
        "otel_validation.validate_cardinality",
        "a switch: everything mapped is checked",
    ),
    (
        "otel_validation.validate_hermeticity",
        "a switch: everything mapped is checked",
    ),
    (
        "otel_validation.validate_attributes",
        "a switch: everything mapped is checked",
    ),
    (
        "otel_validation.max_overhead_ms",
        "said not checked (not-supported-yet)",
    ),
    (
        "otel_validation.expected_spans.required",
        "false said (not-supported-yet)",
    ),
    ("otel_validation.expected_spans.*", "judged as expect.span"),
    (
        "otel_validation.expected_traces.*",
        "judged as expect.graph",
    ),
    (
        "otel_validation.temporal_constraints.max_gap_ms",
        "said not checked (not-supported-yet)",
    ),
    (
        "otel_validation.temporal_constraints.reason",
        "documentation",
    ),
    (
        "otel_validation.temporal_constraints.*",
        "judged as expect.order",
    ),
    ("otel_validation.expect_counts.*", "judged as expect.counts"),
    (
        "assertions",
        "known claims enforced, others unverified-claim",
    ),
    ("otel", "span collection"),
    (
        "otel.exporter",
        "no effect by design: programs export OTLP to the receiver",
    ),
    ("otel.endpoint", "the forward"),
    ("otel.protocol", "the programs' protocol; grpc said"),
    ("otel.sample_ratio", "checked 0-1; every span is judged"),
    ("otel.resources", "OTEL_RESOURCE_ATTRIBUTES"),
    ("otel.headers", "the forward's headers"),
    ("otel.propagators", "the W3C ones; others refused"),
    ("report.*", "written"),
    ("report", "written"),
    ("limits", "container limits"),
    ("limits.cpu_millicores", "the containers' CPU limit"),
    ("limits.memory_mb", "the containers' memory limit"),
    ("limits.max_containers", "checked against the file"),
    ("limits.max_duration_seconds", "caps the scenario deadline"),
];

/// A path with the user's names (service ids, span names under `by_name`)
/// as `*`.
fn normalised(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let part = parts[i];
        out.push(part.to_string());
        if matches!(part, "service" | "services") && i + 1 < parts.len() {
            out.push("*".into());
            i += 2;
            continue;
        }
        if part == "by_name" && i + 1 < parts.len() {
            // A span name may hold dots: what follows is its bound's key.
            out.push("*".into());
            if let Some(last) = parts.last().filter(|_| parts.len() > i + 2) {
                out.push((*last).to_string());
            }
            break;
        }
        i += 1;
    }
    out.join(".").replacen("services.*", "service.*", 1)
}

fn covered(path: &str) -> Option<&'static str> {
    CHECKED.iter().find_map(|(pattern, what)| {
        let hit = match pattern.strip_suffix(".*") {
            Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}.")),
            None => path == *pattern,
        };
        hit.then_some(*what)
    })
}

#[test]
fn every_accepted_key_is_checked_or_said_to_be_unchecked() {
    let mut keys = BTreeSet::new();
    for text in [format_shapes::CURRENT_SHAPE, format_shapes::OLDER_SHAPE] {
        keys.extend(accepted_keys(text).iter().map(|k| normalised(k)));
    }
    // Guards against a hook that stopped recording keys (the test would pass vacuously).
    assert!(keys.len() > 100, "{keys:#?}");
    assert!(
        keys.contains("scenario.policy.disallowed_commands"),
        "{keys:#?}"
    );
    let unclassified: Vec<&String> = keys.iter().filter(|k| covered(k).is_none()).collect();
    assert!(
        unclassified.is_empty(),
        "keys the parser accepts with neither a check nor an unchecked-key warning named in CHECKED: {unclassified:#?}"
    );
}

/// What `validate` says of a file: (code, severity) of each diagnostic.
fn said(text: &str, strict: bool) -> Vec<(Code, Severity)> {
    let parsed = parse_scenario(text);
    let mut found = parsed.diagnostics;
    if let Some(file) = &parsed.file {
        found.extend(validate(file, ValidateOptions { strict }));
    }
    found.iter().map(|d| (d.code, d.severity)).collect()
}

#[test]
fn what_is_accepted_unchecked_is_said_and_refused_under_strict_mode() {
    let scenario = |keys: &str| {
        format!(
            "[meta]\nname = \"x\"\n[[scenario]]\nname = \"s\"\n{keys}\n[[scenario.steps]]\nname = \"a\"\ncommand = [\"true\"]\n"
        )
    };
    for keys in [
        "concurrent = true",
        "artifacts.collect = [\"logs:all\"]",
        "policy = { security_level = \"high\" }",
        "policy = { allowed_network_hosts = [\"example.com\"] }",
    ] {
        assert_eq!(
            said(&scenario(keys), false),
            [(Code::UncheckedKey, Severity::Warning)],
            "{keys}"
        );
        assert_eq!(
            said(&scenario(keys), true),
            [(Code::UncheckedKey, Severity::Error)],
            "{keys}"
        );
    }
    for keys in [
        "concurrent = false",
        "policy = { max_execution_time = 5, max_memory_mb = 64, max_cpu_usage = 0.5 }",
    ] {
        assert!(said(&scenario(keys), true).is_empty(), "{keys}");
    }
    assert_eq!(
        said(&scenario("policy = { nope = 1 }"), false),
        [(Code::UnknownKey, Severity::Error)]
    );
}

#[test]
fn a_disallowed_command_is_refused_before_running() {
    let file = |command: &str| {
        format!(
            "[meta]\nname = \"x\"\n[[scenario]]\nname = \"s\"\npolicy = {{ disallowed_commands = [\"rm\", \"curl\"] }}\n[[scenario.steps]]\nname = \"a\"\ncommand = {command}\n"
        )
    };
    for bad in [
        "[\"rm\", \"-rf\", \"/tmp/x\"]",
        "[\"/usr/bin/curl\", \"x\"]",
        "[\"sh\", \"-c\", \"cd /tmp && rm -rf x\"]",
    ] {
        assert_eq!(
            said(&file(bad), false),
            [(Code::PolicyViolation, Severity::Error)],
            "{bad}"
        );
    }
    assert!(
        said(&file("[\"ls\", \"rm\"]"), false).is_empty(),
        "an argument named rm runs no rm"
    );
}
