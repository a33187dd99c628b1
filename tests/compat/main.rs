//! The six files written for the original tool, read by this one.
//!
//! Each must be accepted (or, for the file that was never valid, reported with
//! its lines) and normalised into the one model with nothing silently dropped.

use clnrm_core::diagnostic::{Code, Severity};
use clnrm_core::pipeline::FileReport;
use clnrm_core::plan::plan;
use clnrm_core::scenario::{KnownClaim, ScenarioFile, SpanStatus};
use clnrm_tests::process_fixture;

mod template_functions;

fn errors(report: &FileReport) -> Vec<String> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{:?} {}", d.code, d.message))
        .collect()
}

fn model(report: &FileReport) -> &ScenarioFile {
    assert!(
        errors(report).is_empty(),
        "unexpected errors: {:#?}",
        errors(report)
    );
    report.variants[0].file.as_ref().expect("parsed")
}

fn test_names(report: &FileReport) -> Vec<String> {
    plan(std::slice::from_ref(report))
        .into_iter()
        .map(|t| t.name)
        .collect()
}

fn warnings_with(report: &FileReport, code: Code) -> usize {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.code == code)
        .count()
}

#[test]
fn basic_health_check_older_shape() {
    let report = process_fixture("compat/basic-health-check.clnrm.toml");
    let file = model(&report);
    assert_eq!(file.header.name.value, "optimus_prime_health_check");
    assert_eq!(file.scenarios.len(), 1);
    let steps = &file.scenarios[0].steps;
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1].command.value[0], "node");
    assert_eq!(steps[1].command.value.len(), 3, "argv is kept as written");
    assert_eq!(
        file.header.timeout.as_ref().map(|t| t.value.as_secs()),
        Some(30)
    );
    // Free-form claims: three, none checked, each a warning.
    assert_eq!(warnings_with(&report, Code::UnverifiedClaim), 3);
    let names = test_names(&report);
    assert_eq!(
        names,
        ["compat/basic-health-check.clnrm.toml::optimus_prime_health_check"]
    );
}

#[test]
fn rosetta_renders_vars_into_commands() {
    let report = process_fixture("compat/toml-vars-rosetta.clnrm.toml");
    let file = model(&report);
    let steps = &file.scenarios[0].steps;
    assert_eq!(steps.len(), 19);
    let step = |name: &str| steps.iter().find(|s| s.name.value == name).expect(name);
    assert_eq!(
        step("test_nested_database_host").command.value[2],
        "echo 'DB Host: localhost'"
    );
    assert_eq!(
        step("test_connection_string_composition").command.value[2],
        "echo 'postgres://test_user@localhost:5432/cleanroom_db'"
    );
    assert_eq!(file.services[0].id.value, "test_container");
    // `type` next to `plugin`: the older spelling is reported, not an error.
    assert_eq!(warnings_with(&report, Code::DeprecatedKey), 1);
    assert!(
        file.assertions
            .iter()
            .any(|a| a.claim == Some(KnownClaim::AllStepsSucceed))
    );
    // The comment line that shows `{{ vars.name }}` is kept as a comment.
    let rendered = report.variants[0].rendered.as_ref().expect("rendered");
    assert!(rendered.text().contains(
        "# These variables will be referenced throughout the test using {{ vars.name }}"
    ));
}

