//! The container backend: one runner container per scenario, each step exec'd
//! into it as argv through the engine's API (no CLI, no shell).
//!
//! The container is created with no network (a scenario without services needs
//! none), labelled with the run, and removed, forced and time-bounded, when the
//! scope ends. A step that reaches its limit kills the container: the scenario
//! ends there anyway, and an exec cannot be killed on its own.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;

use super::{Backend, BackendError, CancelToken, StepEnd, StepOutput, StepRequest};

/// How long teardown may take before it is given up (the labels still let
/// `docker ps --filter label=clnrm.run` find what is left).
const TEARDOWN_LIMIT: Duration = Duration::from_secs(10);
/// How often a running exec checks the cancellation token.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Labels on everything a run creates: which run, which process, which host.
pub fn run_labels() -> HashMap<String, String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    HashMap::from([
        ("clnrm.run".to_string(), run_id()),
        ("clnrm.pid".to_string(), std::process::id().to_string()),
        ("clnrm.host".to_string(), host.trim().to_string()),
    ])
}

fn run_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{}-{:08x}", std::process::id(), fastrand::u32(..)))
        .clone()
}

/// The engine the process talks to: `DOCKER_HOST`, else the local socket.
fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// One scenario's runner container; dropping it removes the container.
#[derive(Debug)]
pub struct ContainerBackend {
    runtime: Runtime,
    docker: Docker,
    container: String,
}

fn unreachable(error: impl std::fmt::Display) -> BackendError {
    BackendError::Engine(format!(
        "cannot reach the Docker engine at {} ({error}): start Docker, or point DOCKER_HOST at a running engine",
        engine_address()
    ))
}

impl ContainerBackend {
    /// Creates and starts the runner container from `image` (never pulled).
    pub fn start(image: &str) -> Result<Self, BackendError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackendError::Engine(format!("cannot start the engine client: {e}")))?;
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            // Keep the container alive between execs, whatever the image's command.
            entrypoint: Some(vec!["sleep".into()]),
            cmd: Some(vec!["2147483647".into()]),
            labels: Some(run_labels()),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                privileged: Some(false),
                init: Some(true),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let name = format!("clnrm-{}-{:08x}", run_id(), fastrand::u32(..));
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = runtime.block_on(docker.create_container(Some(options), body));
        let container = match created {
            Ok(response) => response.id,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Err(BackendError::Engine(format!(
                    "image `{image}` is not available locally and is never pulled: build it (`bash scripts/fixture-images.sh` builds clnrm-busybox:latest) or `docker pull {image}`"
                )));
            }
            Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) => {
                return Err(BackendError::Engine(format!(
                    "the engine refused the runner container: {e}"
                )));
            }
            Err(e) => return Err(unreachable(e)),
        };
        let backend = Self {
            runtime,
            docker,
            container,
        };
        backend
            .runtime
            .block_on(backend.docker.start_container(&backend.container, None))
            .map_err(|e| {
                BackendError::Engine(format!("the runner container did not start: {e}"))
            })?;
        Ok(backend)
    }

    pub fn container_id(&self) -> &str {
        &self.container
    }

    fn kill(&self) {
        let _ = self
            .runtime
            .block_on(self.docker.kill_container(&self.container, None));
    }

    async fn exec(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        let started = Instant::now();
        let env: Vec<String> = request
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let options = CreateExecOptions {
            cmd: Some(request.argv.clone()),
            env: Some(env),
            working_dir: request
                .workdir
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned()),
            attach_stdin: Some(request.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..CreateExecOptions::default()
        };
        let exec = self
            .docker
            .create_exec(&self.container, options)
            .await
            .map_err(|e| {
                BackendError::Engine(format!("cannot run the step in the container: {e}"))
            })?;
        let started_exec = self
            .docker
            .start_exec(&exec.id, Some(StartExecOptions::default()))
            .await
            .map_err(|e| {
                BackendError::Engine(format!("cannot run the step in the container: {e}"))
            })?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started_exec
        else {
            return Err(BackendError::Engine("the engine detached the step".into()));
        };
        if let Some(text) = &request.stdin {
            let _ = input.write_all(text.as_bytes()).await;
        }
        // Closing our side is the program's end of input.
        let _ = input.shutdown().await;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let deadline = tokio::time::Instant::from_std(started + request.timeout);
        let end = loop {
            let tick =
                tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + CANCEL_POLL));
            tokio::select! {
                chunk = output.next() => match chunk {
                    Some(Ok(LogOutput::StdOut { message })) => stdout.extend_from_slice(&message),
                    Some(Ok(LogOutput::StdErr { message })) => stderr.extend_from_slice(&message),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break StepEnd::Exited,
                },
                () = tick => {
                    if tokio::time::Instant::now() >= deadline {
                        break StepEnd::TimedOut;
                    }
                    if cancel.is_cancelled() {
                        break StepEnd::Cancelled;
                    }
                }
            }
        };
        let exit_code = match end {
            StepEnd::Exited => self
                .docker
                .inspect_exec(&exec.id)
                .await
                .ok()
                .and_then(|i| i.exit_code)
                .and_then(|c| i32::try_from(c).ok()),
            _ => None,
        };
        // The engine reports a program or directory missing from the image as
        // output of the exec (126/127): say what it means.
        if end == StepEnd::Exited && matches!(exit_code, Some(126 | 127)) {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
            if said.contains("OCI runtime exec failed") {
                if said.contains("chdir to cwd") {
                    let dir = request.workdir.clone().unwrap_or_default();
                    return Err(BackendError::MissingWorkdir(dir));
                }
                if said.contains("executable file not found")
                    || said.contains("no such file or directory")
                {
                    return Err(BackendError::NotFound {
                        program: request.argv.first().cloned().unwrap_or_default(),
                    });
                }
            }
        }
        Ok(StepOutput {
            end,
            exit_code,
            signal: None,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            duration: started.elapsed(),
        })
    }
}

impl Backend for ContainerBackend {
    fn run_step(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        if request.argv.is_empty() {
            return Err(BackendError::EmptyCommand);
        }
        let output = self.runtime.block_on(self.exec(request, cancel))?;
        if output.end != StepEnd::Exited {
            // The exec cannot be killed alone; the scenario ends here anyway.
            self.kill();
        }
        Ok(output)
    }

    fn runs_on_host(&self) -> bool {
        false
    }
}

impl Drop for ContainerBackend {
    /// Forced, time-bounded removal, whatever ended the scenario.
    fn drop(&mut self) {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let remove = self.docker.remove_container(&self.container, Some(options));
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(TEARDOWN_LIMIT, remove).await });
    }
}
