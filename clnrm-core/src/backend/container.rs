//! The container backend: one runner container per scenario, each step exec'd
//! into it as argv through the engine's API (no CLI, no shell).
//!
//! The container is created with no network (a scenario without services needs
//! none), labelled with the run, and removed, forced and time-bounded, when the
//! scope ends. A step that reaches its limit kills the container: the scenario
//! ends there anyway, and an exec cannot be killed on its own.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;

use super::image::{ImageSpec, PullPolicy};
use super::{Backend, BackendError, CancelToken, StepEnd, StepOutput, StepRequest};

/// How long teardown may take before it is given up (the labels still let
/// `docker ps --filter label=clnrm.run` find what is left).
const TEARDOWN_LIMIT: Duration = Duration::from_secs(10);
/// How often a service's output is read while waiting for its span.
const SPAN_POLL: Duration = Duration::from_millis(100);
/// How often a running exec checks the cancellation token.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Labels on everything a run creates: which run, which process, which host.
pub fn run_labels() -> HashMap<String, String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    HashMap::from([
        ("clnrm.run".to_string(), run_id()),
        ("clnrm.pid".to_string(), std::process::id().to_string()),
        ("clnrm.host".to_string(), host.trim().to_string()),
    ])
}

fn run_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{}-{:08x}", std::process::id(), fastrand::u32(..)))
        .clone()
}

/// The engine the process talks to: `DOCKER_HOST`, else the local socket.
fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// A service to start on the scenario's network, reachable by its id.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub id: String,
    pub image: ImageSpec,
    /// The container's command (the image's entrypoint is kept).
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub health_check: Option<crate::scenario::HealthCheck>,
    /// Container ports to publish on the host (for steps that run there).
    pub ports: Vec<u16>,
    /// Host folders or files bound into the container: exactly these.
    pub volumes: Vec<BindMount>,
    /// Start-up is complete when the service has printed a span of this name.
    pub wait_for_span: Option<String>,
}

/// A host path bound into a container. The path is the engine's machine's:
/// with a remote `DOCKER_HOST` it must exist there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// Absolute.
    pub host: std::path::PathBuf,
    /// Absolute, in the container.
    pub container: String,
    pub read_only: bool,
}

impl BindMount {
    fn to_engine(&self) -> bollard::models::Mount {
        bollard::models::Mount {
            source: Some(self.host.to_string_lossy().into_owned()),
            target: Some(self.container.clone()),
            typ: Some(bollard::models::MountType::BIND),
            read_only: Some(self.read_only),
            ..Default::default()
        }
    }
}

/// Everything one scenario's world is made of.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    /// The runner container's image, when some step runs in one.
    pub runner: Option<ImageSpec>,
    pub services: Vec<ServiceSpec>,
    /// `[limits]`, applied to every container.
    pub limits: crate::scenario::Limits,
    /// Publish the services' `ports` on 127.0.0.1, for steps on the host.
    pub publish: bool,
    /// The crate's binaries, mounted read-only into the runner at the same path.
    pub binaries: Vec<std::path::PathBuf>,
    /// The global cap on running containers.
    pub max_containers: usize,
    pub pull: PullPolicy,
    /// How long services may take to print their `wait_for_span` span.
    pub start_limit: Duration,
}

impl Default for WorldSpec {
    fn default() -> Self {
        Self {
            runner: None,
            services: Vec::new(),
            limits: crate::scenario::Limits::default(),
            publish: false,
            binaries: Vec::new(),
            max_containers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            pull: PullPolicy::default(),
            start_limit: Duration::from_secs(15 * 60),
        }
    }
}

/// What `create_container` makes.
struct NewContainer<'a> {
    image: &'a str,
    entrypoint: Option<Vec<String>>,
    cmd: Vec<String>,
    env: &'a [(String, String)],
    /// The service id: its network alias.
    alias: Option<&'a str>,
    ports: &'a [u16],
    mounts: Vec<bollard::models::Mount>,
}

