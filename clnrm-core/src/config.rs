//! Configuration: `[package.metadata.clnrm]` and `[workspace.metadata.clnrm]`.
//!
//! Precedence: command-line flag > `CLNRM_*` environment variable > package >
//! workspace > built-in default. Manifests are read directly (not through
//! `cargo metadata`) so `validate` and `list` start in milliseconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::PullPolicy;
use crate::render::DEFAULT_RUNNER_IMAGE;

/// The scenario root of a package when none is configured.
pub const DEFAULT_ROOT: &str = "tests/clnrm";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("`{key}` in `{path}`: {message}")]
    Value {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("environment variable `{name}`: {message}")]
    Env { name: String, message: String },
}

/// Settings shared by every command, the harness included.
#[derive(Debug, Clone, PartialEq)]
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
        }
    }
}

/// One `[*.metadata.clnrm]` table, every key optional.
#[derive(Debug, Clone, Default, PartialEq)]
struct Layer {
    roots: Option<Vec<String>>,
    default_image: Option<String>,
    max_containers: Option<usize>,
    pull: Option<PullPolicy>,
    step_timeout: Option<Duration>,
    scenario_timeout: Option<Duration>,
    strict: Option<bool>,
    env_passthrough: Option<Vec<String>>,
    profile: Option<String>,
}

