//! Where a scenario's steps run: a fresh directory on the host or the
//! scenario's containers, prepared before the first step and removed after the
//! last, and each step's working directory and environment there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::{
    Backend, BackendError, ContainerBackend, ImageSpec, LocalBackend, ServiceSpec, SpanRoute,
    WorldSpec,
};
use crate::scenario::{Backend as BackendKind, Scenario, ScenarioFile, Step};

use super::mapping::{build_spec, container_limits, image_span, service_specs};
use super::record::ScenarioRun;
use super::scratch::ScratchDir;
use super::settings::RunSettings;
use super::unavailable::Unavailable;

/// Where a scenario's steps run, owning what was created for it.
pub(super) enum Place {
    /// On the host, in a fresh directory; the file's services (if any) run as
    /// containers with their ports published on the host.
    Host(LocalBackend, ScratchDir, Option<Box<ContainerBackend>>),
    /// In the scenario's runner container.
    Container(Box<ContainerBackend>),
}

impl Place {
    pub(super) fn prepare(
        file: &ScenarioFile,
        scenario: &Scenario,
        dir: &Path,
        scenario_timeout: Duration,
        settings: &RunSettings,
        spans: Option<SpanRoute>,
    ) -> Result<Self, Unavailable> {
        let limits = container_limits(file.limits.as_ref(), scenario.policy.as_ref());
        let world = |runner: Option<ImageSpec>, services: Vec<ServiceSpec>, publish: bool| {
            let binaries = match runner {
                Some(_) => named_binaries(
                    scenario,
                    (settings.binaries.iter()).chain(settings.crate_binaries.get().values()),
                ),
                None => Vec::new(),
            };
            let spec = WorldSpec {
                runner,
                services,
                limits,
                publish,
                binaries,
                max_containers: settings.max_containers,
                pull: settings.pull,
                start_limit: scenario_timeout,
                spans: spans.clone(),
                may_keep: settings.keep_on_failure,
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
                let scratch = settings.scratch.take().map_err(|e| {
                    Unavailable::Setup(
                        format!("cannot create the scenario's working directory: {e}"),
                        None,
                    )
                })?;
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
    pub(super) fn world(&self) -> Option<&ContainerBackend> {
        match self {
            Place::Host(_, _, world) => world.as_deref(),
            Place::Container(world) => Some(world),
        }
    }

    /// Whether `step` runs in a container (the runner, or its `service`).
    pub(super) fn in_container(&self, step: &Step) -> bool {
        matches!(self, Place::Container(_)) || step.service.is_some()
    }

    pub(super) fn backend_for(&self, step: &Step) -> &dyn Backend {
        match (self, self.world()) {
            (Place::Host(local, _, _), _) if step.service.is_none() => local,
            (_, Some(world)) => world,
            (Place::Host(local, _, _), None) => local,
            (Place::Container(world), None) => world.as_ref(),
        }
    }

    /// On the host a relative `workdir` is inside the scenario's directory;
    /// in a container, relative to `/`, and the image's own by default.
    pub(super) fn workdir(&self, step: &Step) -> Option<PathBuf> {
        match (self, &step.workdir) {
            (_, Some(dir)) if self.in_container(step) => Some(Path::new("/").join(dir)),
            (_, None) if self.in_container(step) => None,
            (Place::Host(_, scratch, _), Some(dir)) => Some(scratch.path().join(dir)),
            (Place::Host(_, scratch, _), None) => Some(scratch.path().to_path_buf()),
            (Place::Container(_), _) => None,
        }
    }

    /// The contents of `path` after the steps: in the scenario's working
    /// directory on the host, or in the runner container.
    pub(super) fn read_file(&self, path: &Path) -> Result<Vec<u8>, String> {
        match self {
            Place::Host(_, scratch, _) => {
                std::fs::read(scratch.path().join(path)).map_err(|e| e.to_string())
            }
            Place::Container(world) => world.read_runner_file(path).map_err(|e| e.to_string()),
        }
    }

    /// On the host: PATH, the configured passthrough variables, where each
    /// service is (`CLNRM_SERVICE_<ID>_HOST`, `CLNRM_SERVICE_<ID>_PORT_<PORT>`),
    /// then the step's own `env`. In a container the image's environment stands
    /// in for the host's, so only passthrough and the step's `env` are added.
    pub(super) fn environment(&self, step: &Step, settings: &RunSettings) -> Vec<(String, String)> {
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
pub(super) fn keep_for_debugging(place: &mut Place, run: &mut ScenarioRun) {
    let world = match place {
        Place::Host(_, _, Some(world)) => world,
        Place::Container(world) => world,
        Place::Host(_, _, None) => return,
    };
    let stopped = world.services_stopped();
    for (role, container) in world.keep() {
        let short = &container[..container.len().min(12)];
        // Services were stopped so that their SDKs flushed their spans.
        let look = if stopped && role != "runner" {
            format!(
                "stopped after the steps (its spans flushed): `docker logs {short}`, or `docker start {short}` then `docker exec -it {short} sh`"
            )
        } else {
            format!("`docker exec -it {short} sh` to look inside")
        };
        run.notes.push(format!(
            "kept {role}: {look}; `docker rm -f {short}` (or `cargo clnrm clean` once this run ended) to remove it"
        ));
    }
}

/// The crate's binaries that the scenario's runner steps name (in their
/// command, environment, stdin or working directory): only those are
/// mounted into its runner, not every binary the crate builds.
fn named_binaries<'a>(
    scenario: &Scenario,
    binaries: impl Iterator<Item = &'a PathBuf>,
) -> Vec<PathBuf> {
    let texts: Vec<&str> = (scenario.steps.iter())
        .filter(|step| step.service.is_none())
        .flat_map(|step| {
            (step.command.value.iter().map(String::as_str))
                .chain(step.env.iter().map(|(_, v)| v.as_str()))
                .chain(step.stdin.as_deref())
                .chain(step.workdir.as_deref())
        })
        .collect();
    binaries
        .filter(|binary| {
            let path = binary.to_string_lossy();
            texts.iter().any(|text| text.contains(path.as_ref()))
        })
        .cloned()
        .collect()
}
