//! Runs one scenario: a fresh working directory shared by its steps, a clean
//! environment, step and scenario deadlines, and a stop at the first failure.

use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::backend::{BackendError, StepEnd, StepRequest};
use crate::expect::{Mismatch, judge_step, names_own_spans};
use crate::outcome::{Failure, FailureKind};
use crate::scenario::{KnownClaim, Scenario, ScenarioFile, Step};

use super::place::{Place, keep_for_debugging};
use super::record::{ScenarioRun, StepRun};
use super::settings::RunSettings;
use super::spans::Collection;
use crate::run_trace::ScenarioTrace;

/// Runs scenario `index` of `file` and returns what happened; relative
/// paths in the file (volumes, build contexts) are taken from the current
/// directory.
pub fn run_scenario(file: &ScenarioFile, index: usize, settings: &RunSettings) -> ScenarioRun {
    run_scenario_in(file, index, Path::new(""), settings)
}

/// [`run_scenario`] for a file in folder `dir`: a service's volume
/// `host_path` and a `build` context are relative to it.
pub fn run_scenario_in(
    file: &ScenarioFile,
    index: usize,
    dir: &Path,
    settings: &RunSettings,
) -> ScenarioRun {
    run_scenario_observed(file, index, dir, settings, &|_| {})
}

/// [`run_scenario_in`], showing `on_step` each step as it finishes.
pub(crate) fn run_scenario_observed(
    file: &ScenarioFile,
    index: usize,
    dir: &Path,
    settings: &RunSettings,
    on_step: &dyn Fn(&StepRun),
) -> ScenarioRun {
    let started = Instant::now();
    let mut run = ScenarioRun::default();
    let Some(scenario) = file.scenarios.get(index) else {
        run.problems.push(Failure::new(
            FailureKind::InvalidFile,
            format!("no scenario number {index} in the file"),
        ));
        return run;
    };
    // The world (place) is dropped first, so teardown is inside the span.
    let _scenario = tracing::info_span!("scenario", name = %scenario.name.value).entered();
    let scenario_timeout = scenario
        .timeout
        .as_ref()
        .or(file.header.timeout.as_ref())
        .map_or(settings.scenario_timeout, |t| t.value);
    // `[limits] max_duration_seconds` and `policy.max_execution_time` cap
    // whatever timeout applies.
    let caps = [
        (file.limits.as_ref()).and_then(|l| l.max_duration.as_ref()),
        (scenario.policy.as_ref()).and_then(|p| p.max_execution_time.as_ref()),
    ];
    let scenario_timeout =
        (caps.into_iter().flatten()).fold(scenario_timeout, |t, cap| t.min(cap.value));
    let recording = settings.record_trace
        || file.otel.as_ref().is_some_and(|o| o.endpoint.is_some())
        || names_own_spans(&file.expect);
    let mut trace = ScenarioTrace::new(&settings.trace, recording);
    let setup_started = SystemTime::now();
    let spans = Collection::for_scenario(file, scenario);
    let route = spans.route(file, trace.scenario_traceparent());
    let mut place = match Place::prepare(file, scenario, dir, scenario_timeout, settings, route) {
        Ok(place) => place,
        Err(unavailable) => {
            // Nothing ran, so nothing failed as expected: never a pass.
            let unchecked = unavailable.into_unchecked();
            trace.setup(setup_started, &[], Some(&unchecked.message));
            run.unchecked.push(unchecked);
            run.trace = trace.finish(&scenario.name.value, true);
            return run;
        }
    };
    let starts = (place.world()).map_or(&[][..], |w| w.container_starts());
    trace.setup(setup_started, starts, None);
    let deadline = started + scenario_timeout;
    for step in &scenario.steps {
        if settings.cancel.is_cancelled() {
            run.problems.push(Failure::new(
                FailureKind::Cancelled,
                format!("cancelled before step `{}`", step.name.value),
            ));
            break;
        }
        if let Some(failed) = failed_dependency(step, &run) {
            let mut skipped = StepRun::new(step);
            skipped.mismatches.push(Mismatch::NotStarted(format!(
                "it depends on step `{failed}`, which failed"
            )));
            on_step(&skipped);
            run.steps.push(skipped);
            if step.continue_on_failure {
                continue;
            }
            break;
        }
        let attempts = step.attempts();
        let mut earlier = Vec::new();
        let step_run = loop {
            let attempt = Attempt {
                file,
                step,
                settings,
                deadline,
                scenario_timeout,
                number: earlier.len() as u32 + 1,
            };
            let step_run = run_attempt(&attempt, &mut place, &spans, &mut trace, &mut run);
            let last = step_run.passed()
                || step_run.stops_scenario()
                || attempt.number >= attempts
                || settings.cancel.is_cancelled();
            if last {
                break step_run.after(earlier);
            }
            earlier.push(step_run);
        };
        on_step(&step_run);
        let stop = step_run.stops_scenario();
        let failed = !step_run.mismatches.is_empty();
        run.steps.push(step_run);
        if stop || (failed && !step.continue_on_failure) {
            break;
        }
    }
    check_claims(file, matches!(place, Place::Host(..)), &mut run);
    // Own spans are judged only by expectations that name them: otherwise
    // copying them (a harness run records a trace for every test) is waste.
    let own = if names_own_spans(&file.expect) {
        trace.so_far(&scenario.name.value)
    } else {
        Vec::new()
    };
    spans.judge(file, scenario, &place, &own, &mut run);
    run.secrets = secret_values(file, scenario);
    if run.failed()
        && let Some(world) = place.world()
    {
        run.service_logs = world.service_logs(SERVICE_LOG_LINES);
    }
    if run.failed() && settings.keep_on_failure {
        keep_for_debugging(&mut place, &mut run);
    }
    // The place (working directory or containers) is removed here, whatever happened.
    let teardown_started = SystemTime::now();
    let containers = place.world().map_or(0, |w| w.containers_to_remove());
    drop(place);
    trace.teardown(teardown_started, containers);
    run.trace = trace.finish(&scenario.name.value, run.failed());
    run.mask_spans();
    run.duration = started.elapsed();
    tracing::info!(
        failed = run.failed(),
        elapsed_ms = run.duration.as_millis() as u64,
        "scenario finished"
    );
    run
}

