//! Keeps the user documentation in `docs/` in step with the code.
//!
//! Each test collects names from the code (diagnostic codes, commands and their
//! flags, configuration keys, environment variables, scenario keys) and fails,
//! listing every missing name, when a document does not mention one of them in
//! backticks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clnrm_core::config::CONFIG_KEYS;
use clnrm_core::diagnostic::{Code, Severity};
use clnrm_core::scenario::{accepted_keys, parse_scenario};
use clnrm_core::validate::{ValidateOptions, validate};

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn read_doc(name: &str) -> String {
    let path = docs_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The inline code spans (`like this`) of a markdown text, fenced blocks excluded.
fn code_spans(markdown: &str) -> BTreeSet<String> {
    let mut spans = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Between backticks on one line: every second piece is code.
        let pieces: Vec<&str> = line.split('`').collect();
        for pair in pieces[1..].chunks(2) {
            if let [code, _after] = pair {
                spans.insert(code.trim().to_string());
            }
        }
    }
    spans
}

/// Identifier-like words inside code spans: `[expect.span]` gives `expect` and `span`.
fn code_words(markdown: &str) -> BTreeSet<String> {
    code_spans(markdown)
        .iter()
        .flat_map(|span| {
            span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Fails with one message naming the document and every missing item.
fn assert_documented(doc: &str, what: &str, hint: &str, missing: &BTreeSet<String>) {
    assert!(
        missing.is_empty(),
        "docs/{doc} is missing these {what}; {hint}:\n  {}\n",
        missing.iter().cloned().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn every_diagnostic_code_is_documented() {
    let spans = code_spans(&read_doc("diagnostics.md"));
    let missing: BTreeSet<String> = Code::ALL
        .iter()
        .map(|code| code.as_str().to_string())
        .filter(|name| !spans.contains(name))
        .collect();
    assert_documented(
        "diagnostics.md",
        "diagnostic codes",
        "document each as `code`, with its meaning, its fix and an example message",
        &missing,
    );
}

/// The long flags (`--color`, ...) on the option lines of a `--help` text.
fn long_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| line.split_whitespace())
        .map(|word| word.trim_end_matches(['.', ',']))
        .filter(|word| {
            word.strip_prefix("--").is_some_and(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
        })
        .map(str::to_string)
        .collect()
}

/// The output of `cargo-clnrm clnrm <args> --help`.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .arg("clnrm")
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .expect("cargo-clnrm runs");
    assert!(
        output.status.success(),
        "`cargo-clnrm clnrm {} --help` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// The commands listed under "Commands:" in the top-level help, `help` left out,
/// so a new command cannot go undocumented.
fn subcommands() -> Vec<String> {
    let top = help(&[]);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    assert!(
        commands.iter().any(|c| c == "validate"),
        "no commands found in the help of `cargo clnrm`; has the help layout changed?\n{top}"
    );
    commands
}

#[test]
fn every_command_line_flag_is_documented() {
    let cli = read_doc("cli.md");
    // A flag counts as documented when a code span starts with it: `--var <KEY=VALUE>`.
    let documented: BTreeSet<String> = code_spans(&cli)
        .iter()
        .filter_map(|span| span.split([' ', '=']).next().map(str::to_string))
        .collect();
    let mut missing = BTreeSet::new();
    for subcommand in subcommands() {
        // Each command has its own section, headed "## `cargo clnrm <command>`".
        if !cli.contains(&format!("## `cargo clnrm {subcommand}`")) {
            missing.insert(format!(
                "the section \"## `cargo clnrm {subcommand}`\" (a command)"
            ));
        }
        let flags = long_flags(&help(&[&subcommand]));
        assert!(
            flags.contains("--help"),
            "no flags found in the help of `{subcommand}`; has the help layout changed?\n{flags:?}"
        );
        for flag in flags {
            if !documented.contains(&flag) {
                missing.insert(format!("{flag} (cargo clnrm {subcommand})"));
            }
        }
    }
    assert_documented(
        "cli.md",
        "commands or command-line flags",
        "give each command a section \"## `cargo clnrm <command>`\" and write each flag as `--flag` in its table",
        &missing,
    );
}

#[test]
fn every_configuration_key_is_documented() {
    let spans = code_spans(&read_doc("cli.md"));
    let missing: BTreeSet<String> = CONFIG_KEYS
        .iter()
        .map(|key| key.to_string())
        .filter(|key| !spans.contains(key))
        .collect();
    assert_documented(
        "cli.md",
        "configuration keys of [package.metadata.clnrm]",
        "write each as `key` in the configuration table",
        &missing,
    );
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The `CLNRM_*` variables the crates read: `var("CLNRM_X")` and `var_os("CLNRM_X")`
/// in their sources (`std::env::var`, or a helper named `var`).
fn environment_variables_read() -> BTreeSet<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["clnrm-core", "clnrm-harness", "cargo-clnrm"] {
        rust_files(&workspace.join(krate).join("src"), &mut files);
    }
    let mut names = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("source is UTF-8");
        for call in ["var(\"", "var_os(\""] {
            for (at, _) in source.match_indices(call) {
                let rest = &source[at + call.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name.starts_with("CLNRM_") && rest[name.len()..].starts_with('"') {
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[test]
fn every_environment_variable_is_documented() {
    let names = environment_variables_read();
    // Guards against a scan that stopped finding anything (the test would pass vacuously).
    for expected in ["CLNRM_JUNIT", "CLNRM_TAGS", "CLNRM_ROOTS"] {
        assert!(
            names.contains(expected),
            "the source scan did not find `{expected}`; found:\n{names:#?}"
        );
    }
    // Documented when a code span starts with the name: `CLNRM_STRICT=1` counts.
    let documented: BTreeSet<String> = code_spans(&read_doc("cli.md"))
        .into_iter()
        .chain(code_spans(&read_doc("harness.md")))
        .filter_map(|span| span.split([' ', '=']).next().map(str::to_string))
        .collect();
    let missing: BTreeSet<String> = names
        .into_iter()
        .filter(|name| !documented.contains(name))
        .collect();
    assert_documented(
        "cli.md or docs/harness.md",
        "environment variables the code reads",
        "write each as `NAME` in an environment-variable table",
        &missing,
    );
}

/// The current shape with every table and key the parser reads.
const CURRENT_SHAPE: &str = r#"
description = "documentation keys are accepted anywhere"

[meta]
name = "every table"
version = "1.0"
description = "the current shape"
author = "docs"
tags = ["docs"]
timeout = "10m"
ignore = "an example"
build = { context = "docker", dockerfile = "Dockerfile" }
backend = "container"
strict = false

[vars]
greeting = "hello"

[matrix]
os = ["debian", "alpine"]

[determinism]
seed = 42
freeze_clock = "2025-01-01T00:00:00Z"

[service.db]
plugin = "generic_container"
image = "postgres:16"
args = ["postgres", "-c", "fsync=off"]
env = { POSTGRES_PASSWORD = "secret" }
ports = [5432, "8080:80"]
volumes = [
  { host_path = "fixtures", container_path = "/fixtures", read_only = true },
  "data:/data:ro",
]
health_check = { cmd = ["pg_isready"], interval = "1s", timeout = "5s", retries = 10 }
wait_for_span = "db.ready"

[service.web]
build = { context = "web", dockerfile = "Dockerfile.test" }
command = ["serve", "--port", "80"]

[[scenario]]
name = "full"
service = "db"
run = "psql --version"
timeout = "2m"
concurrent = false
artifacts.collect = ["spans:default"]
policy = { security_level = "high" }
expect_failure = false

[[scenario.steps]]
name = "query"
command = ["psql", "-c", "select 1"]
service = "db"
env = { PGUSER = "postgres" }
workdir = "/tmp"
stdin = "select 1;\n"
expected_exit_code = 0
expected_output_regex = "^1$"
expected_stderr_regex = "^$"
stdout_contains = ["1"]
stdout_not_contains = ["ERROR"]
continue_on_failure = false
timeout = "30s"

[[scenario.steps]]
name = "shell words"
run = "echo 'two words'"
timeout_ms = 500

[[scenario]]
name = "must fail"
timeout_ms = 60000
expect_failure = "exit status"

[[scenario.steps]]
name = "fails"
command = ["false"]

[[expect.span]]
name = "http.request"
parent = "root"
kind = "server"
attrs.all = { "http.method" = "GET" }
attrs.any = { "http.status_code" = "200" }
events.all = ["start"]
events.any = ["retry", "done"]
duration_ms = { min = 1, max = 5000 }

[expect.graph]
must_include = [["root", "http.request"]]
must_not_cross = [["db.query", "http.request"]]
acyclic = true

[expect.counts]
spans_total = { gte = 2, lte = 100 }
events_total = { gte = 0 }
errors_total = { eq = 0 }
by_name = { "http.request" = { eq = 1 } }

[[expect.window]]
outer = "root"
contains = ["http.request"]

[expect.order]
must_precede = [["root", "http.request"]]
must_follow = [["http.request", "root"]]

[expect.status]
all = "OK"
by_name = { "http.request" = "OK" }

[expect.hermeticity]
no_external_services = true
resource_attrs.must_match = { "service.name" = "clnrm" }
span_attrs.forbid_keys = ["net.peer.name"]

[assertions]
container_should_have_executed_commands = 2
all_steps_should_succeed = true

[otel]
exporter = "stdout"
endpoint = "http://localhost:4318"
protocol = "http/protobuf"
sample_ratio = 1.0
resources = { "service.name" = "clnrm" }
headers = { Authorization = "Bearer token" }

[report]
json = "report.json"
junit = "junit.xml"
digest = "digest.sha256"

[limits]
cpu_millicores = 500
memory_mb = 256
"#;

/// The older shapes: `[test.metadata]`, `[services.*]`, top-level `[[steps]]`,
/// and `[otel_validation]` with every key it maps.
const OLDER_SHAPE: &str = r#"
[test.metadata]
name = "older shape"
version = "0.4"
description = "the older header, top-level steps and [otel_validation]"
tags = ["compat"]
timeout = "30s"

[services.app]
plugin = "generic_container"
image = "alpine:3"

[[steps]]
name = "hello"
command = ["echo", "hello"]
service = "app"
expected_output_regex = "hello"

[otel_validation]
enabled = true
validate_spans = true
validate_traces = true
validate_temporal_ordering = true
validate_cardinality = true
validate_hermeticity = true
validate_attributes = true

[[otel_validation.expected_spans]]
name = "app.start"
parent = "root"
span_kind = "internal"
attributes = { "service.name" = "app" }
attrs.all = { "env" = "ci" }
attrs.any = { "tier" = "1" }
events.all = ["start"]
events.any = ["ready"]
duration_ms = { min = 1, max = 100 }
required = true

[otel_validation.expected_traces]
parent_child = [{ parent = "root", child = "app.start" }]

[[otel_validation.temporal_constraints]]
must_precede = ["root", "app.start"]
must_follow = ["app.start", "root"]

[otel_validation.expect_counts]
spans_total = { gte = 1 }
events_total = { lte = 10 }
errors_total = { eq = 0 }
by_name = { "app.start" = { gte = 1 } }
"#;

/// The examples must stay valid, or the keys they exercise would prove nothing.
fn assert_valid(label: &str, text: &str) {
    let parsed = parse_scenario(text);
    let mut errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if let Some(file) = &parsed.file {
        errors.extend(
            validate(file, ValidateOptions::default())
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{}: {}", d.code, d.message)),
        );
    }
    assert!(
        errors.is_empty(),
        "the {label} example in this test is not a valid scenario file:\n  {}\n",
        errors.join("\n  ")
    );
}

#[test]
fn every_scenario_key_is_documented() {
    let mut key_paths = BTreeSet::new();
    for (label, text) in [
        ("current-shape", CURRENT_SHAPE),
        ("older-shape", OLDER_SHAPE),
    ] {
        assert_valid(label, text);
        key_paths.extend(accepted_keys(text));
    }
    // Guards against a hook that stopped recording keys (the test would pass vacuously).
    for expected in ["scenario.steps.command", "expect.counts.spans_total.gte"] {
        assert!(
            key_paths.contains(expected),
            "accepted_keys did not report `{expected}`; found:\n{key_paths:#?}"
        );
    }
    let words = code_words(&read_doc("format.md"));
    let missing: BTreeSet<String> = key_paths
        .iter()
        .filter(|path| {
            let last = path.rsplit('.').next().unwrap_or(path);
            !words.contains(last)
        })
        .cloned()
        .collect();
    assert_documented(
        "format.md",
        "scenario keys (dotted paths as the parser reads them)",
        "add the last part of each to the table of its section, as `key`",
        &missing,
    );
}

#[test]
fn the_index_links_every_page() {
    let index = read_doc("README.md");
    let mut pages: Vec<String> = std::fs::read_dir(docs_dir())
        .expect("docs/ exists")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "README.md")
        .collect();
    pages.sort();
    let missing: BTreeSet<String> = pages
        .into_iter()
        .filter(|page| !index.contains(&format!("]({page})")))
        .collect();
    assert_documented(
        "README.md",
        "pages",
        "link each as [page](page.md)",
        &missing,
    );
}
