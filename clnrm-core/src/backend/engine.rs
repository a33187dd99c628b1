//! The engine connection: where the engine is, connecting to it, whether it
//! answers, and the words for its failures; the labels on what a run creates.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use tokio::runtime::Runtime;

use super::error::BackendError;

/// Labels on everything a run creates: which run, which process (its pid,
/// when it started, since which boot: a pid alone may be reused), which host.
pub fn run_labels() -> HashMap<String, String> {
    let me = super::leftovers::Process::me();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut labels = HashMap::from([
        ("clnrm.run".to_string(), run_id()),
        ("clnrm.pid".to_string(), std::process::id().to_string()),
        ("clnrm.host".to_string(), host.trim().to_string()),
    ]);
    if let Some(started) = me.started {
        labels.insert("clnrm.started".into(), started.to_string());
    }
    if let Some(boot) = me.boot {
        labels.insert("clnrm.boot".into(), boot);
    }
    labels.extend(runner_labels(|name| std::env::var(name).ok()));
    labels
}

/// The test runner's own run, where it names one: nextest's
/// `NEXTEST_RUN_ID`, so `docker ps --filter label=nextest.run-id=...`
/// finds a CI job's containers.
fn runner_labels(var: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    (var("NEXTEST_RUN_ID").filter(|id| !id.is_empty()))
        .map(|id| ("nextest.run-id".to_string(), id))
        .into_iter()
        .collect()
}

pub(crate) fn run_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{}-{:08x}", std::process::id(), fastrand::u32(..)))
        .clone()
}

/// The engine the process talks to: `DOCKER_HOST`, else the local socket.
fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

pub(crate) fn engine_unreachable(error: impl std::fmt::Display) -> BackendError {
    BackendError::Engine(format!(
        "cannot reach the Docker engine at {} ({error}): start Docker, or point DOCKER_HOST at a running engine",
        engine_address()
    ))
}

/// What failed while `doing` something with the engine: its own words when
/// it answered, else that it could not be reached, and what to do then.
pub(crate) fn engine_failed(doing: &str, error: bollard::errors::Error) -> BackendError {
    match error {
        e @ bollard::errors::Error::DockerResponseServerError { .. } => {
            BackendError::Engine(format!("{doing}: the engine said: {}", engine_reason(e)))
        }
        e => BackendError::Engine(format!("{doing}: {}", engine_unreachable(e))),
    }
}

/// The engine's own words, without bollard's wrapping.
pub(crate) fn engine_reason(error: bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        bollard::errors::Error::DockerStreamError { error } => error,
        e => e.to_string(),
    }
}

/// A runtime to drive the engine's API on this thread, and a client of the
/// engine (which does not reach it yet).
pub(crate) fn connect() -> Result<(Runtime, Docker), BackendError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BackendError::Engine(format!("cannot start the engine client: {e}")))?;
    let docker = Docker::connect_with_defaults().map_err(engine_unreachable)?;
    Ok((runtime, docker))
}

/// Whether the engine answers, within two seconds; the error says what to do.
pub fn engine_status() -> Result<(), BackendError> {
    let (runtime, docker) = connect()?;
    runtime.block_on(async {
        match tokio::time::timeout(Duration::from_secs(2), docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(engine_unreachable(e)),
            Err(_) => Err(engine_unreachable("no answer within 2 s")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::runner_labels;

    #[test]
    fn a_nextest_run_labels_what_it_creates() {
        let under_nextest =
            runner_labels(|name| (name == "NEXTEST_RUN_ID").then(|| "0b7e-run".to_string()));
        assert_eq!(
            under_nextest,
            [("nextest.run-id".to_string(), "0b7e-run".to_string())]
        );
        assert!(runner_labels(|_| None).is_empty());
        assert!(runner_labels(|_| Some(String::new())).is_empty());
    }
}
