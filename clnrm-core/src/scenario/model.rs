//! The one scenario model every file shape is normalised into.

use std::ops::Range;
use std::time::Duration;

use super::expect::Expectations;
use super::spanned::Spanned;

/// One rendered scenario file, whatever shape it was written in.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ScenarioFile {
    pub header: Header,
    pub services: Vec<Service>,
    pub scenarios: Vec<Scenario>,
    pub expect: Expectations,
    pub assertions: Vec<Assertion>,
    pub otel: Option<Otel>,
    pub report: Option<Report>,
    pub limits: Option<Limits>,
    pub determinism: Option<Determinism>,
}

impl ScenarioFile {
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id.value == id)
    }
}

/// Which header table the file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderShape {
    #[default]
    Meta,
    /// The older `[test.metadata]` table.
    TestMetadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    #[default]
    Container,
    Local,
}

#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Header {
    pub shape: HeaderShape,
    pub name: Spanned<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub timeout: Option<Spanned<Duration>>,
    /// `Some(reason)` when the scenario is ignored; the reason may be empty.
    pub ignore: Option<String>,
    pub image: Option<Spanned<String>>,
    pub build: Option<ImageBuild>,
    pub backend: Backend,
    pub strict: bool,
    pub span: Range<usize>,
}

/// `build = { context = "dir", dockerfile = "Dockerfile" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBuild {
    pub context: Spanned<String>,
    pub dockerfile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Image(Spanned<String>),
    Build(ImageBuild),
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Service {
    pub id: Spanned<String>,
    pub plugin: Spanned<String>,
    pub image: Option<ImageSource>,
    /// The container's command, argv.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub ports: Vec<Spanned<PortMapping>>,
    pub volumes: Vec<Volume>,
    pub health_check: Option<HealthCheck>,
    pub wait_for_span: Option<String>,
    /// The container's working directory (absolute), else the image's.
    pub working_dir: Option<Spanned<String>>,
    /// Services started (and healthy) before this one.
    pub depends_on: Vec<Spanned<String>>,
    pub span: Range<usize>,
}

/// The original's service plugin that stood for an OpenTelemetry collector:
/// clnrm's span receiver stands in for it (no container is started).
pub const COLLECTOR_PLUGIN: &str = "otel_collector";

impl Service {
    /// Whether the span receiver stands in for this service.
    pub fn is_collector(&self) -> bool {
        self.plugin.value == COLLECTOR_PLUGIN
    }
}

/// A container port, optionally pinned to a host port (`"8080:80"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    pub host: Option<u16>,
    pub container: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub host_path: String,
    pub container_path: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub cmd: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
}

/// How a scenario was written; kept for messages and the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioShape {
    /// Top-level `[[steps]]`: one implicit scenario named after the header.
    TopLevelSteps,
    /// `[[scenario]]` with nested steps and/or `service` + `run`.
    Explicit,
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Scenario {
    pub shape: ScenarioShape,
    pub name: Spanned<String>,
    pub service: Option<Spanned<String>>,
    pub steps: Vec<Step>,
    pub timeout: Option<Spanned<Duration>>,
    pub concurrent: bool,
    pub collect: Vec<Spanned<String>>,
    /// `Some(text)` when the scenario must fail; the text may be empty.
    pub expect_failure: Option<String>,
    /// The original's `policy` table.
    pub policy: Option<Policy>,
    pub span: Range<usize>,
}

/// A scenario's `policy` (the original's): limits that cap the scenario's
/// (`max_execution_time`, `max_memory_mb`, `max_cpu_usage`), commands its
/// steps must not run, and two keys that are accepted but not checked.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `low`, `medium` or `high`: accepted, not checked.
    pub security_level: Option<Spanned<String>>,
    pub max_execution_time: Option<Spanned<Duration>>,
    pub max_memory_mb: Option<u32>,
    /// A fraction of one CPU, 0 to 1.
    pub max_cpu_usage: Option<f64>,
    /// Accepted, not checked: containers reach no host outside the scenario.
    pub allowed_network_hosts: Vec<Spanned<String>>,
    /// Programs no step may run (by name).
    pub disallowed_commands: Vec<Spanned<String>>,
    pub span: Range<usize>,
}

/// A step's program, always argv: never joined into a shell string.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Step {
    pub name: Spanned<String>,
    pub command: Spanned<Vec<String>>,
    pub service: Option<Spanned<String>>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    pub stdin: Option<String>,
    pub expected_exit_code: i32,
    pub expected_output_regex: Option<Spanned<String>>,
    /// A regex stdout must not match (the original's `expected_output_regex_not`).
    pub expected_output_regex_not: Option<Spanned<String>>,
    pub expected_stderr_regex: Option<Spanned<String>>,
    pub stdout_contains: Vec<String>,
    pub stdout_not_contains: Vec<String>,
    pub continue_on_failure: bool,
    /// Runs after a failed one (`retry_on_failure` with `max_retries`).
    pub retries: u32,
    /// Earlier steps (or services) this one needs: it does not run when one
    /// of those steps failed (past `continue_on_failure`).
    pub depends_on: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<Duration>>,
    pub span: Range<usize>,
}

impl Step {
    /// How many times the step may run: once, and once more per retry.
    pub fn attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

/// An `[assertions]` entry; only the claims in [`KnownClaim`] are checked.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub key: Spanned<String>,
    pub value: AssertionValue,
    pub claim: Option<KnownClaim>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssertionValue {
    Bool(bool),
    Integer(i64),
    Text(String),
    Other(String),
}

impl std::fmt::Display for AssertionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AssertionValue::Bool(b) => write!(f, "{b}"),
            AssertionValue::Integer(i) => write!(f, "{i}"),
            AssertionValue::Text(t) => write!(f, "{t:?}"),
            AssertionValue::Other(o) => f.write_str(o),
        }
    }
}

/// The `[assertions]` claims with a clear meaning, enforced by the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownClaim {
    /// `container_should_have_executed_commands = N`: at least N commands ran.
    ExecutedCommands(u32),
    /// `all_steps_should_succeed` / `all_commands_should_succeed`.
    AllStepsSucceed,
    /// `execution_should_be_hermetic`: no step ran on the host.
    Hermetic,
}

#[derive(Debug, Clone, Default)]
pub struct Otel {
    pub exporter: Option<String>,
    pub endpoint: Option<String>,
    pub protocol: Option<String>,
    pub sample_ratio: Option<f64>,
    pub resources: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// `[otel.propagators] use`: the context the steps are given.
    pub propagators: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub json: Option<String>,
    pub junit: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub cpu_millicores: Option<u32>,
    pub memory_mb: Option<u32>,
    /// The most containers a scenario of the file may start (the original's
    /// `max_containers`): checked against the file before it runs.
    pub max_containers: Option<Spanned<u32>>,
    /// The longest a scenario may take (`max_duration_seconds`): it caps
    /// the scenario's timeout.
    pub max_duration: Option<Spanned<Duration>>,
}

#[derive(Debug, Clone, Default)]
pub struct Determinism {
    pub seed: Option<u64>,
    pub freeze_clock: Option<String>,
}
