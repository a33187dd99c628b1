//! Whether to color output: `--color` > `CARGO_TERM_COLOR` > `NO_COLOR` > terminal.

use std::io::IsTerminal;

use crate::cli::ColorWhen;

pub fn use_color(flag: Option<ColorWhen>) -> bool {
    let from_env = || match std::env::var("CARGO_TERM_COLOR").ok().as_deref() {
        Some("always") => Some(ColorWhen::Always),
        Some("never") => Some(ColorWhen::Never),
        Some("auto") => Some(ColorWhen::Auto),
        _ => None,
    };
    match flag.or_else(from_env).unwrap_or(ColorWhen::Auto) {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}
