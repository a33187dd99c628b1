//! Configuration, discovery and the pipeline run, shared by `validate` and `list`.

use std::io::Write;
use std::path::Path;

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::discover::discover;
use clnrm_core::pipeline::{FileReport, Pipeline, process_all};
use clnrm_core::render::VarInputs;
use clnrm_core::validate::ValidateOptions;

use crate::cli::{InputArgs, MessageFormat};
use crate::diagnostics::FORMAT_VERSION;
use crate::error::CliError;

/// The files of one command, processed up to validation.
#[derive(Debug)]
pub struct Loaded {
    pub reports: Vec<FileReport>,
}

/// The configuration of the current directory under these flags.
pub fn config(input: &InputArgs) -> Result<Config, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let overrides = ConfigOverrides {
        roots: input.roots.clone(),
        strict: input.strict.then_some(true),
        ..ConfigOverrides::default()
    };
    Ok(Config::load(&cwd, &overrides)?)
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
    Ok(Loaded { reports })
}
