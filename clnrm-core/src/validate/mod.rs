//! The validate stage: checks across the whole model that no single table can
//! make (undefined services, duplicate names, regexes, unverified claims).

mod unchecked;

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::scenario::{ScenarioFile, Spanned, closest};

/// Options that change what is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Unverified `[assertions]` claims are errors, not warnings.
    pub strict: bool,
}

/// Semantic diagnostics for one parsed file; spans point into its text.
pub fn validate(file: &ScenarioFile, options: ValidateOptions) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let strict = options.strict || file.header.strict;
    if file.header.name.value.trim().is_empty() && !file.header.name.span.is_empty() {
        out.push(
            Diagnostic::error(Code::InvalidValue, "the scenario name is empty").at(file
                .header
                .name
                .span
                .clone()),
        );
    }
    if file.scenarios.is_empty() && !file.header.name.span.is_empty() {
        out.push(
            Diagnostic::error(
                Code::EmptyScenario,
                "the file defines no scenario, so it would test nothing",
            )
            .at(file.header.name.span.clone())
            .with_help("add `[[scenario]]` with steps, or top-level `[[steps]]`"),
        );
    }
    for scenario in file
        .scenarios
        .iter()
        .filter(|s| s.name.value.trim().is_empty())
    {
        out.push(
            Diagnostic::error(Code::InvalidValue, "a scenario name is empty")
                .at(scenario.name.span.clone())
                .with_help("scenario names become test names; give it one"),
        );
    }
    check_service_references(file, &mut out);
    check_service_dependencies(file, &mut out);
    check_container_limit(file, &mut out);
    check_step_dependencies(file, &mut out);
    check_duplicates(file, &mut out);
    check_regexes(file, &mut out);
    check_claims(file, strict, &mut out);
    unchecked::check_unchecked(file, strict, &mut out);
    out
}

fn check_service_references(file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    let ids: Vec<&str> = file.services.iter().map(|s| s.id.value.as_str()).collect();
    let mut check = |reference: &Spanned<String>, who: String| {
        if file
            .service(&reference.value)
            .is_some_and(|s| s.is_collector())
        {
            out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!(
                        "{who} runs in service `{}`, which is the span receiver (`plugin = \"otel_collector\"`): no container is started for it",
                        reference.value
                    ),
                )
                .at(reference.span.clone())
                .with_help("run the step in the runner container (remove `service`) or in a `generic_container` service"),
            );
            return;
        }
        if ids.contains(&reference.value.as_str()) {
            return;
        }
        let mut d = Diagnostic::error(
            Code::UndefinedService,
            format!(
                "{who} names service `{}`, which is not defined",
                reference.value
            ),
        )
        .at(reference.span.clone());
        d = match closest(&reference.value, &ids) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if ids.is_empty() => d.with_help(format!(
                "define it with `[service.{}]` and an `image`, or remove `service` to run in the runner container",
                reference.value
            )),
            None => d.with_help(format!("defined services: {}", ids.join(", "))),
        };
        out.push(d);
    };
    for scenario in &file.scenarios {
        if let Some(service) = &scenario.service {
            check(service, format!("scenario `{}`", scenario.name.value));
        }
        for step in &scenario.steps {
            // Steps that inherit the scenario's service were reported with it.
            if let Some(service) = &step.service
                && scenario
                    .service
                    .as_ref()
                    .is_none_or(|s| s.span != service.span)
            {
                let who = match step.name.value.as_str() {
                    "" => "a step without a name".to_string(),
                    name => format!("step `{name}`"),
                };
                check(service, who);
            }
        }
    }
}