/// A service port published on the host: (service id, container port, host port).
pub type PublishedPort = (String, u16, u16);

/// One scenario's world: its network (only with services), its services and
/// its runner container. Dropping it removes all of them, forced and bounded.
#[derive(Debug)]
pub struct ContainerBackend {
    runtime: Runtime,
    docker: Docker,
    network: Option<String>,
    /// Every container created, for teardown.
    created: Vec<String>,
    /// The image of each container created, by id (for messages).
    images: HashMap<String, String>,
    runner: Option<String>,
    /// The crate's binaries mounted into the runner, at their host paths.
    mounted: Vec<std::path::PathBuf>,
    services: Vec<(String, String)>,
    /// `[limits]`, applied to every container of the scenario.
    limits: crate::scenario::Limits,
    /// Service ports published on the host (steps on the host reach them there).
    published: Vec<PublishedPort>,
    /// Container slots under the global cap; last, so they are freed only
    /// after `Drop::drop` removed the containers.
    _slots: super::Slots,
}

pub(crate) fn engine_unreachable(error: impl std::fmt::Display) -> BackendError {
    BackendError::Engine(format!(
        "cannot reach the Docker engine at {} ({error}): start Docker, or point DOCKER_HOST at a running engine",
        engine_address()
    ))
}

fn refused(what: &str, image: &str, error: bollard::errors::Error) -> BackendError {
    match error {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => BackendError::Image {
            image: image.to_string(),
            message: format!(
                "image `{image}` is not available locally: {}",
                super::image::how_to_get(image)
            ),
        },
        e @ bollard::errors::Error::DockerResponseServerError { .. } => {
            BackendError::Engine(format!("the engine refused {what}: {e}"))
        }
        e => engine_unreachable(e),
    }
}