impl Layer {
    fn apply(&self, config: &mut Config) {
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

fn read_layer(
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

#[derive(Debug)]
struct Manifest {
    dir: PathBuf,
    value: toml::Value,
    path: PathBuf,
}

impl Manifest {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let value: toml::Value = toml::from_str(&text).map_err(|e| ConfigError::Manifest {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        Ok(Self {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            value,
            path: path.to_path_buf(),
        })
    }

    fn get(&self, dotted: &str) -> Option<&toml::Value> {
        dotted.split('.').try_fold(&self.value, |v, k| v.get(k))
    }

    fn is_package(&self) -> bool {
        self.value.get("package").is_some()
    }

    fn package_layer(&self) -> Result<Layer, ConfigError> {
        read_layer(
            self.get("package.metadata.clnrm"),
            &self.path,
            "package.metadata.clnrm",
        )
    }

    fn workspace_layer(&self) -> Result<Layer, ConfigError> {
        read_layer(
            self.get("workspace.metadata.clnrm"),
            &self.path,
            "workspace.metadata.clnrm",
        )
    }

    /// Member package directories of a `[workspace]`, globs expanded.
    fn members(&self) -> Vec<PathBuf> {
        let list = |key: &str| -> Vec<String> {
            self.get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let excluded: Vec<PathBuf> = list("workspace.exclude")
            .iter()
            .map(|e| self.dir.join(e))
            .collect();
        let mut members = Vec::new();
        for pattern in list("workspace.members") {
            let full = self.dir.join(&pattern);
            let matches: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
                .map(|paths| paths.filter_map(Result::ok).collect())
                .unwrap_or_default();
            for dir in matches {
                if dir.join("Cargo.toml").is_file() && !excluded.contains(&dir) {
                    members.push(dir);
                }
            }
        }
        members.sort();
        members.dedup();
        members
    }
}

fn find_upwards(
    start: &Path,
    mut accept: impl FnMut(&Manifest) -> bool,
) -> Result<Option<Manifest>, ConfigError> {
    for dir in start.ancestors() {
        let path = dir.join("Cargo.toml");
        if path.is_file() {
            let manifest = Manifest::read(&path)?;
            if accept(&manifest) {
                return Ok(Some(manifest));
            }
        }
    }
    Ok(None)
}

/// Overrides given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConfigOverrides {
    pub roots: Vec<PathBuf>,
    pub strict: Option<bool>,
    pub default_image: Option<String>,
    pub max_containers: Option<usize>,
    /// `--profile`: the cargo profile whose builds `bin.<name>` names.
    pub profile: Option<String>,
}

fn env_layer() -> Result<Layer, ConfigError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
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

impl Config {
    /// Loads the configuration that applies in `cwd`.
    pub fn load(cwd: &Path, overrides: &ConfigOverrides) -> Result<Self, ConfigError> {
        let mut config = Config::default();
        let package = find_upwards(cwd, Manifest::is_package)?;
        let start = package.as_ref().map_or(cwd, |p| p.dir.as_path());
        let workspace = find_upwards(start, |m| m.value.get("workspace").is_some())?;
        let workspace_layer = workspace
            .as_ref()
            .map(Manifest::workspace_layer)
            .transpose()?
            .unwrap_or_default();
        let env = env_layer()?;
        workspace_layer.apply(&mut config);
        // Roots: the package's own, or, at a workspace root, every member's
        // (and the root package's, when the root is a package too).
        let members = workspace
            .as_ref()
            .map(Manifest::members)
            .unwrap_or_default();
        let at_workspace_root = workspace.as_ref().is_some_and(|w| cwd_is(cwd, &w.dir));
        let root_package = package
            .as_ref()
            .filter(|p| workspace.as_ref().is_some_and(|w| w.dir == p.dir));
        let packages: Vec<PathBuf> = match &package {
            _ if at_workspace_root => {
                let mut all = members;
                if let Some(p) = root_package
                    && !all.contains(&p.dir)
                {
                    all.insert(0, p.dir.clone());
                }
                all
            }
            Some(p) => vec![p.dir.clone()],
            None => members,
        };
        let mut roots = Vec::new();
        for dir in &packages {
            let is_current = package.as_ref().is_some_and(|p| &p.dir == dir);
            let read;
            let manifest = match &package {
                Some(p) if is_current => p,
                _ => {
                    read = Manifest::read(&dir.join("Cargo.toml"))?;
                    &read
                }
            };
            let layer = manifest.package_layer()?;
            if is_current {
                layer.apply(&mut config);
            }
            let relative = layer
                .roots
                .or_else(|| workspace_layer.roots.clone())
                .unwrap_or_else(|| vec![DEFAULT_ROOT.to_string()]);
            roots.extend(relative.iter().map(|r| dir.join(r)));
        }
        if packages.is_empty() {
            roots.push(cwd.join(DEFAULT_ROOT));
        }
        env.apply(&mut config);
        if let Some(env_roots) = env.roots {
            roots = env_roots.iter().map(|r| cwd.join(r)).collect();
        }
        if !overrides.roots.is_empty() {
            roots = overrides.roots.iter().map(|r| cwd.join(r)).collect();
        }
        if let Some(v) = overrides.strict {
            config.strict = v;
        }
        if let Some(v) = &overrides.default_image {
            config.default_image.clone_from(v);
        }
        if let Some(v) = overrides.max_containers {
            config.max_containers = Some(v);
        }
        if let Some(v) = &overrides.profile {
            config.profile.clone_from(v);
        }
        // Where cargo puts a build, built yet or not: `validate` must not
        // depend on a build, and a step running a missing binary fails on
        // its own with "not found". Asked of cargo only when needed.
        if let Some(top) = package.as_ref().or(workspace.as_ref()) {
            config.binaries = crate::binaries::Binaries::of_package(&top.path, &config.profile);
        }
        config.roots = roots;
        Ok(config)
    }
}

fn cwd_is(cwd: &Path, dir: &Path) -> bool {
    cwd.canonicalize().ok() == dir.canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn package_over_workspace_over_default() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\n[workspace.metadata.clnrm]\nstrict = true\ndefault_image = \"w:1\"\n",
        );
        write(
            &root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\n[package.metadata.clnrm]\ndefault_image = \"p:1\"\nroots = [\"scenarios\"]\n",
        );
        write(
            &root.join("crates/b/Cargo.toml"),
            "[package]\nname = \"b\"\n",
        );
        let a = Config::load(&root.join("crates/a"), &ConfigOverrides::default()).unwrap();
        assert_eq!(a.default_image, "p:1");
        assert!(a.strict);
        assert_eq!(a.roots, vec![root.join("crates/a/scenarios")]);
        let all = Config::load(root, &ConfigOverrides::default()).unwrap();
        assert_eq!(
            all.roots,
            vec![
                root.join("crates/a/scenarios"),
                root.join("crates/b/tests/clnrm")
            ]
        );
        let flagged = Config::load(
            &root.join("crates/a"),
            &ConfigOverrides {
                strict: Some(false),
                ..ConfigOverrides::default()
            },
        )
        .unwrap();
        assert!(!flagged.strict);
    }

    #[test]
    fn a_root_package_counts_at_its_workspace_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            "[package]\nname = \"top\"\n[workspace]\nmembers = [\"m\"]\n",
        );
        write(&root.join("m/Cargo.toml"), "[package]\nname = \"m\"\n");
        let config = Config::load(root, &ConfigOverrides::default()).unwrap();
        assert_eq!(
            config.roots,
            vec![root.join("tests/clnrm"), root.join("m/tests/clnrm")]
        );
        let member = Config::load(&root.join("m"), &ConfigOverrides::default()).unwrap();
        assert_eq!(member.roots, vec![root.join("m/tests/clnrm")]);
    }

    #[test]
    fn the_pull_policy_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("Cargo.toml"),
            "[package]\nname = \"a\"\n[package.metadata.clnrm]\npull = \"never\"\n",
        );
        let config = Config::load(dir.path(), &ConfigOverrides::default()).unwrap();
        assert_eq!(config.pull, PullPolicy::Never);
        write(
            &dir.path().join("Cargo.toml"),
            "[package]\nname = \"a\"\n[package.metadata.clnrm]\npull = \"sometimes\"\n",
        );
        let err = Config::load(dir.path(), &ConfigOverrides::default()).unwrap_err();
        assert!(
            err.to_string().contains("`package.metadata.clnrm.pull` in"),
            "{err}"
        );
        assert_eq!(Config::default().pull, PullPolicy::Missing);
    }

    #[test]
    fn unknown_config_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("Cargo.toml"),
            "[package]\nname = \"a\"\n[package.metadata.clnrm]\nroot = [\"x\"]\n",
        );
        let err = Config::load(dir.path(), &ConfigOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("did you mean `roots`"), "{err}");
    }
}