/// `depends_on` names other services, and never in a cycle.
fn check_service_dependencies(file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    let ids: Vec<&str> = file.services.iter().map(|s| s.id.value.as_str()).collect();
    for service in &file.services {
        for dependency in &service.depends_on {
            if dependency.value == service.id.value {
                out.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("service `{}` depends on itself", service.id.value),
                    )
                    .at(dependency.span.clone())
                    .with_help("`depends_on` names the services to start before this one"),
                );
            } else if !ids.contains(&dependency.value.as_str()) {
                let help = match closest(&dependency.value, &ids) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("defined services: {}", ids.join(", ")),
                };
                out.push(
                    Diagnostic::error(
                        Code::UndefinedService,
                        format!(
                            "service `{}` depends on service `{}`, which is not defined",
                            service.id.value, dependency.value
                        ),
                    )
                    .at(dependency.span.clone())
                    .with_help(help),
                );
            }
        }
    }
    if let Err(cycle) = crate::scenario::start_order(&file.services)
        && cycle.len() > 2
    {
        let first = (file.services.iter()).find(|s| s.id.value == cycle[0]);
        let at = first
            .and_then(|s| s.depends_on.iter().find(|d| d.value == cycle[1]))
            .map(|d| d.span.clone());
        let mut d = Diagnostic::error(
            Code::InvalidValue,
            format!(
                "services depend on each other in a cycle: {}",
                cycle.join(" -> ")
            ),
        )
        .with_help("one of them must start without the other: remove one `depends_on`");
        if let Some(at) = at {
            d = d.at(at);
        }
        out.push(d);
    }
}

/// `[limits] max_containers`: what each scenario would start, as the file
/// declares it (its services, and the runner container when the file's
/// backend is `container` and a step runs outside the services).
fn check_container_limit(file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    let Some(max) = file.limits.as_ref().and_then(|l| l.max_containers.as_ref()) else {
        return;
    };
    let services = file.services.iter().filter(|s| !s.is_collector()).count();
    for scenario in &file.scenarios {
        let runner = file.header.backend == crate::scenario::Backend::Container
            && scenario.steps.iter().any(|s| s.service.is_none());
        let wanted = services + usize::from(runner);
        if wanted > max.value as usize {
            let runner_text = if runner {
                " and its runner container"
            } else {
                ""
            };
            out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!(
                        "scenario `{}` starts {wanted} containers ({services} services{runner_text}), over `[limits] max_containers = {}`",
                        scenario.name.value, max.value
                    ),
                )
                .at(max.span.clone())
                .with_help("raise `max_containers`, or run the steps in a service (`service = \"...\"`) so that no runner container is needed"),
            );
        }
    }
}

/// A step's `depends_on` names an earlier step of its scenario, or a
/// service (always started before the first step).
fn check_step_dependencies(file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    for scenario in &file.scenarios {
        for (at, step) in scenario.steps.iter().enumerate() {
            for dependency in &step.depends_on {
                let named = |s: &&crate::scenario::Step| s.name.value == dependency.value;
                if scenario.steps[..at].iter().any(|s| named(&s))
                    || file.service(&dependency.value).is_some()
                {
                    continue;
                }
                let later = scenario.steps[at..].iter().any(|s| named(&s));
                let (message, help) = if later {
                    (
                        format!(
                            "step `{}` depends on step `{}`, which runs after it",
                            step.name.value, dependency.value
                        ),
                        "steps run in the order written: move it after the step it depends on"
                            .to_string(),
                    )
                } else {
                    let steps: Vec<&str> = scenario.steps[..at]
                        .iter()
                        .map(|s| s.name.value.as_str())
                        .collect();
                    (
                        format!(
                            "step `{}` depends on `{}`, which is neither an earlier step nor a service",
                            step.name.value, dependency.value
                        ),
                        match closest(&dependency.value, &steps) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => {
                                "name an earlier step of the scenario, or a service".to_string()
                            }
                        },
                    )
                };
                out.push(
                    Diagnostic::error(Code::InvalidValue, message)
                        .at(dependency.span.clone())
                        .with_help(help),
                );
            }
        }
    }
}

fn duplicate(
    out: &mut Vec<Diagnostic>,
    what: &str,
    name: &Spanned<String>,
    first: &Spanned<String>,
) {
    out.push(
        Diagnostic::error(
            Code::DuplicateName,
            format!("{what} `{}` is defined more than once", name.value),
        )
        .at(name.span.clone())
        .with_help(format!(
            "{what} names must be unique; the first one is at byte {}",
            first.span.start
        )),
    );
}

fn check_duplicates(file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    let mut scenarios: HashMap<&str, &Spanned<String>> = HashMap::new();
    for scenario in &file.scenarios {
        if let Some(first) = scenarios.insert(&scenario.name.value, &scenario.name) {
            duplicate(out, "scenario", &scenario.name, first);
        }
        let mut steps: HashMap<&str, &Spanned<String>> = HashMap::new();
        for step in &scenario.steps {
            // A step without a name was reported as such; it duplicates nothing.
            if step.name.value.is_empty() {
                continue;
            }
            // A `run` step shares its scenario's name (and span): not a duplicate.
            if let Some(first) = steps.insert(&step.name.value, &step.name)
                && first.span != step.name.span
            {
                duplicate(out, "step", &step.name, first);
            }
        }
    }
}