/// One attempt at a step: what `run_attempt` needs besides the scenario's
/// place, span collection, trace and record.
struct Attempt<'a> {
    file: &'a ScenarioFile,
    step: &'a Step,
    settings: &'a RunSettings,
    deadline: Instant,
    scenario_timeout: std::time::Duration,
    /// 1 for the first.
    number: u32,
}

/// Runs `attempt` once and judges it; its span goes to `trace`, a scenario
/// timeout to `run`'s problems.
fn run_attempt(
    attempt: &Attempt<'_>,
    place: &mut Place,
    spans: &Collection,
    trace: &mut ScenarioTrace,
    run: &mut ScenarioRun,
) -> StepRun {
    let Attempt {
        file,
        step,
        settings,
        deadline,
        scenario_timeout,
        number,
    } = *attempt;
    let step_limit = step
        .timeout
        .as_ref()
        .map_or(settings.step_timeout, |t| t.value);
    let left = deadline.saturating_duration_since(Instant::now());
    let (timeout, scenario_limited) = if left < step_limit {
        (left, true)
    } else {
        (step_limit, false)
    };
    let span_id = ScenarioTrace::new_span_id();
    let mut env = place.environment(step, settings);
    env.extend(spans.environment(file, step, place, trace.traceparent(&span_id)));
    let request = StepRequest {
        argv: step.command.value.clone(),
        env,
        workdir: place.workdir(step),
        stdin: step.stdin.clone(),
        timeout,
        service: step.service.as_ref().map(|s| s.value.clone()),
    };
    let mut step_run = StepRun::new(step);
    let _step = tracing::debug_span!("step", name = %step.name.value).entered();
    let step_started = Instant::now();
    let step_wall = SystemTime::now();
    let result = place.backend_for(step).run_step(&request, &settings.cancel);
    tracing::debug!(
        exit_code = ?result.as_ref().ok().and_then(|o| o.exit_code),
        elapsed_ms = step_started.elapsed().as_millis() as u64,
        "step finished"
    );
    match result {
        Ok(output) => {
            let limit = if scenario_limited {
                scenario_timeout
            } else {
                step_limit
            };
            step_run.mismatches = judge_step(step, &output, limit);
            if output.end == StepEnd::TimedOut && scenario_limited {
                run.problems.push(Failure::new(
                    FailureKind::ScenarioTimedOut,
                    format!(
                        "the scenario timed out after {}",
                        humantime::format_duration(scenario_timeout)
                    ),
                ));
            }
            step_run.output = Some(output);
        }
        Err(e) => step_run
            .mismatches
            .push(Mismatch::NotStarted(not_started(e, settings))),
    }
    trace.step(
        span_id,
        &step_run,
        step_wall,
        place.in_container(step),
        number,
    );
    step_run
}

