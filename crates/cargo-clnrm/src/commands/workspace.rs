//! Configuration, discovery and the pipeline run, shared by `validate` and `list`.

use std::io::Write;

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::discover::discover;
use clnrm_core::pipeline::{FileReport, Pipeline, process_all};
use clnrm_core::render::VarInputs;
use clnrm_core::validate::ValidateOptions;

use crate::cli::InputArgs;
use crate::error::CliError;

/// The files of one command, processed up to validation.
#[derive(Debug)]
pub struct Loaded {
    pub reports: Vec<FileReport>,
}

pub fn load(
    input: &InputArgs,
    strict: Option<bool>,
    stderr: &mut dyn Write,
) -> Result<Loaded, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let config = Config::load(
        &cwd,
        &ConfigOverrides {
            strict,
            ..ConfigOverrides::default()
        },
    )?;
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
    for issue in &discovery.issues {
        writeln!(
            stderr,
            "warning: {}: {}",
            issue.path.display(),
            issue.message
        )?;
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
        writeln!(
            stderr,
            "warning: no scenario files (*.clnrm.toml, *.clnrm.toml.tera) found in {searched}"
        )?;
    }
    let pipeline = Pipeline::new(
        VarInputs {
            overrides: input.vars.clone(),
            ..VarInputs::default()
        }
        .with_cargo_bins(),
        ValidateOptions {
            strict: config.strict,
        },
    );
    let reports = process_all(&pipeline, &discovery.files);
    Ok(Loaded { reports })
}
