//! What a scenario's world is made of, as the container backend is asked
//! for it: the runner, the services, their mounts and ports, the limits.

use std::sync::Arc;
use std::time::Duration;

use super::image::{ImageSpec, PullPolicy};
use crate::receiver::Receiver;

/// A service to start on the scenario's network, reachable by its id.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub id: String,
    pub image: ImageSpec,
    /// The container's command (the image's entrypoint is kept).
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub health_check: Option<HealthCheckSpec>,
    /// Container ports to publish on the host (for steps that run there).
    pub ports: Vec<u16>,
    /// Host folders or files bound into the container: exactly these.
    pub volumes: Vec<BindMount>,
    /// Start-up is complete when the service has printed a span of this name.
    pub wait_for_span: Option<String>,
    /// The container's working directory, else the image's.
    pub working_dir: Option<String>,
    /// Services started, and waited for by their health checks, before
    /// this one is created; the list of services is in start order.
    pub depends_on: Vec<String>,
}

/// A command run in a service until it exits 0, before the first step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSpec {
    pub cmd: Vec<String>,
    /// Between tries (default 500 ms).
    pub interval: Option<Duration>,
    /// Of one try (default 5 s).
    pub timeout: Option<Duration>,
    /// Tries in all (default 30).
    pub retries: Option<u32>,
}

/// Resources of every container of a scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerLimits {
    pub cpu_millicores: Option<u32>,
    pub memory_mb: Option<u32>,
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
    pub(super) fn to_engine(&self) -> bollard::models::Mount {
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
    pub limits: ContainerLimits,
    /// Publish the services' `ports` on 127.0.0.1, for steps on the host.
    pub publish: bool,
    /// The crate's binaries, mounted read-only into the runner at the same path.
    pub binaries: Vec<std::path::PathBuf>,
    /// The global cap on running containers.
    pub max_containers: usize,
    pub pull: PullPolicy,
    /// How long services may take to print their `wait_for_span` span.
    pub start_limit: Duration,
    /// Where the containers export spans, when the scenario collects them:
    /// the world then has a network even without services.
    pub spans: Option<SpanRoute>,
    /// `--keep-on-failure`: what the world creates is labelled to be kept,
    /// so no later run's sweep takes it (`cargo clnrm clean` does).
    pub may_keep: bool,
}

/// How a scenario's containers reach the span receiver on this machine: it
/// listens on the scenario network's gateway address too, which the
/// containers know by host name (an internal network keeps no route out).
#[derive(Debug, Clone)]
pub struct SpanRoute {
    pub receiver: Arc<Receiver>,
    /// The names the containers know the receiver by; the first is the
    /// endpoint's. Never empty.
    pub host_names: Vec<String>,
    /// The `OTEL_*` variables every service gets besides the endpoint; a
    /// service's own `env` wins.
    pub env: Vec<(String, String)>,
}

impl Default for WorldSpec {
    fn default() -> Self {
        Self {
            runner: None,
            services: Vec::new(),
            limits: ContainerLimits::default(),
            publish: false,
            binaries: Vec::new(),
            max_containers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            pull: PullPolicy::default(),
            start_limit: Duration::from_secs(15 * 60),
            spans: None,
            may_keep: false,
        }
    }
}

/// A service port published on the host: (service id, container port, host port).
pub type PublishedPort = (String, u16, u16);
