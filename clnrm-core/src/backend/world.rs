//! The scenario's world: its images, network, services and runner container,
//! created in that order and removed, forced and time-bounded, on drop.
//!
//! The runner is created with no network (a scenario without services needs
//! none); everything is labelled with the run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use tokio::runtime::Runtime;

use super::build::build;
use super::cancel::CancelToken;
use super::engine::{connect, engine_failed, engine_unreachable, run_id, run_labels};
use super::error::BackendError;
use super::image::{ImageSpec, PullPolicy, ensure_named, how_to_get};
use super::slots::{Slots, acquire as acquire_slots};
use super::span_route::refuse_remote_engine;
use super::spec::{BindMount, PublishedPort, WorldSpec};

/// How long teardown may take before it is given up (the labels still let
/// `docker ps --filter label=clnrm.run` find what is left).
const TEARDOWN_LIMIT: Duration = Duration::from_secs(10);

/// What `create_container` makes.
pub(super) struct NewContainer<'a> {
    pub(super) image: &'a str,
    pub(super) entrypoint: Option<Vec<String>>,
    pub(super) cmd: Vec<String>,
    pub(super) env: &'a [(String, String)],
    /// The service id: its network alias.
    pub(super) alias: Option<&'a str>,
    pub(super) ports: &'a [u16],
    pub(super) mounts: Vec<bollard::models::Mount>,
    pub(super) working_dir: Option<&'a str>,
}

/// How a service's container was made, to make another like it for a step
/// once the service has exited (as `docker compose run` does).
#[derive(Debug, Clone)]
pub(super) struct ServiceRun {
    pub(super) image: String,
    pub(super) env: Vec<(String, String)>,
    pub(super) mounts: Vec<bollard::models::Mount>,
    pub(super) working_dir: Option<String>,
}

/// One scenario's world: its network (only with services), its services and
/// its runner container. Dropping it removes all of them, forced and bounded.
#[derive(Debug)]
pub struct ContainerBackend {
    pub(super) runtime: Runtime,
    pub(super) docker: Docker,
    network: Option<String>,
    /// Every container created, for teardown.
    created: Vec<String>,
    /// The image of each container created, by id (for messages).
    pub(super) images: HashMap<String, String>,
    pub(super) runner: Option<String>,
    /// The crate's binaries mounted into the runner, at their host paths.
    pub(super) mounted: Vec<std::path::PathBuf>,
    pub(super) services: Vec<(String, String)>,
    /// How each service's container was made, by service id.
    pub(super) service_runs: HashMap<String, ServiceRun>,
    /// `[limits]`, applied to every container of the scenario.
    pub(super) limits: super::spec::ContainerLimits,
    /// Service ports published on the host (steps on the host reach them there).
    published: Vec<PublishedPort>,
    /// `NAME:ADDRESS` entries every container gets (the span receiver's names).
    pub(super) extra_hosts: Vec<String>,
    /// Where the containers export spans (`http://NAME:PORT`), when collected.
    pub(super) span_endpoint: Option<String>,
    /// The receiver, also watched by `wait_for_span`.
    pub(super) span_receiver: Option<std::sync::Arc<crate::receiver::Receiver>>,
    /// Each container started: when, its role, its image (for the run trace).
    pub(super) starts: Vec<(std::time::SystemTime, String, String)>,
    /// Whether the services were stopped (before spans were judged).
    pub(super) services_stopped: std::sync::atomic::AtomicBool,
    /// The labels on everything the world creates.
    labels: HashMap<String, String>,
    /// The out-of-memory kills last counted in each container.
    pub(super) memory_kills: std::sync::Mutex<HashMap<String, u64>>,
    /// Container slots under the global cap; last, so they are freed only
    /// after `Drop::drop` removed the containers.
    _slots: Slots,
}

fn refused(what: &str, image: &str, error: bollard::errors::Error) -> BackendError {
    match error {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => BackendError::Image {
            image: image.to_string(),
            message: format!(
                "image `{image}` is not available locally: {}",
                how_to_get(image)
            ),
        },
        e @ bollard::errors::Error::DockerResponseServerError { .. } => {
            BackendError::Engine(format!("the engine refused {what}: {e}"))
        }
        e => engine_unreachable(e),
    }
}

