//! The crate's own binaries (`bin.<name>`), as cargo builds them: every
//! binary target of the workspace's members (`[[bin]]` with or without a
//! `path`, `src/main.rs`, `src/bin/*.rs`, `src/bin/<name>/main.rs`,
//! `autobins = false`), at the path cargo puts it (`CARGO_TARGET_DIR`,
//! `build.target-dir`, the profile). The answers come from `cargo metadata`,
//! asked once per process and only when a scenario needs them, so commands
//! that never look at a binary start as fast as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The binaries the test runner named in the environment: cargo's
/// `CARGO_BIN_EXE_<name>` and nextest's `NEXTEST_BIN_EXE_<name>` (cargo's
/// wins where both name one), by name.
pub fn named_in_env() -> BTreeMap<String, PathBuf> {
    named_in(std::env::vars())
}

fn named_in(vars: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, PathBuf> {
    let mut cargo = BTreeMap::new();
    let mut nextest = BTreeMap::new();
    for (key, value) in vars {
        if let Some(name) = key.strip_prefix("CARGO_BIN_EXE_") {
            cargo.insert(name.to_string(), PathBuf::from(value));
        } else if let Some(name) = key.strip_prefix("NEXTEST_BIN_EXE_") {
            nextest.insert(name.to_string(), PathBuf::from(value));
        }
    }
    nextest.extend(cargo);
    nextest
}

/// Where the binaries' folder is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Folder {
    /// `<target dir>/<profile's folder>`, the target dir from cargo.
    Profile(String),
    /// Exactly this folder (the harness: where cargo put the test binary's
    /// own build, whatever the profile or target).
    Exact(PathBuf),
}

/// A lazy answer to "which binaries does this crate build, and where".
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The package (or workspace) whose binaries these are; `None`: none.
    manifest: Option<PathBuf>,
    folder: Folder,
    found: Arc<OnceLock<Found>>,
}

/// What `cargo metadata` said.
#[derive(Debug, Default)]
struct Found {
    binaries: BTreeMap<String, PathBuf>,
    target_dir: Option<PathBuf>,
}

impl Default for Binaries {
    fn default() -> Self {
        Self::none()
    }
}

impl PartialEq for Binaries {
    fn eq(&self, other: &Self) -> bool {
        self.manifest == other.manifest && self.folder == other.folder
    }
}

impl Binaries {
    /// No binaries (outside any crate).
    pub fn none() -> Self {
        Self {
            manifest: None,
            folder: Folder::Profile("dev".into()),
            found: Arc::default(),
        }
    }

    /// The binaries of the package at `manifest` (its `Cargo.toml`) and of
    /// its workspace's other members, built with cargo profile `profile`.
    pub fn of_package(manifest: &Path, profile: &str) -> Self {
        Self {
            // As cargo names it, to tell the package from the other members.
            manifest: Some(
                manifest
                    .canonicalize()
                    .unwrap_or_else(|_| manifest.to_path_buf()),
            ),
            folder: Folder::Profile(profile.to_string()),
            found: Arc::default(),
        }
    }

    /// The same binaries, in `folder` (where cargo built them this time).
    pub fn in_folder(self, folder: PathBuf) -> Self {
        // Canonical: the path is mounted into containers as it is, and a
        // `..` there would climb out of folders the container lacks.
        let folder = folder.canonicalize().unwrap_or(folder);
        Self {
            folder: Folder::Exact(folder),
            found: Arc::default(),
            ..self
        }
    }

    /// Name -> path, the package's own first, then the other members'.
    /// Empty when cargo cannot say (logged): `bin.<name>` is then an error
    /// at its place in the template.
    pub fn get(&self) -> &BTreeMap<String, PathBuf> {
        &self.found().binaries
    }

    /// The crate's target directory (where run artifacts are kept), when
    /// cargo can say.
    pub fn target_dir(&self) -> Option<&Path> {
        self.found().target_dir.as_deref()
    }

    fn found(&self) -> &Found {
        self.found.get_or_init(|| {
            let Some(manifest) = &self.manifest else {
                return Found::default();
            };
            match ask_cargo(manifest, &self.folder) {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!("cannot list the crate's binaries with `cargo metadata`: {e}");
                    Found::default()
                }
            }
        })
    }
}

/// The folder cargo names after a profile.
fn profile_folder(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

fn ask_cargo(manifest: &Path, folder: &Folder) -> Result<Found, String> {
    let package_dir = manifest.parent().unwrap_or(Path::new("."));
    // From the package's folder, so its `.cargo/config.toml` counts.
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .current_dir(package_dir)
        .no_deps()
        .exec()
        .map_err(|e| e.to_string())?;
    let target_dir = metadata.target_directory.as_std_path().to_path_buf();
    let folder = match folder {
        Folder::Exact(dir) => dir.clone(),
        Folder::Profile(profile) => target_dir.join(profile_folder(profile)),
    };
    let own = |p: &cargo_metadata::Package| p.manifest_path.as_std_path() != manifest;
    let mut packages: Vec<&cargo_metadata::Package> = metadata.workspace_packages();
    // The package's own binaries win a name they share with another member.
    packages.sort_by_key(|p| own(p));
    let mut found = BTreeMap::new();
    for package in packages {
        for target in package.targets.iter().filter(|t| t.is_bin()) {
            let file = format!("{}{}", target.name, std::env::consts::EXE_SUFFIX);
            found
                .entry(target.name.clone())
                .or_insert_with(|| folder.join(file));
        }
    }
    Ok(Found {
        binaries: found,
        target_dir: Some(target_dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_and_nextest_name_binaries_and_cargo_wins() {
        let var = |k: &str, v: &str| (k.to_string(), v.to_string());
        let named = named_in([
            var("NEXTEST_BIN_EXE_app", "/nextest/app"),
            var("NEXTEST_BIN_EXE_tool", "/nextest/tool"),
            var("CARGO_BIN_EXE_app", "/cargo/app"),
            var("PATH", "/bin"),
        ]);
        let paths: Vec<(&str, &Path)> = named
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_path()))
            .collect();
        assert_eq!(
            paths,
            [
                ("app", Path::new("/cargo/app")),
                ("tool", Path::new("/nextest/tool"))
            ]
        );
    }

    #[test]
    fn profiles_map_to_cargos_folders() {
        assert_eq!(profile_folder("dev"), "debug");
        assert_eq!(profile_folder("test"), "debug");
        assert_eq!(profile_folder("release"), "release");
        assert_eq!(profile_folder("bench"), "release");
        assert_eq!(profile_folder("ci"), "ci");
    }

    #[test]
    fn outside_a_crate_there_are_none() {
        assert!(Binaries::none().get().is_empty());
    }
}
