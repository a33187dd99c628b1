//! The workspace, its configuration and the suite of a command's flags,
//! shared by every command.

use std::io::Write;
use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand};

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::suite::{Suite, SuiteBuilder};

use crate::cli::{InputArgs, MessageFormat, WorkspaceArgs};
use crate::diagnostics::FORMAT_VERSION;
use crate::error::CliError;

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
    let mut overrides = ConfigOverrides::default();
    // Paths on the command line are the current directory's, wherever
    // the configuration is read from.
    overrides.roots = input.roots.iter().map(|r| cwd.join(r)).collect();
    overrides.strict = input.strict.then_some(true);
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

/// The suite builder of these flags: the configuration (loaded once), the
/// paths and `--var`. Commands add their own choices (tags, settings).
pub fn suite_builder(input: &InputArgs, config: Config) -> SuiteBuilder {
    tracing::debug!(roots = ?config.roots, "scenario roots");
    SuiteBuilder::new(config)
        .paths(input.paths.clone())
        .vars(input.vars.clone())
}

/// Builds the suite and shows its warnings (JSON lines or stderr).
pub fn build(
    builder: SuiteBuilder,
    format: MessageFormat,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Suite, CliError> {
    let suite = builder
        .build()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    for warning in &suite.warnings {
        match format {
            MessageFormat::Json => {
                let line = serde_json::json!({
                    "reason": "warning",
                    "format_version": FORMAT_VERSION,
                    "file": warning.path.as_ref().map(|p| p.to_string_lossy().replace('\\', "/")),
                    "message": warning.message,
                });
                writeln!(stdout, "{line}")?;
            }
            MessageFormat::Human => writeln!(stderr, "warning: {warning}")?,
        }
    }
    Ok(suite)
}

/// The suite of these flags, with nothing else chosen (`validate`, `list`).
pub fn load(
    input: &InputArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Suite, CliError> {
    // Nothing runs: no need to ask whether an engine answers.
    let builder = suite_builder(input, config(input)?).skip_unavailable(false);
    build(builder, input.message_format, stdout, stderr)
}
