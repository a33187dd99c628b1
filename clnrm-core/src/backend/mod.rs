//! Where steps run. The executor talks to a [`Backend`]; `local` runs argv as
//! host processes, the container backend (next) execs into containers.

mod build;
mod cancel;
mod container;
mod image;
mod leftovers;
mod linking;
mod local;
mod slots;
pub mod spans;

pub use build::BUILD_REPOSITORY;
pub use cancel::CancelToken;
pub use container::{
    BindMount, ContainerBackend, PublishedPort, ServiceSpec, WorldSpec, engine_status, run_labels,
};
pub use image::{ImageSpec, PullPolicy, STAND_IN_IMAGES};
pub use leftovers::{Removed, clean_leftovers};
pub use local::LocalBackend;
pub use slots::{Slots, acquire as acquire_slots};

use std::path::PathBuf;
use std::time::Duration;

/// One step to run: argv, never a shell string.
#[derive(Debug, Clone)]
pub struct StepRequest {
    pub argv: Vec<String>,
    /// The complete environment of the program (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// `None`: the backend's default (the image's working directory).
    pub workdir: Option<PathBuf>,
    pub stdin: Option<String>,
    pub timeout: Duration,
    /// Run inside this service's container instead of the runner.
    pub service: Option<String>,
}

/// How a step's program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEnd {
    /// It exited (or was killed by a signal it did not get from us).
    Exited,
    /// Killed at its time limit.
    TimedOut,
    /// Killed because the run was cancelled (Ctrl-C, fail-fast).
    Cancelled,
}

/// What a step did.
#[derive(Debug, Clone)]
pub struct StepOutput {
    pub end: StepEnd,
    /// `None` when the program was ended by a signal.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

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

/// Runs steps. Implementations own what they create and clean it up.
pub trait Backend {
    fn run_step(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError>;

    /// True when steps run on the host (so execution is not hermetic).
    fn runs_on_host(&self) -> bool;
}
