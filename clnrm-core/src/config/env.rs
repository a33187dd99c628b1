//! Every `CLNRM_*` variable clnrm reads, read here and nowhere else: the
//! configuration layer between the manifests and the command line, and the
//! switches the drivers read. [`ENVIRONMENT`] lists them for the docs.

use std::path::PathBuf;

use super::error::ConfigError;
use super::layer::Layer;
use crate::backend::PullPolicy;

/// A variable clnrm reads, with the flag and the manifest key that set the
/// same thing (the flag wins over the variable, the variable over the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub flag: Option<&'static str>,
    pub key: Option<&'static str>,
}

const fn env(name: &'static str, flag: Option<&'static str>, key: Option<&'static str>) -> EnvVar {
    EnvVar { name, flag, key }
}

/// Every `CLNRM_*` variable, as `docs/cli.md` lists them (a test holds the
/// two together). Template variables (`CLNRM_VAR_<NAME>`) are the render
/// stage's, not settings.
pub const ENVIRONMENT: &[EnvVar] = &[
    env("CLNRM_ROOTS", Some("--root"), Some("roots")),
    env("CLNRM_DEFAULT_IMAGE", None, Some("default_image")),
    env(
        "CLNRM_MAX_CONTAINERS",
        Some("--max-containers"),
        Some("max_containers"),
    ),
    env("CLNRM_PULL", Some("--pull"), Some("pull")),
    env("CLNRM_STEP_TIMEOUT", None, Some("step_timeout")),
    env("CLNRM_SCENARIO_TIMEOUT", None, Some("scenario_timeout")),
    env("CLNRM_STRICT", Some("--strict"), Some("strict")),
    env("CLNRM_ENV_PASSTHROUGH", None, Some("env_passthrough")),
    env("CLNRM_PROFILE", None, Some("profile")),
    env("CLNRM_KEEP_ON_FAILURE", Some("--keep-on-failure"), None),
    env("CLNRM_SKIP_UNAVAILABLE", None, None),
    env("CLNRM_SLOT_DIR", None, None),
    env("CLNRM_TAGS", Some("--tag"), None),
    env("CLNRM_JUNIT", None, None),
    env("CLNRM_JUNIT_LOCATIONS", Some("--junit-locations"), None),
    env("CLNRM_RESULT_DIR", Some("--junit"), None),
    env("CLNRM_TRACE_DIR", None, None),
    env("CLNRM_LOG", Some("--verbose"), None),
];

/// The variable's value; an empty one counts as unset.
fn var(name: &str) -> Option<String> {
    debug_assert!(
        ENVIRONMENT.iter().any(|v| v.name == name),
        "{name} is not in ENVIRONMENT"
    );
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `1`, `true` or `yes`.
fn switch(name: &str) -> bool {
    var(name).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// `CLNRM_KEEP_ON_FAILURE`: a failed scenario's containers stay.
pub(crate) fn keep_on_failure() -> bool {
    switch("CLNRM_KEEP_ON_FAILURE")
}

/// `CLNRM_SKIP_UNAVAILABLE`: scenarios that need an engine are ignored when
/// none answers, instead of failing.
pub(crate) fn skip_unavailable() -> bool {
    switch("CLNRM_SKIP_UNAVAILABLE")
}

/// `CLNRM_SLOT_DIR`: where the container slots live.
pub(crate) fn slot_dir() -> Option<PathBuf> {
    var("CLNRM_SLOT_DIR").map(PathBuf::from)
}

/// The switches a driver reads from the environment, besides the
/// configuration's layer: what the test binaries are told by
/// `cargo clnrm test`, and the log filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Switches {
    /// `CLNRM_TAGS=a,b`: only scenarios tagged with one of them (the harness).
    pub tags: Vec<String>,
    /// `CLNRM_JUNIT`: where the harness writes its JUnit report.
    pub junit: Option<PathBuf>,
    /// `CLNRM_JUNIT_LOCATIONS`: JUnit test cases carry `file` and `line`.
    pub junit_locations: bool,
    /// `CLNRM_RESULT_DIR`: where the harness writes each finished test, one
    /// JSON file per test (what `cargo clnrm test --junit` reports from).
    pub result_dir: Option<PathBuf>,
    /// `CLNRM_TRACE_DIR`: where the harness writes each test's run trace,
    /// one OTLP JSON document per test.
    pub trace_dir: Option<PathBuf>,
    /// `CLNRM_LOG`: a log filter that overrides `-v` and `-q`.
    pub log_filter: Option<String>,
}

impl Switches {
    pub fn from_env() -> Self {
        let tags = var("CLNRM_TAGS").map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        });
        Self {
            tags: tags.unwrap_or_default(),
            junit: var("CLNRM_JUNIT").map(PathBuf::from),
            junit_locations: switch("CLNRM_JUNIT_LOCATIONS"),
            result_dir: var("CLNRM_RESULT_DIR").map(PathBuf::from),
            trace_dir: var("CLNRM_TRACE_DIR").map(PathBuf::from),
            log_filter: var("CLNRM_LOG"),
        }
    }
}

/// The configuration layer the `CLNRM_*` variables make.
pub(super) fn env_layer() -> Result<Layer, ConfigError> {
    let bad = |name: &str, message: &str| ConfigError::Env {
        name: name.to_string(),
        message: message.to_string(),
    };
    Ok(Layer {
        roots: var("CLNRM_ROOTS").map(|v| {
            std::env::split_paths(&v)
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        }),
        default_image: var("CLNRM_DEFAULT_IMAGE"),
        max_containers: var("CLNRM_MAX_CONTAINERS")
            .map(|v| {
                v.parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad("CLNRM_MAX_CONTAINERS", "must be a positive integer"))
            })
            .transpose()?,
        pull: var("CLNRM_PULL")
            .map(|v| {
                PullPolicy::parse(&v)
                    .ok_or_else(|| bad("CLNRM_PULL", "must be never, missing or always"))
            })
            .transpose()?,
        step_timeout: var("CLNRM_STEP_TIMEOUT")
            .map(|v| {
                humantime::parse_duration(&v).map_err(|e| bad("CLNRM_STEP_TIMEOUT", &e.to_string()))
            })
            .transpose()?,
        scenario_timeout: var("CLNRM_SCENARIO_TIMEOUT")
            .map(|v| {
                humantime::parse_duration(&v)
                    .map_err(|e| bad("CLNRM_SCENARIO_TIMEOUT", &e.to_string()))
            })
            .transpose()?,
        strict: var("CLNRM_STRICT")
            .map(|v| match v.as_str() {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                _ => Err(bad("CLNRM_STRICT", "must be 1/0 or true/false")),
            })
            .transpose()?,
        env_passthrough: var("CLNRM_ENV_PASSTHROUGH")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect()),
        profile: var("CLNRM_PROFILE"),
    })
}
