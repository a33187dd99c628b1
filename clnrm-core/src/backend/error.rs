//! What can go wrong running a step, on any backend.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("`{program}`: command not found")]
    NotFound { program: String },
    #[error("`{program}` could not be started: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the step has an empty command")]
    EmptyCommand,
    /// The engine could not be reached or refused; the message says what to do.
    #[error("{0}")]
    Engine(String),
    /// An image that is not there and could not be had; the message says
    /// the next step for that name.
    #[error("{message}")]
    Image { image: String, message: String },
    /// A host binary that cannot start in the container's image, and why.
    #[error("{0}")]
    Linking(String),
    #[error("the working directory `{0}` does not exist")]
    MissingWorkdir(PathBuf),
}
