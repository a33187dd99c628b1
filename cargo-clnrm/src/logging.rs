//! Log setup: `-v`/`-q` pick a level, `CLNRM_LOG` (an EnvFilter) overrides.
//! Logs go to stderr; results never go through the log.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, quiet: bool, color: bool) {
    // `-v` and `-vv` open clnrm's own crates; `-vvv` every crate's trace.
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,clnrm_core=info,clnrm_harness=info,cargo_clnrm=info",
        (false, 2) => "warn,clnrm_core=debug,clnrm_harness=debug,cargo_clnrm=debug",
        _ => "trace",
    };
    let filter = clnrm_core::config::Switches::from_env()
        .log_filter
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .try_init();
}
