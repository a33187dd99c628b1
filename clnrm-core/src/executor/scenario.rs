//! Runs one scenario: a fresh working directory shared by its steps, a clean
//! environment, step and scenario deadlines, and a stop at the first failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::backend::{
    Backend, BackendError, BindMount, CancelToken, ContainerBackend, ImageSpec, LocalBackend,
    PullPolicy, ServiceSpec, StepEnd, StepRequest, WorldSpec,
};
use crate::config::Config;
use crate::expect::{Mismatch, judge_step};
use crate::scenario::{
    Backend as BackendKind, ImageBuild, ImageSource, KnownClaim, Scenario, ScenarioFile, Step,
};

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
    /// The runner image of scenarios that name none.
    pub default_image: String,
    /// Leave a failed scenario's containers running, to look into them.
    pub keep_on_failure: bool,
    /// Most containers running at once, across every clnrm process here.
    pub max_containers: usize,
    /// When named images are pulled (`--pull`, `pull`, `CLNRM_PULL`).
    pub pull: PullPolicy,
    /// The crate's binaries (`bin.<name>`), mounted read-only into runner
    /// containers at the same path, so `{{ bin.name }}` works there too:
    /// the ones cargo named (`CARGO_BIN_EXE_<name>`) ...
    pub binaries: Vec<PathBuf>,
    /// ... and the ones cargo builds, asked for only when a runner starts.
    pub crate_binaries: crate::binaries::Binaries,
    pub cancel: CancelToken,
}

impl RunSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            step_timeout: config.step_timeout,
            scenario_timeout: config.scenario_timeout,
            env_passthrough: config.env_passthrough.clone(),
            backend: None,
            default_image: config.default_image.clone(),
            binaries: std::env::vars()
                .filter(|(k, _)| k.starts_with("CARGO_BIN_EXE_"))
                .map(|(_, v)| PathBuf::from(v))
                .collect(),
            crate_binaries: config.binaries.clone(),
            max_containers: config
                .max_containers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            pull: config.pull,
            keep_on_failure: std::env::var("CLNRM_KEEP_ON_FAILURE")
                .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes")),
            cancel: CancelToken::new(),
        }
    }
}

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
    let started = Instant::now();
    let mut run = ScenarioRun::default();
    let Some(scenario) = file.scenarios.get(index) else {
        run.problems
            .push(format!("no scenario number {index} in the file"));
        return run;
    };
    let scenario_timeout = scenario
        .timeout
        .as_ref()
        .or(file.header.timeout.as_ref())
        .map_or(settings.scenario_timeout, |t| t.value);
    let mut place = match Place::prepare(file, scenario, dir, scenario_timeout, settings) {
        Ok(place) => place,
        Err(Unavailable::Unsupported(reason)) => {
            run.unsupported.push((reason, None));
            return run;
        }
        Err(Unavailable::Setup(reason, span)) => {
            // Nothing ran, so nothing failed as expected: never a pass.
            run.unsupported.push((reason, span));
            return run;
        }
    };
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
            env: place.environment(step, settings),
            workdir: place.workdir(step),
            stdin: step.stdin.clone(),
            timeout,
            service: step.service.as_ref().map(|s| s.value.clone()),
        };
        let mut step_run = StepRun::new(step);
        match place.backend_for(step).run_step(&request, &settings.cancel) {
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
                .push(Mismatch::NotStarted(not_started(e, settings))),
        }
        let stop = step_run.stops_scenario();
        let failed = !step_run.mismatches.is_empty();
        run.steps.push(step_run);
        if stop || (failed && !step.continue_on_failure) {
            break;
        }
    }
    check_claims(file, matches!(place, Place::Host(..)), &mut run);
    run.secrets = secret_values(file, scenario);
    if run.failed()
        && let Some(world) = place.world()
    {
        run.service_logs = world.service_logs(SERVICE_LOG_LINES);
    }
    if run.failed() && settings.keep_on_failure {
        keep_for_debugging(&mut place, &mut run);
    }
    run.duration = started.elapsed();
    // The place (working directory or container) is removed here, whatever happened.
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

/// Where a scenario's steps run, owning what was created for it.
enum Place {
    /// On the host, in a fresh directory; the file's services (if any) run as
    /// containers with their ports published on the host.
    Host(LocalBackend, ScratchDir, Option<Box<ContainerBackend>>),
    /// In the scenario's runner container.
    Container(Box<ContainerBackend>),
}