impl ContainerBackend {
    /// Starts the scenario's world: its images (found, pulled or built, before
    /// anything is created), then a network and the services when there are
    /// any (each waited for by its health check), then the runner container
    /// when steps run in one.
    pub fn start(spec: &WorldSpec, cancel: &CancelToken) -> Result<Self, BackendError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackendError::Engine(format!("cannot start the engine client: {e}")))?;
        let docker = Docker::connect_with_defaults().map_err(engine_unreachable)?;
        let resolve =
            |image: &ImageSpec| super::image::resolve(&runtime, &docker, image, spec.pull, cancel);
        let service_images = spec
            .services
            .iter()
            .map(|s| resolve(&s.image))
            .collect::<Result<Vec<String>, BackendError>>()?;
        let runner_image = spec.runner.as_ref().map(resolve).transpose()?;
        let wanted = spec.services.len() + usize::from(runner_image.is_some());
        let slots = super::acquire_slots(wanted, spec.max_containers, cancel)
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
            limits: spec.limits.clone(),
            published: Vec::new(),
            _slots: slots,
        };
        if !spec.services.is_empty() {
            // Steps on the host reach services through published ports, which an
            // internal network cannot have; steps in containers need no route out.
            world.create_network(!spec.publish)?;
            for (service, image) in spec.services.iter().zip(&service_images) {
                let ports = if spec.publish {
                    service.ports.as_slice()
                } else {
                    &[]
                };
                let id = world.create_container(NewContainer {
                    image,
                    entrypoint: None,
                    cmd: service.args.clone(),
                    env: &service.env,
                    alias: Some(&service.id),
                    ports,
                    mounts: service.volumes.iter().map(BindMount::to_engine).collect(),
                })?;
                world.services.push((service.id.clone(), id.clone()));
                for (container_port, host_port) in world.published_ports(&id, ports)? {
                    world
                        .published
                        .push((service.id.clone(), container_port, host_port));
                }
            }
            for service in &spec.services {
                if let Some(check) = &service.health_check {
                    world.wait_healthy(&service.id, check, cancel)?;
                }
            }
            let deadline = Instant::now() + spec.start_limit;
            for service in &spec.services {
                if let Some(span) = &service.wait_for_span {
                    world.wait_for_span(&service.id, span, deadline, cancel)?;
                }
            }
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
            })?;
            world.runner = Some(id);
        }
        Ok(world)
    }

    fn create_network(&mut self, internal: bool) -> Result<(), BackendError> {
        let name = format!("clnrm-{}-{:08x}", run_id(), fastrand::u32(..));
        let request = bollard::models::NetworkCreateRequest {
            name: name.clone(),
            // No route out: the scenario's world is its own.
            internal: Some(internal),
            labels: Some(run_labels()),
            ..Default::default()
        };
        self.runtime
            .block_on(self.docker.create_network(request))
            .map_err(|e| refused("the scenario's network", "", e))?;
        self.network = Some(name);
        Ok(())
    }

    fn create_container(&mut self, new: NewContainer<'_>) -> Result<String, BackendError> {
        let NewContainer {
            image,
            entrypoint,
            cmd,
            env,
            alias,
            ports,
            mounts,
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
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint,
            cmd: (!cmd.is_empty()).then_some(cmd),
            exposed_ports: (!ports.is_empty())
                .then(|| ports.iter().map(|p| format!("{p}/tcp")).collect()),
            env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(run_labels()),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.clone().unwrap_or_else(|| "none".into())),
                privileged: Some(false),
                init: Some(true),
                memory: self.limits.memory_mb.map(|mb| i64::from(mb) * 1024 * 1024),
                nano_cpus: self.limits.cpu_millicores.map(|m| i64::from(m) * 1_000_000),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                mounts: (!mounts.is_empty()).then_some(mounts),
                ..HostConfig::default()
            }),
            networking_config,
            ..ContainerCreateBody::default()
        };
        let name = format!("clnrm-{}-{:08x}", run_id(), fastrand::u32(..));
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let what = match alias {
            Some(id) => format!("service `{id}`"),
            None => "the runner container".to_string(),
        };
        let id = self
            .runtime
            .block_on(self.docker.create_container(Some(options), body))
            .map_err(|e| refused(&what, image, e))?
            .id;
        self.created.push(id.clone());
        self.images.insert(id.clone(), image.to_string());
        self.runtime
            .block_on(self.docker.start_container(&id, None))
            .map_err(|e| BackendError::Engine(format!("{what} did not start: {e}")))?;
        Ok(id)
    }

    /// Runs the health check until it passes, within its retries.
    fn wait_healthy(
        &self,
        service: &str,
        check: &crate::scenario::HealthCheck,
        cancel: &CancelToken,
    ) -> Result<(), BackendError> {
        let container = self
            .service_container(service)
            .unwrap_or_default()
            .to_string();
        let interval = check.interval.unwrap_or(Duration::from_millis(500));
        let retries = check.retries.unwrap_or(30).max(1);
        let request = StepRequest {
            argv: check.cmd.clone(),
            env: Vec::new(),
            workdir: None,
            stdin: None,
            timeout: check.timeout.unwrap_or(Duration::from_secs(5)),
            service: Some(service.to_string()),
        };
        let mut last = String::new();
        for attempt in 1..=retries {
            match self
                .runtime
                .block_on(self.exec(&container, &request, cancel))
            {
                Ok(output) if output.exit_code == Some(0) => return Ok(()),
                Ok(output) => {
                    last = format!(
                        "exit code {:?}: {}{}",
                        output.exit_code,
                        output.stdout.trim(),
                        output.stderr.trim()
                    );
                }
                Err(e) => last = e.to_string(),
            }
            if cancel.is_cancelled() {
                break;
            }
            if attempt < retries {
                std::thread::sleep(interval);
            }
        }
        Err(BackendError::Engine(format!(
            "service `{service}` did not pass its health check {:?} after {retries} tries (last: {last})",
            check.cmd
        )))
    }

    /// Reads the service's stdout until it shows a span named `span`
    /// (see [`super::spans`]), the service exits, or `deadline` passes.
    fn wait_for_span(
        &self,
        service: &str,
        span: &str,
        deadline: Instant,
        cancel: &CancelToken,
    ) -> Result<(), BackendError> {
        let container = self.service_container(service).unwrap_or_default();
        loop {
            let output = self.output_of(container, None, false);
            if super::spans::has_span(&output, span) {
                return Ok(());
            }
            let running = self
                .runtime
                .block_on(self.docker.inspect_container(container, None))
                .ok()
                .and_then(|c| c.state?.running)
                .unwrap_or(false);
            let problem = if !running {
                Some("exited first")
            } else if Instant::now() >= deadline {
                Some("timed out (the scenario's timeout)")
            } else if cancel.is_cancelled() {
                Some("was cancelled")
            } else {
                None
            };
            if let Some(problem) = problem {
                let last: Vec<&str> = output.lines().rev().take(5).collect();
                let last: Vec<&str> = last.into_iter().rev().collect();
                return Err(BackendError::Engine(format!(
                    "service `{service}` {problem} before printing a span named `{span}` (its last output: {:?})",
                    last.join("\n")
                )));
            }
            std::thread::sleep(SPAN_POLL);
        }
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

    /// The last `lines` of each service's output, for failure reports.
    pub fn service_logs(&self, lines: usize) -> Vec<(String, String)> {
        self.services
            .iter()
            .map(|(service, container)| {
                (
                    service.clone(),
                    self.output_of(container, Some(lines), true),
                )
            })
            .collect()
    }

    /// A container's stdout (and stderr), the last `tail` lines or all of it.
    fn output_of(&self, container: &str, tail: Option<usize>, stderr: bool) -> String {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let options = bollard::query_parameters::LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(stderr)
            .tail(&tail)
            .build();
        let collect = async {
            let mut text = Vec::new();
            let mut stream = self.docker.logs(container, Some(options));
            while let Some(Ok(chunk)) = stream.next().await {
                text.extend_from_slice(&chunk.into_bytes());
            }
            text
        };
        let text = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), collect).await })
            .unwrap_or_default();
        String::from_utf8_lossy(&text).into_owned()
    }

    /// The runner container, for tests and debugging.
    pub fn runner_id(&self) -> Option<&str> {
        self.runner.as_deref()
    }

    fn kill(&self, container: &str) {
        let _ = self
            .runtime
            .block_on(self.docker.kill_container(container, None));
    }

    async fn exec(
        &self,
        container: &str,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        let started = Instant::now();
        let env: Vec<String> = request
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let options = CreateExecOptions {
            cmd: Some(request.argv.clone()),
            env: Some(env),
            working_dir: request
                .workdir
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned()),
            attach_stdin: Some(request.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..CreateExecOptions::default()
        };
        let exec = self
            .docker
            .create_exec(container, options)
            .await
            .map_err(|e| {
                BackendError::Engine(format!("cannot run the step in the container: {e}"))
            })?;
        let started_exec = self
            .docker
            .start_exec(&exec.id, Some(StartExecOptions::default()))
            .await
            .map_err(|e| {
                BackendError::Engine(format!("cannot run the step in the container: {e}"))
            })?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started_exec
        else {
            return Err(BackendError::Engine("the engine detached the step".into()));
        };
        if let Some(text) = &request.stdin {
            let _ = input.write_all(text.as_bytes()).await;
        }
        // Closing our side is the program's end of input.
        let _ = input.shutdown().await;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let deadline = tokio::time::Instant::from_std(started + request.timeout);
        let end = loop {
            let tick =
                tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + CANCEL_POLL));
            tokio::select! {
                chunk = output.next() => match chunk {
                    Some(Ok(LogOutput::StdOut { message })) => stdout.extend_from_slice(&message),
                    Some(Ok(LogOutput::StdErr { message })) => stderr.extend_from_slice(&message),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break StepEnd::Exited,
                },
                () = tick => {
                    if tokio::time::Instant::now() >= deadline {
                        break StepEnd::TimedOut;
                    }
                    if cancel.is_cancelled() {
                        break StepEnd::Cancelled;
                    }
                }
            }
        };
        let exit_code = match end {
            StepEnd::Exited => self
                .docker
                .inspect_exec(&exec.id)
                .await
                .ok()
                .and_then(|i| i.exit_code)
                .and_then(|c| i32::try_from(c).ok()),
            _ => None,
        };
        // The engine reports a program or directory missing from the image as
        // output of the exec (126/127): say what it means.
        if end == StepEnd::Exited && matches!(exit_code, Some(126 | 127)) {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
            if said.contains("OCI runtime exec failed") {
                if said.contains("chdir to cwd") {
                    let dir = request.workdir.clone().unwrap_or_default();
                    return Err(BackendError::MissingWorkdir(dir));
                }
                if said.contains("executable file not found")
                    || said.contains("no such file or directory")
                {
                    return Err(BackendError::NotFound {
                        program: request.argv.first().cloned().unwrap_or_default(),
                    });
                }
            }
        }
        Ok(StepOutput {
            end,
            exit_code,
            signal: None,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            duration: started.elapsed(),
        })
    }
}

