//! Configuration, discovery and the pipeline run, shared by `validate` and `list`.

use std::io::Write;
use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand};

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::discover::discover;
use clnrm_core::pipeline::{FileReport, Pipeline, process_all};
use clnrm_core::render::VarInputs;
use clnrm_core::validate::ValidateOptions;

use crate::cli::{InputArgs, MessageFormat, WorkspaceArgs};
use crate::diagnostics::FORMAT_VERSION;
use crate::error::CliError;

/// The files of one command, processed up to validation.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration the files were read under (loaded once per command).
    pub config: Config,
    pub reports: Vec<FileReport>,
}

/// The workspace as cargo sees it (`--manifest-path`, else the current directory).
pub fn metadata(selection: &WorkspaceArgs) -> Result<Metadata, CliError> {
    let mut command = MetadataCommand::new();
    command.no_deps();
    if let Some(manifest) = &selection.manifest_path {
        command.manifest_path(manifest);
    }
    command.exec().map_err(|e| {
        CliError::Usage(format!(
            "cannot read the workspace with `cargo metadata`: {e}"
        ))
    })
}

/// Every name in `packages` is a member of the workspace, or a usage error
/// that lists the members.
pub fn check_members(metadata: &Metadata, packages: &[String]) -> Result<(), CliError> {
    let members: Vec<&str> = metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    match packages.iter().find(|p| !members.contains(&p.as_str())) {
        Some(unknown) => Err(CliError::Usage(format!(
            "package `{unknown}` is not a member of the workspace (members: {})",
            members.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The configuration under these flags: of the current directory, of
/// `--manifest-path`'s folder, or of the `-p` packages (their roots together).
pub fn config(input: &InputArgs) -> Result<Config, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let overrides = ConfigOverrides {
        // Paths on the command line are the current directory's, wherever
        // the configuration is read from.
        roots: input.roots.iter().map(|r| cwd.join(r)).collect(),
        strict: input.strict.then_some(true),
        ..ConfigOverrides::default()
    };
    let selection = &input.workspace;
    let dirs: Vec<PathBuf> = if selection.packages.is_empty() {
        let dir = match &selection.manifest_path {
            Some(manifest) => {
                if !manifest.is_file() {
                    return Err(CliError::Usage(format!(
                        "--manifest-path `{}`: no such file",
                        manifest.display()
                    )));
                }
                cwd.join(manifest.parent().unwrap_or(Path::new(".")))
            }
            None => cwd,
        };
        vec![dir]
    } else {
        let metadata = metadata(selection)?;
        check_members(&metadata, &selection.packages)?;
        metadata
            .workspace_packages()
            .iter()
            .filter(|p| selection.packages.iter().any(|name| *name == *p.name))
            .filter_map(|p| {
                p.manifest_path
                    .parent()
                    .map(|d| d.as_std_path().to_path_buf())
            })
            .collect()
    };
    let mut config: Option<Config> = None;
    for dir in &dirs {
        let loaded = Config::load(dir, &overrides)?;
        match &mut config {
            None => config = Some(loaded),
            Some(first) => {
                for root in loaded.roots {
                    if !first.roots.contains(&root) {
                        first.roots.push(root);
                    }
                }
            }
        }
    }
    config.ok_or_else(|| CliError::Usage("no package selected".into()))
}

/// The pipeline every command validates with: `--var`, the crate's binaries,
/// strict mode.
pub fn pipeline(input: &InputArgs, config: &Config) -> Pipeline {
    Pipeline::new(
        VarInputs {
            overrides: input.vars.clone(),
            ..VarInputs::default()
        }
        .with_cargo_bins()
        .with_binaries(&config.binaries),
        ValidateOptions {
            strict: config.strict,
        },
    )
}

pub fn load(
    input: &InputArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Loaded, CliError> {
    let config = config(input)?;
    tracing::debug!(roots = ?config.roots, "scenario roots");
    let discovery = discover(&input.paths, &config.roots);
    if let Some(missing) = discovery
        .issues
        .iter()
        .find(|i| input.paths.contains(&i.path))
    {
        return Err(CliError::Usage(format!(
            "`{}`: {}",
            missing.path.display(),
            missing.message
        )));
    }
    let mut warn = |path: Option<&Path>, message: &str| -> std::io::Result<()> {
        match input.message_format {
            MessageFormat::Json => {
                let line = serde_json::json!({
                    "reason": "warning",
                    "format_version": FORMAT_VERSION,
                    "file": path.map(|p| p.to_string_lossy().replace('\\', "/")),
                    "message": message,
                });
                writeln!(stdout, "{line}")
            }
            MessageFormat::Human => match path {
                Some(path) => writeln!(stderr, "warning: {}: {message}", path.display()),
                None => writeln!(stderr, "warning: {message}"),
            },
        }
    };
    for issue in &discovery.issues {
        warn(Some(&issue.path), &issue.message)?;
    }
    if discovery.files.is_empty() {
        let searched = if input.paths.is_empty() {
            &config.roots
        } else {
            &input.paths
        };
        let searched = searched
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        warn(
            None,
            &format!("no scenario files (*.clnrm.toml, *.clnrm.toml.tera) found in {searched}"),
        )?;
    }
    let reports = process_all(&pipeline(input, &config), &discovery.files);
    Ok(Loaded { config, reports })
}