enum Unavailable {
    /// Something this version cannot run: always a failure.
    Unsupported(String),
    /// The machine is not ready (no engine, no image, no disk); with the
    /// place in the file that asked for what is missing, when one did.
    Setup(String, Option<std::ops::Range<usize>>),
}

impl Place {
    fn prepare(
        file: &ScenarioFile,
        scenario: &Scenario,
        dir: &Path,
        scenario_timeout: Duration,
        settings: &RunSettings,
    ) -> Result<Self, Unavailable> {
        let limits = file.limits.clone().unwrap_or_default();
        let world = |runner: Option<ImageSpec>, services: Vec<ServiceSpec>, publish: bool| {
            let binaries = match runner {
                Some(_) => settings
                    .binaries
                    .iter()
                    .chain(settings.crate_binaries.get().values())
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            let spec = WorldSpec {
                runner,
                services,
                limits: limits.clone(),
                publish,
                binaries,
                max_containers: settings.max_containers,
                pull: settings.pull,
                start_limit: scenario_timeout,
            };
            ContainerBackend::start(&spec, &settings.cancel)
                .map(Box::new)
                .map_err(|e| {
                    let span = match &e {
                        BackendError::Image { image, .. } => Some(image_span(file, image)),
                        _ => None,
                    };
                    Unavailable::Setup(e.to_string(), span)
                })
        };
        let backend = settings.backend.unwrap_or(file.header.backend);
        match backend {
            BackendKind::Local => {
                let scratch = tempfile::Builder::new()
                    .prefix("clnrm-")
                    .tempdir()
                    .map_err(|e| {
                        Unavailable::Setup(
                            format!("cannot create the scenario's working directory: {e}"),
                            None,
                        )
                    })?;
                let scratch = ScratchDir(scratch.keep());
                let services = service_specs(file, dir)?;
                let world = if services.is_empty() {
                    None
                } else {
                    Some(world(None, services, true)?)
                };
                Ok(Place::Host(LocalBackend, scratch, world))
            }
            BackendKind::Container => {
                let services = service_specs(file, dir)?;
                let image = match (&file.header.build, &file.header.image) {
                    (Some(build), _) => build_spec(build, dir),
                    (None, Some(image)) => ImageSpec::named(&image.value),
                    (None, None) => ImageSpec::named(&settings.default_image),
                };
                // A runner only when some step runs outside the services.
                let runner = scenario
                    .steps
                    .iter()
                    .any(|s| s.service.is_none())
                    .then_some(image);
                world(runner, services, false).map(Place::Container)
            }
        }
    }

    /// The services' containers, when the file has services.
    fn world(&self) -> Option<&ContainerBackend> {
        match self {
            Place::Host(_, _, world) => world.as_deref(),
            Place::Container(world) => Some(world),
        }
    }

    /// Whether `step` runs in a container (the runner, or its `service`).
    fn in_container(&self, step: &Step) -> bool {
        matches!(self, Place::Container(_)) || step.service.is_some()
    }

    fn backend_for(&self, step: &Step) -> &dyn Backend {
        match (self, self.world()) {
            (Place::Host(local, _, _), _) if step.service.is_none() => local,
            (_, Some(world)) => world,
            (Place::Host(local, _, _), None) => local,
            (Place::Container(world), None) => world.as_ref(),
        }
    }

    /// On the host a relative `workdir` is inside the scenario's directory;
    /// in a container, relative to `/`, and the image's own by default.
    fn workdir(&self, step: &Step) -> Option<PathBuf> {
        match (self, &step.workdir) {
            (_, Some(dir)) if self.in_container(step) => Some(Path::new("/").join(dir)),
            (_, None) if self.in_container(step) => None,
            (Place::Host(_, scratch, _), Some(dir)) => Some(scratch.0.join(dir)),
            (Place::Host(_, scratch, _), None) => Some(scratch.0.clone()),
            (Place::Container(_), _) => None,
        }
    }

    /// On the host: PATH, the configured passthrough variables, where each
    /// service is (`CLNRM_SERVICE_<ID>_HOST`, `CLNRM_SERVICE_<ID>_PORT_<PORT>`),
    /// then the step's own `env`. In a container the image's environment stands
    /// in for the host's, so only passthrough and the step's `env` are added.
    fn environment(&self, step: &Step, settings: &RunSettings) -> Vec<(String, String)> {
        let on_host = !self.in_container(step);
        let mut env: Vec<(String, String)> = on_host
            .then_some("PATH")
            .into_iter()
            .chain(settings.env_passthrough.iter().map(String::as_str))
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
            .collect();
        if on_host && let Some(world) = self.world() {
            for (service, container_port, host_port) in world.published() {
                let id = service.to_ascii_uppercase().replace(['-', '.'], "_");
                env.push((format!("CLNRM_SERVICE_{id}_HOST"), "127.0.0.1".into()));
                env.push((
                    format!("CLNRM_SERVICE_{id}_PORT_{container_port}"),
                    host_port.to_string(),
                ));
            }
        }
        for (key, value) in &step.env {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.clone()));
        }
        env
    }
}