/// The name of the image to create a container from: `spec` found, pulled
/// or built, as the pull policy says.
fn resolve_image(
    runtime: &Runtime,
    docker: &Docker,
    spec: &ImageSpec,
    pull: PullPolicy,
    cancel: &CancelToken,
) -> Result<String, BackendError> {
    let started = Instant::now();
    let image = match spec {
        ImageSpec::Named(image) => {
            runtime.block_on(ensure_named(docker, image, pull, cancel))?;
            image.clone()
        }
        ImageSpec::Build {
            context,
            dockerfile,
        } => build(
            runtime,
            docker,
            context,
            dockerfile.as_deref(),
            pull,
            cancel,
        )?,
    };
    tracing::debug!(%image, %pull, elapsed_ms = started.elapsed().as_millis() as u64, "image ready");
    Ok(image)
}

/// The run's labels, and [`super::leftovers::KEEP_LABEL`] when the world may be kept.
fn world_labels(may_keep: bool) -> HashMap<String, String> {
    let mut labels = run_labels();
    if may_keep {
        labels.insert(super::leftovers::KEEP_LABEL.into(), "true".into());
    }
    labels
}

impl ContainerBackend {
    /// Starts the scenario's world: its images (found, pulled or built, before
    /// anything is created), then a network and the services when there are
    /// any (each waited for by its health check), then the runner container
    /// when steps run in one.
    pub fn start(spec: &WorldSpec, cancel: &CancelToken) -> Result<Self, BackendError> {
        if spec.spans.is_some() && (spec.runner.is_some() || !spec.services.is_empty()) {
            refuse_remote_engine()?;
        }
        let (runtime, docker) = connect()?;
        // What runs killed before their teardown left goes now.
        super::leftovers::sweep_once();
        let resolve =
            |image: &ImageSpec| resolve_image(&runtime, &docker, image, spec.pull, cancel);
        let service_images = spec
            .services
            .iter()
            .map(|s| resolve(&s.image))
            .collect::<Result<Vec<String>, BackendError>>()?;
        let runner_image = spec.runner.as_ref().map(resolve).transpose()?;
        let wanted = spec.services.len() + usize::from(runner_image.is_some());
        let slots = acquire_slots(wanted, spec.max_containers, cancel)
            .map_err(|e| BackendError::Engine(format!("cannot take a container slot: {e}")))?
            .ok_or_else(|| {
                BackendError::Engine("cancelled while waiting for a container slot".into())
            })?;
        // Owned from here on: whatever fails below, Drop removes what exists.
        let mut world = Self {
            runtime,
            docker,
            network: None,
            created: Vec::new(),
            images: HashMap::new(),
            runner: None,
            mounted: Vec::new(),
            services: Vec::new(),
            service_runs: HashMap::new(),
            limits: spec.limits,
            published: Vec::new(),
            extra_hosts: Vec::new(),
            span_endpoint: None,
            span_receiver: None,
            starts: Vec::new(),
            services_stopped: std::sync::atomic::AtomicBool::new(false),
            labels: world_labels(spec.may_keep),
            memory_kills: std::sync::Mutex::default(),
            _slots: slots,
        };
        let spans = spec.spans.as_ref().filter(|_| wanted > 0);
        if !spec.services.is_empty() || spans.is_some() {
            // Steps on the host reach services through published ports, which an
            // internal network cannot have; steps in containers need no route out.
            world.create_network(!spec.publish)?;
        }
        if let Some(route) = spans {
            world.route_spans(route)?;
        }
        if !spec.services.is_empty() {
            // Services whose health checks were waited for already.
            let mut healthy: Vec<&str> = Vec::new();
            for (service, image) in spec.services.iter().zip(&service_images) {
                for dependency in &service.depends_on {
                    let check = (spec.services.iter())
                        .find(|s| s.id == *dependency)
                        .and_then(|s| s.health_check.as_ref());
                    if let Some(check) = check
                        && !healthy.contains(&dependency.as_str())
                    {
                        world.wait_healthy(dependency, check, cancel)?;
                        healthy.push(dependency);
                    }
                }
                let env = match spans {
                    Some(route) => world.with_span_env(&service.env, route),
                    None => service.env.clone(),
                };
                let ports = if spec.publish {
                    service.ports.as_slice()
                } else {
                    &[]
                };
                let mounts: Vec<_> = service.volumes.iter().map(BindMount::to_engine).collect();
                world.service_runs.insert(
                    service.id.clone(),
                    ServiceRun {
                        image: image.clone(),
                        env: env.clone(),
                        mounts: mounts.clone(),
                        working_dir: service.working_dir.clone(),
                    },
                );
                let id = world.create_container(NewContainer {
                    image,
                    entrypoint: None,
                    cmd: service.args.clone(),
                    env: &env,
                    alias: Some(&service.id),
                    ports,
                    mounts,
                    working_dir: service.working_dir.as_deref(),
                })?;
                tracing::debug!(service = %service.id, %image, "service started");
                world.services.push((service.id.clone(), id.clone()));
                for (container_port, host_port) in world.published_ports(&id, ports)? {
                    world
                        .published
                        .push((service.id.clone(), container_port, host_port));
                }
            }
            for service in &spec.services {
                if let Some(check) = &service.health_check
                    && !healthy.contains(&service.id.as_str())
                {
                    world.wait_healthy(&service.id, check, cancel)?;
                }
            }
            let deadline = Instant::now() + spec.start_limit;
            for service in &spec.services {
                if let Some(span) = &service.wait_for_span {
                    world.wait_for_span(&service.id, span, deadline, cancel)?;
                }
            }
            world.check_services_alive()?;
        }
        if let Some(image) = &runner_image {
            // The crate's binaries, at the same path, so `bin.<name>` holds inside.
            // Each path once: the engine refuses a duplicate mount point.
            let mut paths: Vec<&std::path::PathBuf> =
                spec.binaries.iter().filter(|b| b.is_file()).collect();
            paths.sort();
            paths.dedup();
            world.mounted = paths.iter().map(|b| b.to_path_buf()).collect();
            let mounts = paths
                .iter()
                .map(|b| {
                    BindMount {
                        host: b.to_path_buf(),
                        container: b.to_string_lossy().into_owned(),
                        read_only: true,
                    }
                    .to_engine()
                })
                .collect();
            // Keep the runner alive between execs, whatever the image's command.
            let id = world.create_container(NewContainer {
                image,
                entrypoint: Some(vec!["sleep".into()]),
                cmd: vec!["2147483647".into()],
                env: &[],
                alias: None,
                ports: &[],
                mounts,
                working_dir: None,
            })?;
            world.runner = Some(id);
        }
        Ok(world)
    }

