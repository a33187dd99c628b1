//! The settings a scenario runs under that come from configuration and the
//! environment, not from its file.

use std::path::PathBuf;
use std::time::Duration;

use crate::backend::{CancelToken, PullPolicy};
use crate::config::Config;
use crate::scenario::Backend as BackendKind;

/// Settings that come from configuration, not from the file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunSettings {
    pub step_timeout: Duration,
    pub scenario_timeout: Duration,
    /// Host environment variables passed to steps besides `PATH`.
    pub env_passthrough: Vec<String>,
    /// Overrides `[meta] backend` (`--backend`).
    pub backend: Option<BackendKind>,
    /// The runner image of scenarios that name none.
    pub default_image: String,
    /// Leave a failed scenario's containers running, to look into them.
    pub keep_on_failure: bool,
    /// Most containers running at once, across every clnrm process here.
    pub max_containers: usize,
    /// When named images are pulled (`--pull`, `pull`, `CLNRM_PULL`).
    pub pull: PullPolicy,
    /// The crate's binaries (`bin.<name>`), mounted read-only into runner
    /// containers at the same path, so `{{ bin.name }}` works there too:
    /// the ones cargo named (`CARGO_BIN_EXE_<name>`) ...
    pub binaries: Vec<PathBuf>,
    /// ... and the ones cargo builds, asked for only when a runner starts.
    pub crate_binaries: crate::binaries::Binaries,
    pub cancel: CancelToken,
    /// The run's trace and its `clnrm.run` span: every scenario's own spans
    /// hang under it.
    pub trace: crate::run_trace::TraceParent,
    /// Record every scenario's own spans (a driver writes or forwards run
    /// traces). Without it they are recorded only where the file uses them:
    /// `[otel] endpoint`, or expectations that name them.
    pub record_trace: bool,
    /// The host scenarios' working directories, reused while empty.
    pub scratch: super::ScratchDirs,
}

impl RunSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            step_timeout: config.step_timeout,
            scenario_timeout: config.scenario_timeout,
            env_passthrough: config.env_passthrough.clone(),
            backend: None,
            default_image: config.default_image.clone(),
            binaries: crate::binaries::named_in_env().into_values().collect(),
            crate_binaries: config.binaries.clone(),
            max_containers: config
                .max_containers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            pull: config.pull,
            keep_on_failure: crate::config::keep_on_failure(),
            cancel: CancelToken::new(),
            trace: crate::run_trace::TraceParent::random(),
            record_trace: false,
            scratch: super::ScratchDirs::default(),
        }
    }
}
