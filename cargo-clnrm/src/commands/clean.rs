//! `cargo clnrm clean`: the leftovers of runs killed before their teardown.

use std::io::Write;

use clnrm_core::backend::clean_leftovers;

use crate::error::{CliError, exit};

pub fn run(stdout: &mut dyn Write) -> Result<u8, CliError> {
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
