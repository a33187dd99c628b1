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

pub use env::{
    ENVIRONMENT, EnvVar, junit_locations, junit_path, keep_on_failure, log_filter, result_dir,
    skip_unavailable, slot_dir, tags,
};
pub use error::ConfigError;
pub use layer::{CONFIG_KEYS, Config, ConfigOverrides, DEFAULT_ROOT};
