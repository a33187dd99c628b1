//! The layers of the configuration, lowest first: the built-in defaults, a
//! `[*.metadata.clnrm]` table, the `CLNRM_*` environment, and the overrides
//! given on the command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::PullPolicy;
use crate::render::DEFAULT_RUNNER_IMAGE;

use super::error::ConfigError;

/// The scenario root of a package when none is configured.
pub const DEFAULT_ROOT: &str = "tests/clnrm";

/// Settings shared by every command, the harness included.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Absolute scenario roots, in the order they are searched.
    pub roots: Vec<PathBuf>,
    pub default_image: String,
    pub max_containers: Option<usize>,
    /// When named images are pulled from a registry.
    pub pull: PullPolicy,
    pub step_timeout: Duration,
    pub scenario_timeout: Duration,
    pub strict: bool,
    /// Environment variables passed through to steps (besides PATH).
    pub env_passthrough: Vec<String>,
    /// The cargo profile whose builds `bin.<name>` names (`dev` by default).
    pub profile: String,
    /// The crate's binaries as cargo builds them, built yet or not
    /// (`bin.<name>` when cargo does not set `CARGO_BIN_EXE_<name>`).
    pub binaries: crate::binaries::Binaries,
    /// The folder of the workspace's root manifest (or of the package's,
    /// outside any workspace); `None` outside any crate. Its `target/` holds
    /// the result store.
    pub cargo_root: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            roots: Vec::new(),
            default_image: DEFAULT_RUNNER_IMAGE.to_string(),
            max_containers: None,
            pull: PullPolicy::default(),
            step_timeout: Duration::from_secs(5 * 60),
            scenario_timeout: Duration::from_secs(15 * 60),
            strict: false,
            env_passthrough: Vec::new(),
            profile: "dev".into(),
            binaries: Default::default(),
            cargo_root: None,
        }
    }
}

/// One `[*.metadata.clnrm]` table, every key optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Layer {
    pub(super) roots: Option<Vec<String>>,
    pub(super) default_image: Option<String>,
    pub(super) max_containers: Option<usize>,
    pub(super) pull: Option<PullPolicy>,
    pub(super) step_timeout: Option<Duration>,
    pub(super) scenario_timeout: Option<Duration>,
    pub(super) strict: Option<bool>,
    pub(super) env_passthrough: Option<Vec<String>>,
    pub(super) profile: Option<String>,
}

impl Layer {
    pub(super) fn apply(&self, config: &mut Config) {
        if let Some(v) = &self.default_image {
            config.default_image.clone_from(v);
        }
        if let Some(v) = self.max_containers {
            config.max_containers = Some(v);
        }
        if let Some(v) = self.pull {
            config.pull = v;
        }
        if let Some(v) = self.step_timeout {
            config.step_timeout = v;
        }
        if let Some(v) = self.scenario_timeout {
            config.scenario_timeout = v;
        }
        if let Some(v) = self.strict {
            config.strict = v;
        }
        if let Some(v) = &self.env_passthrough {
            config.env_passthrough.clone_from(v);
        }
        if let Some(v) = &self.profile {
            config.profile.clone_from(v);
        }
    }
}

/// Keys of `[package.metadata.clnrm]` and `[workspace.metadata.clnrm]`.
pub const CONFIG_KEYS: &[&str] = &[
    "roots",
    "default_image",
    "max_containers",
    "pull",
    "step_timeout",
    "scenario_timeout",
    "strict",
    "env_passthrough",
    "profile",
];

pub(super) fn read_layer(
    table: Option<&toml::Value>,
    path: &Path,
    prefix: &str,
) -> Result<Layer, ConfigError> {
    let Some(table) = table.and_then(|v| v.as_table()) else {
        return Ok(Layer::default());
    };
    let err = |key: &str, message: &str| ConfigError::Value {
        path: path.to_path_buf(),
        key: format!("{prefix}.{key}"),
        message: message.to_string(),
    };
    let strings = |key: &str| -> Result<Option<Vec<String>>, ConfigError> {
        table
            .get(key)
            .map(|v| {
                v.as_array()
                    .and_then(|a| a.iter().map(|s| s.as_str().map(String::from)).collect())
                    .ok_or_else(|| err(key, "must be a list of strings"))
            })
            .transpose()
    };
    let duration = |key: &str| -> Result<Option<Duration>, ConfigError> {
        table
            .get(key)
            .map(|v| match v {
                toml::Value::Integer(n) if *n > 0 => Ok(Duration::from_secs(*n as u64)),
                toml::Value::String(s) => {
                    humantime::parse_duration(s).map_err(|e| err(key, &e.to_string()))
                }
                _ => Err(err(key, "must be a duration such as \"30s\"")),
            })
            .transpose()
    };
    if let Some(unknown) = table.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
        let hint = crate::scenario::closest(unknown, CONFIG_KEYS)
            .map(|s| format!("unknown key (did you mean `{s}`?)"))
            .unwrap_or_else(|| format!("unknown key; known keys: {}", CONFIG_KEYS.join(", ")));
        return Err(err(unknown, &hint));
    }
    Ok(Layer {
        roots: strings("roots")?,
        default_image: table
            .get("default_image")
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| err("default_image", "must be a string"))
            })
            .transpose()?,
        max_containers: table
            .get("max_containers")
            .map(|v| {
                v.as_integer()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| err("max_containers", "must be a positive integer"))
            })
            .transpose()?,
        pull: table
            .get("pull")
            .map(|v| {
                v.as_str()
                    .and_then(PullPolicy::parse)
                    .ok_or_else(|| err("pull", "must be \"never\", \"missing\" or \"always\""))
            })
            .transpose()?,
        step_timeout: duration("step_timeout")?,
        scenario_timeout: duration("scenario_timeout")?,
        strict: table
            .get("strict")
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| err("strict", "must be a boolean"))
            })
            .transpose()?,
        env_passthrough: strings("env_passthrough")?,
        profile: table
            .get("profile")
            .map(|v| {
                v.as_str()
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .ok_or_else(|| err("profile", "must be a cargo profile's name"))
            })
            .transpose()?,
    })
}

/// Overrides given on the command line.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConfigOverrides {
    pub roots: Vec<PathBuf>,
    pub strict: Option<bool>,
    pub default_image: Option<String>,
    pub max_containers: Option<usize>,
    /// `--profile`: the cargo profile whose builds `bin.<name>` names.
    pub profile: Option<String>,
}
