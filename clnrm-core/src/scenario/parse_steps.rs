//! `[[steps]]`, `[[scenario]]` and `[[scenario.steps]]` -> [`Scenario`]s and [`Step`]s.

use std::time::Duration;

use toml::de::DeValue;

use super::model::{Header, Scenario, ScenarioShape, Step};
use super::reader::TableReader;
use super::spanned::Spanned;
use super::value::ValueRef;
use crate::diagnostic::{Code, Diagnostic};

const STEP_HINTS: &[(&str, &str)] = &[
    (
        "expected_output",
        "use `expected_output_regex` (a regex) or `stdout_contains = [..]` (plain text)",
    ),
    (
        "shell",
        "commands are argv; to use a shell write `command = [\"sh\", \"-c\", \"...\"]`",
    ),
];

/// The older shape: top-level `[[steps]]` form one scenario named after the header.
pub(crate) fn read_top_level_steps(value: &ValueRef<'_, '_>, header: &Header) -> Option<Scenario> {
    let steps = read_step_list(value, None)?;
    Some(Scenario {
        shape: ScenarioShape::TopLevelSteps,
        name: header.name.clone(),
        service: None,
        steps,
        timeout: header.timeout.clone(),
        concurrent: false,
        collect: Vec::new(),
        expect_failure: None,
        policy: None,
        span: value.span(),
    })
}

pub(crate) fn read_scenarios(value: &ValueRef<'_, '_>) -> Vec<Scenario> {
    let Some(items) = value.array() else {
        return Vec::new();
    };
    items.iter().filter_map(read_scenario).collect()
}

fn read_step_list(
    value: &ValueRef<'_, '_>,
    inherited_service: Option<&Spanned<String>>,
) -> Option<Vec<Step>> {
    Some(
        value
            .array()?
            .iter()
            .filter_map(|item| read_step(item, inherited_service))
            .collect(),
    )
}

fn read_scenario(value: &ValueRef<'_, '_>) -> Option<Scenario> {
    let mut t = value.table()?;
    let name = t.required_string("name");
    let service = t.string("service");
    let timeout = read_timeout(&mut t);
    let run = t.get("run");
    let concurrent = t.bool("concurrent").unwrap_or(false);
    let collect = t
        .get("artifacts")
        .and_then(|v| read_artifacts(&v))
        .unwrap_or_default();
    let policy = t
        .get("policy")
        .and_then(|v| super::parse_policy::read_policy(&v));
    let expect_failure = t.get("expect_failure").and_then(|v| match v.value {
        DeValue::Boolean(true) => Some(String::new()),
        DeValue::Boolean(false) => None,
        DeValue::String(text) => Some(text.to_string()),
        _ => {
            v.wrong_type("a boolean or the text the failure must contain");
            None
        }
    });
    // Everything is read (and every problem reported) before a missing name drops the scenario.
    let run_command = run.as_ref().and_then(split_run);
    let listed = t
        .get("steps")
        .and_then(|list| read_step_list(&list, service.as_ref()));
    let Some(name) = name else {
        t.finish();
        return None;
    };
    let mut steps = Vec::new();
    if let (Some(run), Some(command)) = (&run, run_command) {
        // `service` + `run`: one step named after the scenario, run before any nested steps.
        steps.push(Step::new(
            name.clone(),
            command,
            service.clone(),
            run.span(),
        ));
    }
    steps.extend(listed.unwrap_or_default());
    if steps.is_empty() && !t.has("run") && !t.has("steps") {
        t.diags().push(
            Diagnostic::error(
                Code::EmptyScenario,
                format!("scenario `{}` has no steps", name.value),
            )
            .at(name.span.clone())
            .with_help("add `run = \"...\"` or `[[scenario.steps]]` with a `command`"),
        );
    }
    t.finish();
    Some(Scenario {
        shape: ScenarioShape::Explicit,
        name,
        service,
        steps,
        timeout,
        concurrent,
        collect,
        expect_failure,
        policy,
        span: value.span(),
    })
}

fn read_artifacts(value: &ValueRef<'_, '_>) -> Option<Vec<Spanned<String>>> {
    let mut t = value.table()?;
    let collect = t.string_list("collect").unwrap_or_default();
    t.finish();
    for item in &collect {
        let known = ["spans:", "logs:"]
            .iter()
            .any(|p| item.value.starts_with(p));
        if !known {
            value.diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("unknown artifact `{}`", item.value),
                )
                .at(item.span.clone())
                .with_help("collect `spans:<name>` (spans the program prints) or `logs:<name>`"),
            );
        }
    }
    Some(collect)
}

/// The retries a failed step gets: `retry_on_failure = true` with
/// `max_retries` (default 3, at most 100); `max_retries` alone counts too.
fn read_retries(t: &mut TableReader<'_, '_>) -> u32 {
    const DEFAULT: u32 = 3;
    const MOST: u32 = 100;
    let enabled = t.bool("retry_on_failure");
    let max = t.get("max_retries").and_then(|v| {
        let n = v.unsigned::<u32>()?;
        if n > MOST {
            v.diags.push(v.invalid(
                Code::InvalidValue,
                format!("`max_retries` is {n}; at most {MOST} retries are allowed"),
            ));
            return None;
        }
        Some(n)
    });
    match (enabled, max) {
        (Some(false), _) => 0,
        (Some(true), max) => max.unwrap_or(DEFAULT),
        (None, max) => max.unwrap_or(0),
    }
}

