//! Configuration: `[package.metadata.clnrm]` and `[workspace.metadata.clnrm]`.
//!
//! Precedence: command-line flag > `CLNRM_*` environment variable > package >
//! workspace > built-in default. Manifests are read directly (not through
//! `cargo metadata`) so `validate` and `list` start in milliseconds.

mod env;
mod error;
mod layer;
mod load;
mod manifest;

pub use env::{ENVIRONMENT, EnvVar, Switches};

pub(crate) use env::{keep_on_failure, skip_unavailable, slot_dir};
pub use error::ConfigError;
pub use layer::{CONFIG_KEYS, Config, ConfigOverrides};
