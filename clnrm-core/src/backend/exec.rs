//! Running a step in the scenario's containers: one exec per step, as argv
//! through the engine's API (no CLI, no shell), bounded by its timeout.
//!
//! A step that reaches its limit kills the container: the scenario ends
//! there anyway, and an exec cannot be killed on its own.

use std::path::Path;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::cancel::CancelToken;
use super::engine::engine_failed;
use super::error::BackendError;
use super::fresh::State;
use super::linking::{explain_exit, missing_loader};
use super::step::{Backend, StepEnd, StepOutput, StepRequest};
use super::world::ContainerBackend;

/// How often a running exec checks the cancellation token.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// The engine stopped answering while a step ran: its end is unknown.
fn lost_engine(error: bollard::errors::Error) -> BackendError {
    engine_failed(
        "lost the engine while the step ran, so its end is unknown",
        error,
    )
}

/// The exit code of a program killed by SIGKILL (128 + 9), as the kernel's
/// out-of-memory killer ends it.
const SIGKILLED: i32 = 137;

impl ContainerBackend {
    /// Whether the kernel killed a process of `container` for memory since
    /// the last look: its cgroup's `oom_kill` count went up (read inside the
    /// container, cgroup v2 or v1, so a remote engine answers too).
    fn memory_kill_seen(&self, container: &str, cancel: &CancelToken) -> bool {
        let request = StepRequest {
            argv: vec![
                "cat".into(),
                "/sys/fs/cgroup/memory.events".into(),
                "/sys/fs/cgroup/memory/memory.oom_control".into(),
            ],
            env: Vec::new(),
            workdir: None,
            stdin: None,
            timeout: Duration::from_secs(5),
            service: None,
        };
        let Ok(read) = self
            .runtime
            .block_on(self.exec(container, &request, cancel))
        else {
            return false;
        };
        let kills: u64 = (read.stdout.lines())
            .filter_map(|line| line.strip_prefix("oom_kill "))
            .filter_map(|count| count.trim().parse::<u64>().ok())
            .sum();
        let mut seen = self.memory_kills.lock().unwrap_or_else(|e| e.into_inner());
        let before = seen.insert(container.to_string(), kills).unwrap_or(0);
        kills > before
    }

    fn kill(&self, container: &str) {
        let _ = self
            .runtime
            .block_on(self.docker.kill_container(container, None));
    }

