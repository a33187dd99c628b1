//! The local backend: each step is a host process in its own process group,
//! so a timeout or cancellation kills everything it started.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{Backend, BackendError, CancelToken, StepEnd, StepOutput, StepRequest};

/// How often a running step looks at the cancellation token.
const CANCEL_POLL: Duration = Duration::from_millis(50);
/// How often the pipe reader checks whether the program exited while
/// something else keeps its pipes open.
const PIPE_POLL_MS: u16 = 20;

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
        let group = Pid::from_raw(child.id() as i32);
        let (end, (status, stdout, stderr)) = wait(child, request.timeout, cancel, started);
        // Whatever the step left running in its group goes too: nothing outlives the step.
        let _ = killpg(group, Signal::SIGKILL);
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        Ok(StepOutput {
            end,
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            stdout: text(stdout),
            stderr: text(stderr),
            duration: started.elapsed(),
        })
    }

    fn runs_on_host(&self) -> bool {
        true
    }
}

type Finished = (Option<ExitStatus>, Vec<u8>, Vec<u8>);

/// One thread per step reads both pipes and reaps the child (fewer threads
/// than a reader per pipe plus a waiter: this is on every step's path).
fn pump(mut child: Child) -> Finished {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    // As plain files, so both pipes are one type.
    let mut stdout = child
        .stdout
        .take()
        .map(|p| std::fs::File::from(std::os::fd::OwnedFd::from(p)));
    let mut stderr = child
        .stderr
        .take()
        .map(|p| std::fs::File::from(std::os::fd::OwnedFd::from(p)));
    let group = Pid::from_raw(child.id() as i32);
    let mut buffer = [0u8; 8192];
    while stdout.is_some() || stderr.is_some() {
        let mut fds = Vec::with_capacity(2);
        if let Some(pipe) = &stdout {
            fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLIN));
        }
        if let Some(pipe) = &stderr {
            fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLIN));
        }
        let ready = poll(&mut fds, PollTimeout::from(PIPE_POLL_MS)).unwrap_or(0);
        let readable: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(true)).collect();
        drop(fds);
        if ready == 0 {
            // The program may have exited while something it started keeps the
            // pipes open: end that too, so the pipes close.
            if matches!(child.try_wait(), Ok(Some(_))) {
                let _ = killpg(group, Signal::SIGKILL);
            }
            continue;
        }
        let mut index = 0;
        for (pipe, sink) in [(&mut stdout, &mut out), (&mut stderr, &mut err)] {
            let Some(reader) = pipe.as_mut() else {
                continue;
            };
            let is_ready = readable.get(index).copied().unwrap_or(false);
            index += 1;
            if !is_ready {
                continue;
            }
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => *pipe = None,
                Ok(n) => sink.extend_from_slice(&buffer[..n]),
            }
        }
    }
    let status = child.wait().ok();
    (status, out, err)
}

/// Waits for the step with a deadline, killing its group at the deadline or on
/// cancellation. The child moves to a waiter thread (`Child::wait` blocks).
fn wait(
    child: Child,
    timeout: Duration,
    cancel: &CancelToken,
    started: Instant,
) -> (StepEnd, Finished) {
    let group = Pid::from_raw(child.id() as i32);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(pump(child));
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
            Ok(finished) => return (end, finished),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return (end, (None, Vec::new(), Vec::new()));
            }
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
