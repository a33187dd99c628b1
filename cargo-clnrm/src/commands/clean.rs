//! `cargo clnrm clean`: the leftovers of runs killed before their teardown;
//! with `--results`, the result store instead.

use std::io::Write;

use clnrm_core::backend::clean_leftovers;
use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::results::{DirStore, ResultStore, default_location};

use crate::cli::CleanArgs;
use crate::error::{CliError, exit};

pub fn run(args: &CleanArgs, stdout: &mut dyn Write) -> Result<u8, CliError> {
    if args.results {
        return clean_results(stdout);
    }
    let removed = clean_leftovers().map_err(|e| CliError::Usage(e.to_string()))?;
    for id in &removed.containers {
        writeln!(stdout, "removed container {}", &id[..id.len().min(12)])?;
    }
    for name in &removed.networks {
        writeln!(stdout, "removed network {name}")?;
    }
    writeln!(
        stdout,
        "{} container(s) and {} network(s) of killed runs removed; {} kept (live runs, or another host's)",
        removed.containers.len(),
        removed.networks.len(),
        removed.kept
    )?;
    Ok(exit::SUCCESS)
}

/// Empties the store `run` and the harness write here: every test runs
/// next time, `--changed` or not.
fn clean_results(stdout: &mut dyn Write) -> Result<u8, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let config = Config::load(&cwd, &ConfigOverrides::default())?;
    let store = DirStore::new(default_location(&cwd, &config));
    let removed = store.clear().map_err(|e| {
        CliError::Usage(format!(
            "cannot empty the result store `{}`: {e}",
            store.dir().display()
        ))
    })?;
    writeln!(
        stdout,
        "{removed} stored result(s) removed from {}",
        store.dir().display()
    )?;
    Ok(exit::SUCCESS)
}