    /// The scenario network's name, once created.
    pub(super) fn network_name(&self) -> Option<&str> {
        self.network.as_deref()
    }

    fn create_network(&mut self, internal: bool) -> Result<(), BackendError> {
        let name = format!("clnrm-{}-{:08x}", run_id(), fastrand::u32(..));
        let request = bollard::models::NetworkCreateRequest {
            name: name.clone(),
            // No route out: the scenario's world is its own.
            internal: Some(internal),
            labels: Some(self.labels.clone()),
            ..Default::default()
        };
        self.runtime
            .block_on(self.docker.create_network(request))
            .map_err(|e| refused("the scenario's network", "", e))?;
        self.network = Some(name);
        Ok(())
    }

    /// What the engine is asked to create for `new`: on the scenario's
    /// network (its alias there), unprivileged, under the limits, labelled.
    pub(super) fn container_body(&self, new: NewContainer<'_>) -> ContainerCreateBody {
        let NewContainer {
            image,
            entrypoint,
            cmd,
            env,
            alias,
            ports,
            mounts,
            working_dir,
        } = new;
        // Random host ports, on the loopback interface only.
        let port_bindings: bollard::models::PortMap = ports
            .iter()
            .map(|port| {
                let binding = bollard::models::PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(String::new()),
                };
                (format!("{port}/tcp"), Some(vec![binding]))
            })
            .collect();
        let networking_config = match (&self.network, alias) {
            (Some(network), Some(alias)) => Some(bollard::models::NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    bollard::models::EndpointSettings {
                        aliases: Some(vec![alias.to_string()]),
                        ..Default::default()
                    },
                )])),
            }),
            _ => None,
        };
        ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint,
            cmd: (!cmd.is_empty()).then_some(cmd),
            exposed_ports: (!ports.is_empty())
                .then(|| ports.iter().map(|p| format!("{p}/tcp")).collect()),
            env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: working_dir.map(str::to_string),
            labels: Some(self.labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.clone().unwrap_or_else(|| "none".into())),
                privileged: Some(false),
                init: Some(true),
                memory: self.limits.memory_mb.map(|mb| i64::from(mb) * 1024 * 1024),
                nano_cpus: self.limits.cpu_millicores.map(|m| i64::from(m) * 1_000_000),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                mounts: (!mounts.is_empty()).then_some(mounts),
                extra_hosts: (!self.extra_hosts.is_empty()).then(|| self.extra_hosts.clone()),
                ..HostConfig::default()
            }),
            networking_config,
            ..ContainerCreateBody::default()
        }
    }

    fn create_container(&mut self, new: NewContainer<'_>) -> Result<String, BackendError> {
        let (image, alias) = (new.image, new.alias);
        let body = self.container_body(new);
        let name = format!("clnrm-{}-{:08x}", run_id(), fastrand::u32(..));
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let what = match alias {
            Some(id) => format!("service `{id}`"),
            None => "the runner container".to_string(),
        };
        let started = std::time::SystemTime::now();
        let id = self
            .runtime
            .block_on(self.docker.create_container(Some(options), body))
            .map_err(|e| refused(&what, image, e))?
            .id;
        self.created.push(id.clone());
        self.images.insert(id.clone(), image.to_string());
        self.runtime
            .block_on(self.docker.start_container(&id, None))
            .map_err(|e| engine_failed(&format!("{what} did not start"), e))?;
        let role = alias.map_or_else(|| "runner".to_string(), |id| format!("service {id}"));
        self.starts.push((started, role, image.to_string()));
        Ok(id)
    }

    /// The host ports the engine chose for `ports` of `container`.
    fn published_ports(
        &self,
        container: &str,
        ports: &[u16],
    ) -> Result<Vec<(u16, u16)>, BackendError> {
        if ports.is_empty() {
            return Ok(Vec::new());
        }
        let inspected = self
            .runtime
            .block_on(self.docker.inspect_container(container, None))
            .map_err(|e| BackendError::Engine(format!("cannot read a service's ports: {e}")))?;
        let map = inspected
            .network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default();
        Ok(ports
            .iter()
            .filter_map(|port| {
                let bindings = map.get(&format!("{port}/tcp"))?.as_ref()?;
                let host = bindings
                    .iter()
                    .find_map(|b| b.host_port.as_deref()?.parse().ok())?;
                Some((*port, host))
            })
            .collect())
    }

    /// Keeps everything for debugging: nothing is removed when this drops.
    /// Returns the containers by role (`runner` or `service <id>`).
    pub fn keep(&mut self) -> Vec<(String, String)> {
        self.created.clear();
        self.network = None;
        let mut kept: Vec<(String, String)> = self
            .services
            .iter()
            .map(|(id, container)| (format!("service `{id}`"), container.clone()))
            .collect();
        if let Some(runner) = &self.runner {
            kept.push(("runner".into(), runner.clone()));
        }
        kept
    }

    /// Each container started: when, its role (`runner`, `service ID`), its image.
    pub fn container_starts(&self) -> &[(std::time::SystemTime, String, String)] {
        &self.starts
    }

    /// How many containers teardown removes.
    pub fn containers_to_remove(&self) -> usize {
        self.created.len()
    }

    /// Service ports published on the host.
    pub fn published(&self) -> &[PublishedPort] {
        &self.published
    }

    /// The container of service `service`, for tests and debugging.
    pub fn service_container(&self, service: &str) -> Option<&str> {
        self.services
            .iter()
            .find(|(id, _)| id == service)
            .map(|(_, c)| c.as_str())
    }

    /// The runner container, for tests and debugging.
    #[cfg(test)]
    pub fn runner_id(&self) -> Option<&str> {
        self.runner.as_deref()
    }
}

