//! Runs one scenario: a fresh working directory shared by its steps, a clean
//! environment, step and scenario deadlines, and a stop at the first failure.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::backend::{Backend, CancelToken, LocalBackend, StepEnd, StepRequest};
use crate::config::Config;
use crate::expect::{Mismatch, judge_step};
use crate::scenario::{Backend as BackendKind, KnownClaim, ScenarioFile, Step};

use super::outcome::{ScenarioRun, StepRun};

/// Settings that come from configuration, not from the file.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub step_timeout: Duration,
    pub scenario_timeout: Duration,
    /// Host environment variables passed to steps besides `PATH`.
    pub env_passthrough: Vec<String>,
    /// Overrides `[meta] backend` (`--backend`).
    pub backend: Option<BackendKind>,
    pub cancel: CancelToken,
}

impl RunSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            step_timeout: config.step_timeout,
            scenario_timeout: config.scenario_timeout,
            env_passthrough: config.env_passthrough.clone(),
            backend: None,
            cancel: CancelToken::new(),
        }
    }
}

/// Runs scenario `index` of `file` and returns what happened.
pub fn run_scenario(file: &ScenarioFile, index: usize, settings: &RunSettings) -> ScenarioRun {
    let started = Instant::now();
    let mut run = ScenarioRun::default();
    let Some(scenario) = file.scenarios.get(index) else {
        run.problems
            .push(format!("no scenario number {index} in the file"));
        return run;
    };
    let backend_kind = settings.backend.unwrap_or(file.header.backend);
    if backend_kind == BackendKind::Container {
        run.unsupported.push(
            "the container backend is not available in this version; set `[meta] backend = \"local\"` to run the steps on the host"
                .into(),
        );
        return run;
    }
    if !file.services.is_empty() {
        let ids: Vec<&str> = file.services.iter().map(|s| s.id.value.as_str()).collect();
        run.unsupported.push(format!(
            "services ({}) need the container backend, which is not available in this version",
            ids.join(", ")
        ));
        return run;
    }
    let backend = LocalBackend;
    let scratch = match tempfile::Builder::new().prefix("clnrm-").tempdir() {
        Ok(dir) => ScratchDir(dir.keep()),
        Err(e) => {
            run.problems.push(format!(
                "cannot create the scenario's working directory: {e}"
            ));
            return run;
        }
    };
    let scenario_timeout = scenario
        .timeout
        .as_ref()
        .or(file.header.timeout.as_ref())
        .map_or(settings.scenario_timeout, |t| t.value);
    let deadline = started + scenario_timeout;
    for step in &scenario.steps {
        if settings.cancel.is_cancelled() {
            run.problems
                .push("cancelled before step `".to_string() + &step.name.value + "`");
            break;
        }
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
        let request = StepRequest {
            argv: step.command.value.clone(),
            env: environment(step, settings),
            workdir: workdir(step, scratch.0.clone()),
            stdin: step.stdin.clone(),
            timeout,
        };
        let mut step_run = StepRun::new(step);
        match backend.run_step(&request, &settings.cancel) {
            Ok(output) => {
                let limit = if scenario_limited {
                    scenario_timeout
                } else {
                    step_limit
                };
                step_run.mismatches = judge_step(step, &output, limit);
                if output.end == StepEnd::TimedOut && scenario_limited {
                    run.problems.push(format!(
                        "the scenario timed out after {}",
                        humantime::format_duration(scenario_timeout)
                    ));
                }
                step_run.output = Some(output);
            }
            Err(e) => step_run
                .mismatches
                .push(Mismatch::NotStarted(e.to_string())),
        }
        let stop = step_run.stops_scenario();
        let failed = !step_run.mismatches.is_empty();
        run.steps.push(step_run);
        if stop || (failed && !step.continue_on_failure) {
            break;
        }
    }
    check_claims(file, &backend, &mut run);
    run.duration = started.elapsed();
    // `scratch` is removed here, whatever happened above.
    run
}

/// The scenario's working directory, removed when the run ends, however it ends.
/// Most are empty by then: one `rmdir`, not a directory walk.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::fs::remove_dir(&self.0).is_err() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A relative `workdir` is inside the scenario's directory.
fn workdir(step: &Step, scenario_dir: PathBuf) -> PathBuf {
    match &step.workdir {
        Some(dir) => scenario_dir.join(dir),
        None => scenario_dir,
    }
}

/// PATH, the configured passthrough variables, then the step's own `env`.
fn environment(step: &Step, settings: &RunSettings) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::iter::once("PATH")
        .chain(settings.env_passthrough.iter().map(String::as_str))
        .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
        .collect();
    for (key, value) in &step.env {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

fn check_claims(file: &ScenarioFile, backend: &dyn Backend, run: &mut ScenarioRun) {
    for claim in file.assertions.iter().filter_map(|a| a.claim) {
        match claim {
            KnownClaim::ExecutedCommands(n) => {
                let executed = run.steps.iter().filter(|s| s.output.is_some()).count();
                if executed < n as usize {
                    run.problems.push(format!(
                        "claim `container_should_have_executed_commands = {n}`: {executed} command(s) ran"
                    ));
                }
            }
            KnownClaim::AllStepsSucceed => {
                if run.steps.iter().any(|s| !s.mismatches.is_empty()) {
                    run.problems
                        .push("claim `all_steps_should_succeed`: a step failed".into());
                }
            }
            KnownClaim::Hermetic => {
                if backend.runs_on_host() {
                    run.problems.push(
                        "claim `execution_should_be_hermetic`: the steps ran on the host (local backend)".into(),
                    );
                }
            }
        }
    }
    if !file.expect.is_empty() {
        run.unsupported.push(
            "span expectations (`[expect.*]`) are not supported yet: the scenario fails rather than pass unchecked"
                .into(),
        );
    }
}