fn check_regexes(file: &ScenarioFile, out: &mut Vec<Diagnostic>) {
    let regexes = file
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|step| {
            [
                &step.expected_output_regex,
                &step.expected_output_regex_not,
                &step.expected_stderr_regex,
            ]
        })
        .flatten();
    for pattern in regexes {
        // Syntax only: compiling every pattern just to check it costs far more.
        if let Err(error) = regex_syntax::Parser::new().parse(&pattern.value) {
            let detail = error.to_string();
            let reason = detail
                .lines()
                .last()
                .unwrap_or(&detail)
                .trim()
                .trim_start_matches("error: ");
            out.push(
                Diagnostic::error(Code::InvalidRegex, format!("invalid regex {:?}: {reason}", pattern.value))
                    .at(error_span(pattern, &error))
                    .with_help("expectations use the `regex` crate's syntax; escape literal characters such as `.` `(` `[` with `\\\\`"),
            );
        }
    }
}

/// Where in the file the regex error is: inside the string when it is written
/// verbatim (`"..."` or `'...'` with no escapes), else the whole string.
fn error_span(pattern: &Spanned<String>, error: &regex_syntax::Error) -> std::ops::Range<usize> {
    let verbatim = pattern.span.len() == pattern.value.len() + 2;
    let at = match error {
        regex_syntax::Error::Parse(e) => e.span().start.offset,
        regex_syntax::Error::Translate(e) => e.span().start.offset,
        _ => return pattern.span.clone(),
    };
    if !verbatim {
        return pattern.span.clone();
    }
    let start = pattern.span.start + 1 + at;
    let width = pattern.value[at..].chars().next().map_or(0, char::len_utf8);
    start..start + width
}