/// Between attempts to remove something while the engine does not answer.
const REMOVAL_RETRY: Duration = Duration::from_millis(200);

/// Tries `remove` until it succeeds or the object is gone (404): an engine
/// that went away for a moment is waited for, within the teardown's limit.
async fn until_removed<F, Fut>(mut remove: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), bollard::errors::Error>>,
{
    loop {
        match remove().await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return,
            Err(e) => {
                tracing::debug!(error = %e, "removal failed; trying again");
                tokio::time::sleep(REMOVAL_RETRY).await;
            }
        }
    }
}

impl Drop for ContainerBackend {
    /// Forced, time-bounded removal of everything, whatever ended the scenario.
    fn drop(&mut self) {
        let started = Instant::now();
        let docker = &self.docker;
        let containers = std::mem::take(&mut self.created);
        let network = self.network.take();
        let teardown = async {
            let removals = containers.iter().map(|id| {
                until_removed(move || {
                    let options = RemoveContainerOptionsBuilder::default()
                        .force(true)
                        .v(true)
                        .build();
                    docker.remove_container(id, Some(options))
                })
            });
            futures_util::future::join_all(removals).await;
            if let Some(network) = &network {
                until_removed(|| docker.remove_network(network)).await;
            }
        };
        let removed = containers.len();
        let finished = self
            .runtime
            .block_on(async { tokio::time::timeout(TEARDOWN_LIMIT, teardown).await })
            .is_ok();
        tracing::debug!(
            containers = removed,
            finished,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "teardown"
        );
    }
}
