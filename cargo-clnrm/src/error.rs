//! One error type for the binary, mapping every failure to a documented exit code.

use std::fmt::Write;

/// Exit codes (documented in `docs/cli.md`).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// The input has problems, or tests failed.
    pub const PROBLEMS: u8 = 1;
    /// A usage or setup error (bad manifest, missing path, ...).
    pub const SETUP: u8 = 2;
    /// Interrupted (Ctrl-C / SIGTERM), as shells report it: 128 + SIGINT.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("the clnrm configuration could not be loaded")]
    Config(#[from] clnrm_core::config::ConfigError),
    #[error("cannot determine the current directory")]
    CurrentDir(#[source] std::io::Error),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output")]
    Output(#[from] std::io::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        exit::SETUP
    }

    /// The headline and its "Caused by:" chain, as cargo prints errors.
    pub fn report(&self) -> String {
        let mut out = format!("error: {self}\n");
        let mut source = std::error::Error::source(self);
        if source.is_some() {
            out.push_str("\nCaused by:\n");
        }
        while let Some(cause) = source {
            let _ = writeln!(out, "  {cause}");
            source = cause.source();
        }
        out
    }
}