impl Backend for ContainerBackend {
    fn run_step(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        if request.argv.is_empty() {
            return Err(BackendError::EmptyCommand);
        }
        let container = match &request.service {
            Some(service) => self.service_container(service).ok_or_else(|| {
                BackendError::Engine(format!("service `{service}` is not running"))
            })?,
            None => self.runner.as_deref().ok_or_else(|| {
                BackendError::Engine("this scenario has no runner container".into())
            })?,
        };
        let image = self.images.get(container).map_or("", String::as_str);
        let program = request.argv[0].as_str();
        let mounted =
            request.service.is_none() && self.mounted.iter().any(|b| b == Path::new(program));
        let output = match self.runtime.block_on(self.exec(container, request, cancel)) {
            // One of the crate's binaries, there but unable to start: say why.
            Err(BackendError::NotFound { .. }) if mounted => Err(super::linking::missing_loader(
                program, image,
            )
            .unwrap_or(BackendError::NotFound {
                program: program.to_string(),
            })),
            Ok(output) if mounted && output.exit_code == Some(1) => {
                match super::linking::explain_exit(program, image, &output.stderr) {
                    Some(error) => Err(error),
                    None => Ok(output),
                }
            }
            other => other,
        }?;
        if output.end != StepEnd::Exited {
            // An exec cannot be killed alone; the scenario ends here anyway.
            self.kill(container);
        }
        Ok(output)
    }

    fn runs_on_host(&self) -> bool {
        false
    }
}

impl Drop for ContainerBackend {
    /// Forced, time-bounded removal of everything, whatever ended the scenario.
    fn drop(&mut self) {
        let docker = &self.docker;
        let containers = std::mem::take(&mut self.created);
        let network = self.network.take();
        let teardown = async {
            let removals = containers.iter().map(|id| {
                let options = RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build();
                docker.remove_container(id, Some(options))
            });
            futures_util::future::join_all(removals).await;
            if let Some(network) = &network {
                let _ = docker.remove_network(network).await;
            }
        };
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(TEARDOWN_LIMIT, teardown).await });
    }
}

/// Whether the engine answers, within two seconds; the error says what to do.
pub fn engine_status() -> Result<(), BackendError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BackendError::Engine(format!("cannot start the engine client: {e}")))?;
    let docker = Docker::connect_with_defaults().map_err(engine_unreachable)?;
    runtime.block_on(async {
        match tokio::time::timeout(Duration::from_secs(2), docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(engine_unreachable(e)),
            Err(_) => Err(engine_unreachable("no answer within 2 s")),
        }
    })
}
