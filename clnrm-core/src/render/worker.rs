//! Render workers: each calling thread hands its renderings to one long-lived
//! worker thread, so a rendering can be abandoned at its deadline without a
//! thread (and a copy of the template engine) per rendering.
//!
//! A worker keeps its own copy of the engine's base `Tera` and only adds the
//! templates of each job. When a job misses its deadline the caller marks it
//! abandoned and forgets that worker: the rendering stops at its next loop
//! iteration or macro call (see `fuel`), the worker exits when it sees its
//! job channel closed, and the next rendering starts a fresh worker.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use tera::Tera;

use super::budget::CappedWriter;
use super::functions::{self, RenderState};

/// Stack for template parsing and rendering (both recurse with nesting).
/// The budget's worst case (32 macros calling each other, each call inside
/// 31 nested blocks and 64 operators, in 8 nested includes) needs about 30
/// MiB in a debug build; only the pages used are ever backed by memory.
const WORKER_STACK: usize = 64 << 20;

/// One rendering to do.
pub(crate) struct Job {
    pub base: Arc<Tera>,
    /// (name, text) of every template; the last one is rendered.
    pub templates: Vec<(String, String)>,
    pub context: tera::Context,
    pub state: RenderState,
    pub output_limit: usize,
}

pub(crate) type JobResult = Result<(Vec<u8>, RenderState), tera::Error>;

/// How a job ended, seen from the caller.
pub(crate) enum Outcome {
    Done(JobResult),
    TimedOut,
    Unavailable(String),
}

struct Envelope {
    job: Job,
    reply: Sender<JobResult>,
}

thread_local! {
    static WORKER: RefCell<Option<Sender<Envelope>>> = const { RefCell::new(None) };
}

fn spawn_worker() -> std::io::Result<Sender<Envelope>> {
    let (sender, receiver) = mpsc::channel::<Envelope>();
    std::thread::Builder::new()
        .name("clnrm-render".into())
        .stack_size(WORKER_STACK)
        .spawn(move || work(receiver))?;
    Ok(sender)
}

fn work(jobs: Receiver<Envelope>) {
    let mut engine: Option<(Arc<Tera>, Tera)> = None;
    for Envelope { job, reply } in jobs {
        let fresh = !matches!(&engine, Some((base, _)) if Arc::ptr_eq(base, &job.base));
        if fresh {
            engine = Some((Arc::clone(&job.base), (*job.base).clone()));
        }
        let Some((_, tera)) = engine.as_mut() else {
            continue;
        };
        let result = run(tera, job);
        if result.is_err() {
            // A failed job may leave half-added templates behind: start clean.
            engine = None;
        }
        // The caller may have given up at its deadline; nothing to do then.
        let _ = reply.send(result);
    }
}

fn run(tera: &mut Tera, job: Job) -> JobResult {
    let Job {
        templates,
        context,
        state,
        output_limit,
        ..
    } = job;
    let name = templates.last().map(|(n, _)| n.clone()).unwrap_or_default();
    quietly(|| tera.add_raw_templates(templates.iter().map(|(n, t)| (n.as_str(), t.as_str()))))?;
    let mut writer = CappedWriter {
        buffer: Vec::new(),
        limit: output_limit,
    };
    let (outcome, state) = functions::with_state(state, || {
        quietly(|| tera.render_to(&name, &context, &mut writer))
    });
    outcome.map(|()| (writer.buffer, state))
}

thread_local! {
    /// This thread is inside Tera, where a panic is an answer about the template.
    static IN_ENGINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with Tera's panics made errors. Some templates reach an
/// `unreachable!` in Tera (`{{ 1 + self::m() }}`: arithmetic on a macro
/// call); that is a template error, not a crash, and prints nothing.
fn quietly(f: impl FnOnce() -> tera::Result<()>) -> tera::Result<()> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_ENGINE.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    IN_ENGINE.with(|flag| flag.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_ENGINE.with(|flag| flag.set(false));
    result.unwrap_or_else(|payload| {
        let reason = (payload.downcast_ref::<String>().map(String::as_str))
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(tera::Error::msg(format!(
            "the template engine failed on this template ({reason})"
        )))
    })
}

/// Renders on this thread's worker, waiting at most `deadline`.
pub(crate) fn render(job: Job, deadline: Duration) -> Outcome {
    let abandoned = Arc::clone(&job.state.abandoned);
    let (reply, result) = mpsc::channel();
    let sent = WORKER.with(|slot| {
        let mut slot = slot.borrow_mut();
        let envelope = Envelope { job, reply };
        let envelope = match slot.as_ref() {
            Some(worker) => match worker.send(envelope) {
                Ok(()) => return Ok(()),
                // The worker is gone (it panicked): replace it.
                Err(mpsc::SendError(envelope)) => envelope,
            },
            None => envelope,
        };
        let worker = spawn_worker().map_err(|e| e.to_string())?;
        worker
            .send(envelope)
            .map_err(|_| "the render worker stopped at once".to_string())?;
        *slot = Some(worker);
        Ok(())
    });
    if let Err(reason) = sent {
        return Outcome::Unavailable(reason);
    }
    match result.recv_timeout(deadline) {
        Ok(done) => Outcome::Done(done),
        Err(RecvTimeoutError::Timeout) => {
            // The worker stops at its next loop iteration or macro call.
            abandoned.store(true, Ordering::Relaxed);
            WORKER.with(|slot| slot.borrow_mut().take());
            Outcome::TimedOut
        }
        Err(RecvTimeoutError::Disconnected) => {
            WORKER.with(|slot| slot.borrow_mut().take());
            Outcome::Unavailable("the render worker stopped".into())
        }
    }
}
