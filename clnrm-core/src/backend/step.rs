//! A step as a backend sees it: the request, how it ended, what it did, and
//! the [`Backend`] trait that runs it.

use std::path::PathBuf;
use std::time::Duration;

use super::cancel::CancelToken;
use super::error::BackendError;

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
    /// The container's memory limit (MB) when the kernel killed the step's
    /// program for going over it.
    pub killed_for_memory: Option<u32>,
    /// How it ran, when that was not as written (a fresh container of a
    /// service that had exited): for the step's report.
    pub note: Option<String>,
}

impl StepOutput {
    /// What a program in a container did, from the bytes it wrote.
    pub(super) fn read(
        end: StepEnd,
        exit_code: Option<i32>,
        stdout: &[u8],
        stderr: &[u8],
        duration: Duration,
    ) -> Self {
        Self {
            end,
            exit_code,
            signal: None,
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
            duration,
            killed_for_memory: None,
            note: None,
        }
    }
}

/// Runs steps. Implementations own what they create and clean it up.
pub trait Backend {
    fn run_step(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError>;
}
