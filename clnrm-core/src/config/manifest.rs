//! Reading `Cargo.toml` manifests directly: finding one upwards from a
//! folder, its `[*.metadata.clnrm]` tables, and a workspace's members.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::layer::{Layer, read_layer};

#[derive(Debug)]
pub(super) struct Manifest {
    pub(super) dir: PathBuf,
    pub(super) value: toml::Value,
    pub(super) path: PathBuf,
}

impl Manifest {
    pub(super) fn read(path: &Path) -> Result<Self, ConfigError> {
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

    pub(super) fn is_package(&self) -> bool {
        self.value.get("package").is_some()
    }

    pub(super) fn package_layer(&self) -> Result<Layer, ConfigError> {
        read_layer(
            self.get("package.metadata.clnrm"),
            &self.path,
            "package.metadata.clnrm",
        )
    }

    pub(super) fn workspace_layer(&self) -> Result<Layer, ConfigError> {
        read_layer(
            self.get("workspace.metadata.clnrm"),
            &self.path,
            "workspace.metadata.clnrm",
        )
    }

    /// Member package directories of a `[workspace]`, globs expanded.
    pub(super) fn members(&self) -> Vec<PathBuf> {
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

pub(super) fn find_upwards(
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
