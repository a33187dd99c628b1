//! Keys that are accepted but not checked, said as such (an error under
//! strict mode), so that a file never passes on a promise nobody keeps; and
//! the one part of a scenario's `policy` that is checked before running:
//! its disallowed commands.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic};
use crate::scenario::{Scenario, ScenarioFile, Step};

/// Shells whose `-c` script is read word by word for disallowed commands.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh"];

pub(super) fn check_unchecked(file: &ScenarioFile, strict: bool, out: &mut Vec<Diagnostic>) {
    let say = |message: String, help: &str, at: std::ops::Range<usize>| {
        let d = if strict {
            Diagnostic::error(Code::UncheckedKey, message)
        } else {
            Diagnostic::warning(Code::UncheckedKey, message)
        };
        d.at(at).with_help(help)
    };
    for scenario in &file.scenarios {
        if scenario.concurrent {
            out.push(say(
                format!("scenario `{}`: `concurrent = true` is accepted, not checked: its steps run one after another", scenario.name.value),
                "remove it; for tests that run at once, give each its own scenario (scenarios run in parallel)",
                scenario.span.clone(),
            ));
        }
        for item in scenario
            .collect
            .iter()
            .filter(|c| c.value.starts_with("logs:"))
        {
            out.push(say(
                format!(
                    "`{}` is accepted, not checked: logs are not collected",
                    item.value
                ),
                "remove it; a failure report shows each service's last output anyway",
                item.span.clone(),
            ));
        }
        let Some(policy) = &scenario.policy else {
            continue;
        };
        if let Some(level) = &policy.security_level {
            out.push(say(
                format!("`policy.security_level = \"{}\"` is accepted, not checked", level.value),
                "remove it: every container runs unprivileged, on the scenario's own network, with no route out",
                level.span.clone(),
            ));
        }
        if let Some(first) = policy.allowed_network_hosts.first() {
            out.push(say(
                "`policy.allowed_network_hosts` is accepted, not checked: steps in containers reach no host outside the scenario's network, allowed or not".to_string(),
                "run what the steps need as services of the scenario, and remove the list",
                first.span.clone(),
            ));
        }
        check_disallowed_commands(scenario, out);
    }
}

/// A step that runs one of the policy's disallowed commands, as its
/// program or as a word of a shell's `-c` script.
fn check_disallowed_commands(scenario: &Scenario, out: &mut Vec<Diagnostic>) {
    let Some(policy) = &scenario.policy else {
        return;
    };
    if policy.disallowed_commands.is_empty() {
        return;
    }
    for step in &scenario.steps {
        let Some(found) = program_names(step)
            .into_iter()
            .find(|name| (policy.disallowed_commands.iter()).any(|d| d.value == *name))
        else {
            continue;
        };
        out.push(
            Diagnostic::error(
                Code::PolicyViolation,
                format!(
                    "step `{}` runs `{found}`, which scenario `{}`'s policy disallows",
                    step.name.value, scenario.name.value
                ),
            )
            .at(step.command.span.clone())
            .with_help("remove the step, or `disallowed_commands` from the policy"),
        );
    }
}

/// The programs a step names: its argv's first word, and for a shell's
/// `-c` script every word of it (a word-level reading, not a shell).
fn program_names(step: &Step) -> Vec<String> {
    let argv = &step.command.value;
    let base = |word: &str| {
        Path::new(word)
            .file_name()
            .map_or(word.to_string(), |n| n.to_string_lossy().into_owned())
    };
    let mut names: Vec<String> = argv.first().map(|a| base(a)).into_iter().collect();
    let is_shell = names.first().is_some_and(|n| SHELLS.contains(&n.as_str()));
    if is_shell && let Some(at) = argv.iter().position(|a| a == "-c") {
        let script = argv.get(at + 1).map_or("", String::as_str);
        let words = shlex::split(script)
            .unwrap_or_else(|| script.split_whitespace().map(str::to_string).collect());
        names.extend(words.iter().map(|w| base(w)));
    }
    names
}