/// `--keep-on-failure`: the containers stay, and the report says how to reach them.
fn keep_for_debugging(place: &mut Place, run: &mut ScenarioRun) {
    let world = match place {
        Place::Host(_, _, Some(world)) => world,
        Place::Container(world) => world,
        Place::Host(_, _, None) => return,
    };
    for (role, container) in world.keep() {
        let short = &container[..container.len().min(12)];
        run.problems.push(format!(
            "kept {role}: `docker exec -it {short} sh` to look inside; `docker rm -f {short}` (or `cargo clnrm clean` once this run ended) to remove it"
        ));
    }
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

/// The services as the container backend starts them, with paths taken from
/// `dir` (the file's folder); what it cannot do yet is named, never skipped.
fn service_specs(file: &ScenarioFile, dir: &Path) -> Result<Vec<ServiceSpec>, Unavailable> {
    let mut specs = Vec::with_capacity(file.services.len());
    for service in &file.services {
        let id = &service.id.value;
        let image = match &service.image {
            Some(ImageSource::Image(image)) => ImageSpec::named(&image.value),
            Some(ImageSource::Build(build)) => build_spec(build, dir),
            None => {
                return Err(Unavailable::Unsupported(format!(
                    "service `{id}`: a service without an image is not supported"
                )));
            }
        };
        let mut volumes = Vec::with_capacity(service.volumes.len());
        for volume in &service.volumes {
            // Bound as it is: a missing path is an error, never created.
            let host = dir.join(&volume.host_path).canonicalize().map_err(|e| {
                Unavailable::Setup(
                    format!(
                        "service `{id}`: volume `{}` (host_path `{}`): {e}",
                        volume.container_path,
                        dir.join(&volume.host_path).display()
                    ),
                    Some(service.span.clone()),
                )
            })?;
            volumes.push(BindMount {
                host,
                container: volume.container_path.clone(),
                read_only: volume.read_only,
            });
        }
        specs.push(ServiceSpec {
            id: id.clone(),
            image,
            args: service.args.clone(),
            env: service.env.clone(),
            health_check: service.health_check.clone(),
            ports: service.ports.iter().map(|p| p.value.container).collect(),
            volumes,
            wait_for_span: service.wait_for_span.clone(),
        });
    }
    Ok(specs)
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

/// Where the file names `image`: a service's `image`, the header's, or the
/// header itself for the configured default runner image.
fn image_span(file: &ScenarioFile, image: &str) -> std::ops::Range<usize> {
    let named = |source: &Option<ImageSource>| match source {
        Some(ImageSource::Image(named)) if named.value == image => Some(named.span.clone()),
        _ => None,
    };
    file.services
        .iter()
        .find_map(|s| named(&s.image))
        .or_else(|| {
            file.header
                .image
                .as_ref()
                .filter(|named| named.value == image)
                .map(|named| named.span.clone())
        })
        .unwrap_or_else(|| file.header.span.clone())
}

/// A `build` table as the backend builds it: the context taken from `dir`.
fn build_spec(build: &ImageBuild, dir: &Path) -> ImageSpec {
    let context = dir.join(&build.context.value);
    ImageSpec::Build {
        context: context
            .canonicalize()
            .or_else(|_| std::path::absolute(&context))
            .unwrap_or(context),
        dockerfile: build.dockerfile.clone(),
    }
}

fn check_claims(file: &ScenarioFile, on_host: bool, run: &mut ScenarioRun) {
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
                if on_host {
                    run.problems.push(
                        "claim `execution_should_be_hermetic`: the steps ran on the host (local backend)".into(),
                    );
                }
            }
        }
    }
    if !file.expect.is_empty() {
        run.unsupported.push((
            "span expectations (`[expect.*]`) are not supported yet: the scenario fails rather than pass unchecked"
                .into(),
            None,
        ));
    }
}
