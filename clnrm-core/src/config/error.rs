//! What can go wrong reading the configuration: a manifest, one of its
//! values, or a `CLNRM_*` variable.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("`{key}` in `{path}`: {message}")]
    Value {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("environment variable `{name}`: {message}")]
    Env { name: String, message: String },
}
