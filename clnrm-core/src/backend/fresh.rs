//! A step in a service whose container has exited runs in a fresh container
//! made like the service's (its image, environment, volumes, working
//! directory, and its name on the scenario's network), as `docker compose
//! run` does: the original tool ran every step in a fresh container, so its
//! files often declare services that print a line and exit, then run steps
//! "in" them. A service that exited with an error is no such service: that
//! fails the scenario before its first step.

use std::time::Instant;

use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::cancel::CancelToken;
use super::engine::{engine_failed, run_id};
use super::error::BackendError;
use super::exec::{feed, read_until_end};
use super::step::{StepEnd, StepOutput, StepRequest};
use super::world::{ContainerBackend, NewContainer};

/// Lines of an exited service's output shown when it failed.
const LAST_LINES: usize = 20;

/// A container's state as a step needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Running,
    /// It has stopped, with this exit code.
    Exited(i64),
}

impl ContainerBackend {
    pub(super) fn state_of(&self, container: &str) -> Result<State, BackendError> {
        let inspected = self
            .runtime
            .block_on(self.docker.inspect_container(container, None))
            .map_err(|e| engine_failed("cannot read a service's state", e))?;
        let state = inspected.state.unwrap_or_default();
        Ok(match state.running {
            Some(true) => State::Running,
            _ => State::Exited(state.exit_code.unwrap_or(0)),
        })
    }

    /// Fails when a service exited with an error before the first step:
    /// its exit code and its last output say why.
    pub(super) fn check_services_alive(&self) -> Result<(), BackendError> {
        for (service, container) in &self.services {
            if let State::Exited(code) = self.state_of(container)?
                && code != 0
            {
                return Err(self.exited_with_error(
                    service,
                    container,
                    code,
                    "before the first step",
                ));
            }
        }
        Ok(())
    }

    /// Service `service` (`container`) exited with `code`, not 0, `when`.
    pub(super) fn exited_with_error(
        &self,
        service: &str,
        container: &str,
        code: i64,
        when: &str,
    ) -> BackendError {
        let output = self.output_of(container, Some(LAST_LINES), true);
        BackendError::Engine(format!(
            "service `{service}` exited with code {code} {when} (its last output: {:?})",
            output.trim_end()
        ))
    }

    /// Runs `request` in a new container made like `service`'s, removed
    /// after; the output says so in its note.
    pub(super) fn run_fresh(
        &self,
        service: &str,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        let run = (self.service_runs.get(service))
            .ok_or_else(|| BackendError::Engine(format!("service `{service}` is not running")))?;
        // The step's variables win over the service's.
        let mut env: Vec<(String, String)> = (run.env.iter())
            .filter(|(k, _)| !request.env.iter().any(|(name, _)| name == k))
            .cloned()
            .collect();
        env.extend(request.env.iter().cloned());
        let workdir = (request.workdir.as_ref())
            .map(|d| d.to_string_lossy().into_owned())
            .or_else(|| run.working_dir.clone());
        // The step's argv exactly, as an exec runs it: its program is the
        // entrypoint, and the image's command is not appended.
        let mut body = self.container_body(NewContainer {
            image: &run.image,
            entrypoint: Some(request.argv[..1].to_vec()),
            cmd: Vec::new(),
            env: &env,
            alias: Some(service),
            ports: &[],
            mounts: run.mounts.clone(),
            working_dir: workdir.as_deref(),
        });
        body.cmd = Some(request.argv[1..].to_vec());
        if request.stdin.is_some() {
            body.open_stdin = Some(true);
            body.stdin_once = Some(true);
            body.attach_stdin = Some(true);
        }
        let name = format!("clnrm-{}-{:08x}", run_id(), fastrand::u32(..));
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = (self.runtime)
            .block_on(self.docker.create_container(Some(options), body))
            .map_err(|e| {
                engine_failed(
                    &format!("cannot make a fresh container of service `{service}`"),
                    e,
                )
            })?
            .id;
        let result = self
            .runtime
            .block_on(self.attach_and_wait(&id, request, cancel));
        // Removed whatever happened (a run killed meanwhile leaves it to the
        // next run's sweep: it carries the run's labels).
        let remove = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let _ = (self.runtime).block_on(self.docker.remove_container(&id, Some(remove)));
        let mut output = result?;
        output.note = Some(format!(
            "ran in a fresh container of service `{service}`, whose own container had exited (as `docker compose run` does)"
        ));
        Ok(output)
    }

    async fn attach_and_wait(
        &self,
        id: &str,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        let started = Instant::now();
        let attach = AttachContainerOptionsBuilder::default()
            .stream(true)
            .logs(true)
            .stdout(true)
            .stderr(true)
            .stdin(request.stdin.is_some())
            .build();
        let attached = (self.docker.attach_container(id, Some(attach)).await)
            .map_err(|e| engine_failed("cannot run the step in a fresh container", e))?;
        let (mut output, mut input) = (attached.output, attached.input);
        (self.docker.start_container(id, None).await)
            .map_err(|e| engine_failed("the fresh container did not start", e))?;
        feed(&mut input, request.stdin.as_deref()).await;
        let (end, stdout, stderr) =
            read_until_end(&mut output, started + request.timeout, cancel).await?;
        let exit_code = match end {
            StepEnd::Exited => {
                let mut wait = self.docker.wait_container(id, None);
                match wait.next().await {
                    Some(Ok(done)) => i32::try_from(done.status_code).ok(),
                    // bollard says a non-zero exit as an error carrying the code.
                    Some(Err(bollard::errors::Error::DockerContainerWaitError {
                        code, ..
                    })) => i32::try_from(code).ok(),
                    Some(Err(e)) => {
                        return Err(engine_failed(
                            "lost the engine while the step ran, so its end is unknown",
                            e,
                        ));
                    }
                    None => None,
                }
            }
            _ => {
                let _ = self.docker.kill_container(id, None).await;
                None
            }
        };
        let oom_killed = (self.docker.inspect_container(id, None).await)
            .ok()
            .and_then(|c| c.state?.oom_killed)
            .unwrap_or(false);
        let mut output = StepOutput::read(end, exit_code, &stdout, &stderr, started.elapsed());
        output.killed_for_memory = self.limits.memory_mb.filter(|_| oom_killed);
        Ok(output)
    }
}
