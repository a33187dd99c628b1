//! `Config::load`: the layers that apply in a folder, merged in order, and
//! the scenario roots of its package or of every workspace member.

use std::path::{Path, PathBuf};

use super::env::env_layer;
use super::error::ConfigError;
use super::layer::{Config, ConfigOverrides, DEFAULT_ROOT};
use super::manifest::{Manifest, find_upwards};

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
        config.cargo_root = (workspace.as_ref().or(package.as_ref())).map(|m| m.dir.clone());
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
    use crate::backend::PullPolicy;

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