fn check_claims(file: &ScenarioFile, strict: bool, out: &mut Vec<Diagnostic>) {
    for assertion in file.assertions.iter().filter(|a| a.claim.is_none()) {
        let message = format!(
            "unverified claim `{} = {}`: nothing checks it",
            assertion.key.value, assertion.value
        );
        let help = "express it as a step expectation or an `[expect.*]` table; enforced claims are `container_should_have_executed_commands`, `all_steps_should_succeed`, `all_commands_should_succeed`, `execution_should_be_hermetic`";
        let d = if strict {
            Diagnostic::error(Code::UnverifiedClaim, message)
        } else {
            Diagnostic::warning(Code::UnverifiedClaim, message)
        };
        out.push(d.at(assertion.key.span.clone()).with_help(help));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    fn codes(text: &str) -> Vec<Code> {
        let parsed = parse_scenario(text);
        let mut found = parsed.diagnostics;
        if let Some(file) = &parsed.file {
            found.extend(validate(file, ValidateOptions::default()));
        }
        found.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        found.into_iter().map(|d| d.code).collect()
    }

    fn messages(text: &str) -> Vec<String> {
        let parsed = parse_scenario(text);
        let mut found = parsed.diagnostics;
        if let Some(file) = &parsed.file {
            found.extend(validate(file, ValidateOptions::default()));
        }
        found.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn depends_on_names_defined_services_without_a_cycle() {
        let file = |services: &str| {
            format!(
                "[meta]\nname = \"x\"\n{services}[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n"
            )
        };
        let service = |id: &str, deps: &str| {
            format!("[services.{id}]\nimage = \"i\"\ndepends_on = [{deps}]\n")
        };
        let ok = file(&(service("a", "\"b\"") + &service("b", "")));
        assert!(messages(&ok).is_empty(), "{:?}", messages(&ok));
        assert_eq!(
            messages(&file(&service("a", "\"c\""))),
            ["service `a` depends on service `c`, which is not defined"]
        );
        assert_eq!(
            messages(&file(&service("a", "\"a\""))),
            ["service `a` depends on itself"]
        );
        let cycle = file(&(service("a", "\"b\"") + &service("b", "\"a\"")));
        assert_eq!(
            messages(&cycle),
            ["services depend on each other in a cycle: a -> b -> a"]
        );
        let relative = file("[services.a]\nimage = \"i\"\nworking_dir = \"app\"\n");
        assert_eq!(
            messages(&relative),
            ["`working_dir` is `app`, not an absolute path"]
        );
    }

    #[test]
    fn max_containers_counts_the_services_and_the_runner() {
        let file = |limit: u32, step_service: &str| {
            format!(
                "[meta]\nname = \"x\"\n[limits]\nmax_containers = {limit}\n[services.db]\nimage = \"i\"\n[services.web]\nimage = \"i\"\n[[scenario]]\nname = \"s\"\n[[scenario.steps]]\nname = \"a\"\ncommand = [\"true\"]\n{step_service}"
            )
        };
        assert_eq!(
            messages(&file(2, "")),
            [
                "scenario `s` starts 3 containers (2 services and its runner container), over `[limits] max_containers = 2`"
            ]
        );
        assert!(messages(&file(3, "")).is_empty());
        // A step in a service needs no runner container.
        assert!(messages(&file(2, "service = \"db\"\n")).is_empty());
    }

    #[test]
    fn propagators_are_the_w3c_ones() {
        let file = |otel: &str| {
            format!("[meta]\nname = \"x\"\n{otel}\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n")
        };
        assert!(
            messages(&file(
                "[otel.propagators]\nuse = [\"tracecontext\", \"baggage\"]"
            ))
            .is_empty()
        );
        assert!(messages(&file("[otel]\npropagators = [\"tracecontext\"]")).is_empty());
        assert_eq!(
            messages(&file(
                "[otel.propagators]\nuse = [\"tracecontext\", \"b3\"]"
            )),
            [
                "propagator `b3` is not supported: steps are given the W3C trace context (`TRACEPARENT`)"
            ]
        );
        assert_eq!(
            messages(&file("[otel.propagators]\nuse = [\"baggage\"]")),
            [
                "the propagators leave out `tracecontext`, but steps are given `TRACEPARENT` all the same"
            ]
        );
    }

    #[test]
    fn a_steps_depends_on_names_an_earlier_step_or_a_service() {
        let file = |deps: &str| {
            format!(
                "[meta]\nname = \"x\"\n[services.db]\nimage = \"i\"\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n[[steps]]\nname = \"b\"\ndepends_on = [{deps}]\ncommand = [\"true\"]\n[[steps]]\nname = \"c\"\ncommand = [\"true\"]\n"
            )
        };
        assert!(messages(&file("\"a\", \"db\"")).is_empty());
        assert_eq!(
            messages(&file("\"c\"")),
            ["step `b` depends on step `c`, which runs after it"]
        );
        assert_eq!(
            messages(&file("\"nope\"")),
            ["step `b` depends on `nope`, which is neither an earlier step nor a service"]
        );
    }

    #[test]
    fn a_collector_service_needs_no_image_but_runs_no_step() {
        let file = "[meta]\nname = \"x\"\n[service.otel]\nplugin = \"otel_collector\"\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n";
        assert_eq!(codes(file), [Code::DeprecatedKey]);
        let in_it = file.replace("command", "service = \"otel\"\ncommand");
        assert_eq!(codes(&in_it), [Code::DeprecatedKey, Code::InvalidValue]);
    }

    #[test]
    fn every_error_of_a_step_is_found_and_unnamed_steps_are_no_duplicates() {
        let head = "[meta]\nname = \"x\"\n";
        let bad =
            format!("{head}[[steps]]\nname = \"a\"\ncommand = []\nexpected_output_regex = \"(\"\n");
        assert_eq!(codes(&bad), [Code::InvalidCommand, Code::InvalidRegex]);
        let unnamed = format!(
            "{head}[[steps]]\ncommand = [\"true\"]\n[[steps]]\ncommand = [\"true\"]\nservice = \"db\"\n"
        );
        assert_eq!(
            codes(&unnamed),
            [Code::MissingKey, Code::MissingKey, Code::UndefinedService]
        );
    }

    #[test]
    fn a_syntax_error_comes_alone() {
        let text = "[meta]\nname = \"x\"\nbroken = [1, 2\n";
        assert_eq!(codes(text), [Code::TomlSyntax]);
    }
}