/// `timeout` (duration), `timeout_seconds` (older), or `timeout_ms` (milliseconds).
fn read_timeout(t: &mut TableReader<'_, '_>) -> Option<Spanned<Duration>> {
    let timeout = t
        .get_or_deprecated("timeout", "timeout_seconds")
        .and_then(|v| v.duration(Duration::from_secs(1)));
    let timeout_ms = t
        .get("timeout_ms")
        .and_then(|v| v.duration(Duration::from_millis(1)));
    match (timeout, timeout_ms) {
        (Some(a), Some(_)) => {
            t.diags().push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    format!(
                        "`{}` sets both `timeout` and `timeout_ms`",
                        t.display_path()
                    ),
                )
                .at(t.key_span("timeout_ms").unwrap_or(t.span()))
                .with_help("keep one"),
            );
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

fn split_run(value: &ValueRef<'_, '_>) -> Option<Spanned<Vec<String>>> {
    let text = value.string()?;
    match shlex::split(&text.value) {
        Some(words) if !words.is_empty() => Some(Spanned::new(words, text.span)),
        Some(_) => {
            value
                .diags
                .push(value.invalid(Code::InvalidCommand, format!("`{}` is empty", value.path())));
            None
        }
        None => {
            value.diags.push(
                value
                    .invalid(Code::InvalidCommand, format!("`{}` cannot be split into words (unbalanced quotes?)", value.path()))
                    .with_help("commands are split with shell-word rules and run as argv, never through `sh -c`"),
            );
            None
        }
    }
}

impl Step {
    fn new(
        name: Spanned<String>,
        command: Spanned<Vec<String>>,
        service: Option<Spanned<String>>,
        span: std::ops::Range<usize>,
    ) -> Self {
        Step {
            name,
            command,
            service,
            env: Vec::new(),
            workdir: None,
            stdin: None,
            expected_exit_code: 0,
            expected_output_regex: None,
            expected_output_regex_not: None,
            expected_stderr_regex: None,
            stdout_contains: Vec::new(),
            stdout_not_contains: Vec::new(),
            continue_on_failure: false,
            retries: 0,
            depends_on: Vec::new(),
            timeout: None,
            span,
        }
    }
}

fn read_step(
    value: &ValueRef<'_, '_>,
    inherited_service: Option<&Spanned<String>>,
) -> Option<Step> {
    let mut t = value.table()?.with_hints(STEP_HINTS);
    let name = t.required_string("name");
    let command = t.get("command").and_then(|v| match v.value {
        DeValue::String(_) => split_run(&v),
        _ => {
            let list = v.strings_of("a string or an array of strings")?;
            if list.is_empty() {
                v.diags
                    .push(v.invalid(Code::InvalidCommand, format!("`{}` is empty", v.path())));
                return None;
            }
            Some(Spanned::new(
                list.into_iter().map(|s| s.value).collect(),
                v.span(),
            ))
        }
    });
    let run = t.get("run").and_then(|v| split_run(&v));
    let command = match (command, run) {
        (Some(command), Some(_)) => {
            t.diags().push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    "a step sets both `command` and `run`",
                )
                .at(t.key_span("run").unwrap_or(t.span()))
                .with_help("keep one: `command` is argv, `run` a string split into words"),
            );
            Some(command)
        }
        (command, run) => command.or(run),
    };
    if command.is_none() && !t.has("command") && !t.has("run") {
        t.missing("command");
    }
    let mut step = Step::new(
        name.unwrap_or_else(|| Spanned::new(String::new(), t.span())),
        command.unwrap_or_else(|| Spanned::new(Vec::new(), t.span())),
        t.string("service").or_else(|| inherited_service.cloned()),
        value.span(),
    );
    step.env = t
        .get_or_deprecated("env", "environment")
        .and_then(|v| v.string_map())
        .unwrap_or_default();
    step.workdir = t.string("workdir").map(|s| s.value);
    step.stdin = t.string("stdin").map(|s| s.value);
    step.expected_exit_code = t
        .get("expected_exit_code")
        .and_then(|v| {
            let code = v.integer()?;
            match i32::try_from(code) {
                Ok(code) => Some(code),
                Err(_) => {
                    v.diags.push(v.invalid(
                        Code::InvalidValue,
                        format!("exit code {code} is out of range"),
                    ));
                    None
                }
            }
        })
        .unwrap_or(0);
    step.expected_output_regex = t.string("expected_output_regex");
    step.expected_output_regex_not = t.string("expected_output_regex_not");
    step.expected_stderr_regex = t.string("expected_stderr_regex");
    step.stdout_contains = t
        .get_or_deprecated("stdout_contains", "expected_output_contains")
        .and_then(|v| v.string_or_list())
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    step.stdout_not_contains = t
        .get("stdout_not_contains")
        .and_then(|v| v.string_or_list())
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    step.continue_on_failure = t.bool("continue_on_failure").unwrap_or(false);
    step.retries = read_retries(&mut t);
    step.depends_on = t
        .get("depends_on")
        .and_then(|v| v.string_or_list())
        .unwrap_or_default();
    step.timeout = read_timeout(&mut t);
    t.finish();
    // A step with a missing name or a bad command stays in the model (its
    // file has errors, so it never runs): validate still checks the rest of it.
    Some(step)
}