    pub(super) async fn exec(
        &self,
        container: &str,
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
            .create_exec(container, options)
            .await
            .map_err(|e| engine_failed("cannot run the step in the container", e))?;
        let started_exec = self
            .docker
            .start_exec(&exec.id, Some(StartExecOptions::default()))
            .await
            .map_err(|e| engine_failed("cannot run the step in the container", e))?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started_exec
        else {
            return Err(BackendError::Engine("the engine detached the step".into()));
        };
        feed(&mut input, request.stdin.as_deref()).await;
        let (end, stdout, stderr) =
            read_until_end(&mut output, started + request.timeout, cancel).await?;
        let exit_code = match end {
            // The stream's end is the program's, or the connection's: the
            // engine says which, and an engine that does not answer is no
            // exit code.
            StepEnd::Exited => (self.docker.inspect_exec(&exec.id).await)
                .map_err(lost_engine)?
                .exit_code
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
        Ok(StepOutput::read(
            end,
            exit_code,
            &stdout,
            &stderr,
            started.elapsed(),
        ))
    }
}

/// Writes the step's input, then closes our side: the program's end of input.
pub(super) async fn feed<W: tokio::io::AsyncWrite + Unpin + ?Sized>(
    input: &mut W,
    stdin: Option<&str>,
) {
    if let Some(text) = stdin {
        let _ = input.write_all(text.as_bytes()).await;
    }
    let _ = input.shutdown().await;
}

/// Whether an exec may have failed because its container was stopping: the
/// engine refuses it (409 "is not running"), the runtime does (exit code 126
/// and words of its own: "cannot exec in a stopped state", "task ... not
/// found"), or the program was killed as the container ended (137, or no
/// exit code). The container's state then says which it was.
fn may_have_stopped(exec: &Result<StepOutput, BackendError>) -> bool {
    match exec {
        Ok(output) => {
            output.end == StepEnd::Exited && matches!(output.exit_code, Some(126 | 137) | None)
        }
        Err(BackendError::Engine(message)) => message.contains("is not running"),
        Err(_) => false,
    }
}

/// How long a container that failed an exec is watched for its end.
const STOPPING: Duration = Duration::from_secs(1);

impl ContainerBackend {
    /// `None` while the service's container runs; otherwise the step's run
    /// in a fresh container of it (it exited with 0), or why it cannot run
    /// (it exited with an error).
    fn unless_running(
        &self,
        service: &str,
        container: &str,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<Option<StepOutput>, BackendError> {
        match self.state_of(container)? {
            State::Running => Ok(None),
            State::Exited(0) => self.run_fresh(service, request, cancel).map(Some),
            State::Exited(code) => {
                Err(self.exited_with_error(service, container, code, "before this step"))
            }
        }
    }
}

/// A program's output, stdout and stderr apart, read until it ends, its
/// deadline passes or the run is cancelled.
pub(super) async fn read_until_end<S>(
    output: &mut S,
    deadline: Instant,
    cancel: &CancelToken,
) -> Result<(StepEnd, Vec<u8>, Vec<u8>), BackendError>
where
    S: futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
{
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::from_std(deadline);
    let end = loop {
        let tick =
            tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + CANCEL_POLL));
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(LogOutput::StdOut { message })) => stdout.extend_from_slice(&message),
                Some(Ok(LogOutput::StdErr { message })) => stderr.extend_from_slice(&message),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(lost_engine(e)),
                None => break StepEnd::Exited,
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
    Ok((end, stdout, stderr))
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
        let container = match &request.service {
            // No look before the exec (a round trip per step): an exec in a
            // service that has ended fails, and that failure is looked at below.
            Some(service) => self.service_container(service).ok_or_else(|| {
                BackendError::Engine(format!("service `{service}` is not running"))
            })?,
            None => self.runner.as_deref().ok_or_else(|| {
                BackendError::Engine("this scenario has no runner container".into())
            })?,
        };
        let image = self.images.get(container).map_or("", String::as_str);
        let program = request.argv[0].as_str();
        let mounted =
            request.service.is_none() && self.mounted.iter().any(|b| b == Path::new(program));
        let exec = self.runtime.block_on(self.exec(container, request, cancel));
        // The service may stop between the look and the exec: a failed exec
        // in a container that is ending is the step's, run as for one ended.
        if let Some(service) = &request.service
            && may_have_stopped(&exec)
        {
            let watched = Instant::now();
            loop {
                if let Some(ran) = self.unless_running(service, container, request, cancel)? {
                    return Ok(ran);
                }
                if watched.elapsed() >= STOPPING {
                    break;
                }
                std::thread::sleep(CANCEL_POLL);
            }
        }
        let output = match exec {
            // One of the crate's binaries, there but unable to start: say why.
            Err(BackendError::NotFound { .. }) if mounted => Err(missing_loader(program, image)
                .unwrap_or(BackendError::NotFound {
                    program: program.to_string(),
                })),
            Ok(output) if mounted && output.exit_code == Some(1) => {
                match explain_exit(program, image, &output.stderr) {
                    Some(error) => Err(error),
                    None => Ok(output),
                }
            }
            other => other,
        }?;
        if output.end != StepEnd::Exited {
            // An exec cannot be killed alone; the scenario ends here anyway.
            self.kill(container);
        }
        let mut output = output;
        if output.exit_code == Some(SIGKILLED)
            && let Some(limit) = self.limits.memory_mb
            && self.memory_kill_seen(container, cancel)
        {
            output.killed_for_memory = Some(limit);
        }
        Ok(output)
    }
}