/// An earlier step `step` depends on that failed (the scenario went on past
/// it with `continue_on_failure`).
fn failed_dependency<'r>(step: &Step, run: &'r ScenarioRun) -> Option<&'r str> {
    (step.depends_on.iter()).find_map(|name| {
        (run.steps.iter())
            .find(|s| s.name == name.value && !s.passed())
            .map(|s| s.name.as_str())
    })
}

/// Lines of each service's output shown with a failure.
const SERVICE_LOG_LINES: usize = 50;

/// Whether a variable's name says its value is a secret.
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["TOKEN", "PASSWORD", "SECRET", "KEY"]
        .iter()
        .any(|word| name.contains(word))
}

/// The values to mask in reports: secret-looking `env` of services and steps.
fn secret_values(file: &ScenarioFile, scenario: &Scenario) -> Vec<String> {
    file.services
        .iter()
        .flat_map(|s| &s.env)
        .chain(scenario.steps.iter().flat_map(|s| &s.env))
        .filter(|(name, value)| looks_secret(name) && value.len() >= 3)
        .map(|(_, value)| value.clone())
        .collect()
}

/// Why a step did not start, with the next step when the program is one
/// of the crate's binaries that was never built.
fn not_started(error: BackendError, settings: &RunSettings) -> String {
    if let BackendError::NotFound { program } = &error {
        let path = Path::new(program);
        let binary = settings
            .crate_binaries
            .get()
            .iter()
            .find(|(_, p)| *p == path);
        if let Some((name, _)) = binary.filter(|_| !path.exists()) {
            return format!(
                "{error}: it is the crate's binary `{name}`, which is not built: run `cargo build` first (`cargo test` and `cargo nextest run` build it themselves)"
            );
        }
    }
    error.to_string()
}

fn check_claims(file: &ScenarioFile, on_host: bool, run: &mut ScenarioRun) {
    for claim in file.assertions.iter().filter_map(|a| a.claim) {
        match claim {
            KnownClaim::ExecutedCommands(n) => {
                let executed = run.steps.iter().filter(|s| s.output.is_some()).count();
                if executed < n as usize {
                    let mut failure = Failure::new(
                        FailureKind::Claim,
                        format!(
                            "claim `container_should_have_executed_commands = {n}`: {executed} command(s) ran"
                        ),
                    );
                    failure.expected = Some(format!("at least {n}"));
                    failure.actual = Some(executed.to_string());
                    run.problems.push(failure);
                }
            }
            KnownClaim::AllStepsSucceed => {
                if run.steps.iter().any(|s| !s.mismatches.is_empty()) {
                    run.problems.push(Failure::new(
                        FailureKind::Claim,
                        "claim `all_steps_should_succeed`: a step failed",
                    ));
                }
            }
            KnownClaim::Hermetic => {
                if on_host {
                    run.problems.push(Failure::new(
                        FailureKind::Claim,
                        "claim `execution_should_be_hermetic`: the steps ran on the host (local backend)",
                    ));
                }
            }
        }
    }
}
