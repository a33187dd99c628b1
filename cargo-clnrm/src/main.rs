//! `cargo clnrm`: the cargo subcommand driving clnrm-core.

mod cli;
mod color;
mod commands;
mod diagnostics;
mod error;
mod logging;
mod reporters;
mod watch;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// cargo runs `cargo-clnrm clnrm <args>`; a direct `cargo-clnrm <args>` works too.
fn arguments() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "clnrm") {
        args.remove(1);
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(arguments());
    let color = color::use_color(cli.global.color);
    logging::init(cli.global.verbose, cli.global.quiet, color);
    let stdout = std::io::stdout();
    // Stderr stays unlocked: worker threads log there while a command runs.
    let (mut out, mut err) = (stdout.lock(), std::io::stderr());
    let result: Result<u8, CliError> = match &cli.command {
        Command::Validate(args) => commands::validate::run(args, color, &mut out, &mut err),
        Command::List(args) => commands::list::run(args, &mut out, &mut err),
        Command::Run(args) => commands::run::run(args, color, &mut out, &mut err),
        Command::Watch(args) => watch::run(args, color, &mut out, &mut err),
        Command::Diff(args) => commands::diff::run(args, color, &mut out, &mut err),
        Command::Init(args) => commands::init::run(args, &mut out),
        Command::Clean(args) => commands::clean::run(args, &mut out),
        Command::Test(args) => {
            // The runner owns the terminal from here; our buffered output goes first.
            let _ = out.flush();
            commands::test::run(args, &mut err)
        }
    };
    // Background work (the sweep of killed runs' leftovers, the folding of
    // the result store's logs) is not cut short by the exit.
    clnrm_core::background::finish();
    let _ = out.flush();
    match result {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`cargo clnrm list | head`) is not a failure.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = write!(err, "{}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}