#[test]
fn prd_workflow_scenarios_with_service_and_run() {
    let report = process_fixture("compat/prd_otel_workflow.clnrm.toml");
    let file = model(&report);
    assert_eq!(file.scenarios.len(), 2);
    let first = &file.scenarios[0];
    assert_eq!(
        first.steps.len(),
        3,
        "`run` step first, then the nested steps"
    );
    assert_eq!(
        first.steps[0].command.value,
        ["echo", "Hermetic test execution"]
    );
    assert_eq!(
        first.steps[0].service.as_ref().map(|s| s.value.as_str()),
        Some("test_container")
    );
    assert_eq!(
        first.steps[1].service.as_ref().map(|s| s.value.as_str()),
        Some("test_container")
    );
    let second = &file.scenarios[1];
    assert_eq!(
        second.steps[0].command.value,
        ["sh", "-c", "echo start && sleep 0.1 && echo end"]
    );
    assert_eq!(file.expect.spans.len(), 2);
    assert_eq!(
        file.expect.graph.as_ref().map(|g| g.must_include.len()),
        Some(2)
    );
    assert_eq!(
        file.expect.status.as_ref().and_then(|s| s.all),
        Some(SpanStatus::Ok)
    );
    let hermeticity = file.expect.hermeticity.as_ref().expect("hermeticity");
    assert_eq!(hermeticity.resource_attrs_must_match.len(), 2);
    let claims: Vec<_> = file.assertions.iter().filter_map(|a| a.claim).collect();
    assert_eq!(
        claims,
        [KnownClaim::ExecutedCommands(2), KnownClaim::Hermetic]
    );
    assert_eq!(warnings_with(&report, Code::UnverifiedClaim), 1);
    let names = test_names(&report);
    assert_eq!(
        names,
        [
            "compat/prd_otel_workflow.clnrm.toml::verify_hermetic_execution",
            "compat/prd_otel_workflow.clnrm.toml::validate_container_lifecycle"
        ]
    );
}

#[test]
fn legitimate_self_test_expectations() {
    let report = process_fixture("compat/legitimate_self_test.clnrm.toml");
    let file = model(&report);
    assert_eq!(
        file.scenarios[0].steps[0].command.value,
        ["clnrm", "self-test", "--otel-exporter", "stdout"]
    );
    assert_eq!(file.scenarios[0].collect[0].value, "spans:default");
    let counts = file.expect.counts.as_ref().expect("counts");
    assert_eq!(counts.by_name[0].0, "clnrm.run");
    assert_eq!(file.expect.spans[0].duration_ms_max, Some(600_000));
    assert_eq!(file.services[0].env.len(), 2);
}

#[test]
fn vars_rendering_template_with_macros() {
    let report = process_fixture("compat/vars_rendering.clnrm.toml.tera");
    let file = model(&report);
    let env = std::env::var("ENV").unwrap_or_else(|_| "ci".into());
    let svc = std::env::var("SERVICE_NAME").unwrap_or_else(|_| "clnrm".into());
    assert_eq!(file.header.name.value, format!("{svc}_vars_rendering_test"));
    let service = file.service("test_svc").expect("service from m::service");
    assert!(
        service.env.contains(&("APP_ENV".to_string(), env.clone())),
        "{:?}",
        service.env
    );
    let scenario = file
        .scenarios
        .iter()
        .find(|s| s.name.value == "vars_test")
        .expect("vars_test");
    assert_eq!(
        scenario.steps[0].command.value,
        ["echo", "Testing", "vars:", &svc, "in", &env]
    );
    let run_span = file
        .expect
        .spans
        .iter()
        .find(|s| s.name.value == "clnrm.run")
        .expect("span macro");
    assert!(
        run_span
            .attrs_all
            .contains(&("service.name".to_string(), svc.clone()))
    );
    let child = file
        .expect
        .spans
        .iter()
        .find(|s| s.name.value == "clnrm.scenario.vars_test")
        .expect("child span");
    assert_eq!(child.parent.as_deref(), Some("clnrm.run"));
}

#[test]
fn timeout_scenarios_reported_with_lines_never_a_crash() {
    let report = process_fixture("compat/timeout_scenarios.clnrm.toml");
    assert!(report.has_errors());
    let located: Vec<(usize, Code, String)> = report
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let line = d
                .span
                .as_ref()
                .map(|s| report.source.location(s.start).line)
                .expect("every error is located");
            (line, d.code, d.message.clone())
        })
        .collect();
    // Keys the original ignored (and so asserted nothing) are errors at their line.
    assert!(
        located.contains(&(
            99,
            Code::UnknownKey,
            "unknown key `scenario[1].timeout_strategy`".into()
        )),
        "{located:#?}"
    );
    assert!(located.iter().any(|(line, code, m)| *line == 404
        && *code == Code::UnknownKey
        && m.contains("expect.chaos")));
    assert!(
        located
            .iter()
            .any(|(line, code, _)| *line == 255 && *code == Code::WrongType)
    );
    // A broken file is one test, named by its path alone.
    let tests = plan(std::slice::from_ref(&report));
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].name, "compat/timeout_scenarios.clnrm.toml");
    assert!(tests[0].target.is_none());
}
