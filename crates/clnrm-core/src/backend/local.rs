//! The local backend: each step is a host process in its own process group,
//! so a timeout or cancellation kills everything it started.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{Backend, BackendError, CancelToken, StepEnd, StepOutput, StepRequest};

/// How often a running step looks at the cancellation token.
const CANCEL_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, Default)]
pub struct LocalBackend;

/// The program as the step's own `PATH` finds it. Looking it up here (rather
/// than letting the child do it) lets the standard library use `posix_spawn`,
/// which is several times cheaper than fork + exec for a cleared environment.
fn resolve(program: &str, env: &[(String, String)], workdir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        // `./tool` means the step's directory, as in a shell there.
        return Some(workdir.join(program));
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())?;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn read_all(mut source: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = source.read_to_end(&mut buffer);
        buffer
    })
}

impl Backend for LocalBackend {
    fn run_step(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        let (program, args) = request
            .argv
            .split_first()
            .ok_or(BackendError::EmptyCommand)?;
        if !request.workdir.is_dir() {
            // Otherwise spawning fails with ENOENT and blames the program.
            return Err(BackendError::MissingWorkdir(request.workdir.clone()));
        }
        let executable = resolve(program, &request.env, &request.workdir).ok_or_else(|| {
            BackendError::NotFound {
                program: program.clone(),
            }
        })?;
        let started = Instant::now();
        let mut command = Command::new(&executable);
        command
            .arg0(program)
            .args(args)
            .env_clear()
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&request.workdir)
            .stdin(if request.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => BackendError::NotFound {
                program: program.clone(),
            },
            _ => BackendError::Spawn {
                program: program.clone(),
                source,
            },
        })?;
        if let (Some(mut pipe), Some(text)) = (child.stdin.take(), request.stdin.clone()) {
            // A program that does not read its input must not block us: write on the side.
            std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            });
        }
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let group = Pid::from_raw(child.id() as i32);
        let (end, status) = wait(child, request.timeout, cancel, started);
        // Whatever the step left running in its group goes too, so pipes close
        // and nothing outlives the step.
        let _ = killpg(group, Signal::SIGKILL);
        let collect = |h: Option<JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        Ok(StepOutput {
            end,
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            stdout: collect(stdout),
            stderr: collect(stderr),
            duration: started.elapsed(),
        })
    }

    fn runs_on_host(&self) -> bool {
        true
    }
}

/// Waits for the step with a deadline, killing its group at the deadline or on
/// cancellation. The child moves to a waiter thread (`Child::wait` blocks).
fn wait(
    mut child: Child,
    timeout: Duration,
    cancel: &CancelToken,
    started: Instant,
) -> (StepEnd, Option<std::process::ExitStatus>) {
    let group = Pid::from_raw(child.id() as i32);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait().ok());
    });
    let mut end = StepEnd::Exited;
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        // Once killed, only the status is awaited.
        let patience = if end == StepEnd::Exited {
            left.min(CANCEL_POLL)
        } else {
            CANCEL_POLL
        };
        match receiver.recv_timeout(patience) {
            Ok(status) => return (end, status),
            Err(mpsc::RecvTimeoutError::Disconnected) => return (end, None),
            Err(mpsc::RecvTimeoutError::Timeout) if end != StepEnd::Exited => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if started.elapsed() >= timeout {
                    end = StepEnd::TimedOut;
                } else if cancel.is_cancelled() {
                    end = StepEnd::Cancelled;
                } else {
                    continue;
                }
                // The kill ends the wait; the loop then collects the status.
                let _ = killpg(group, Signal::SIGKILL);
            }
        }
    }
}
