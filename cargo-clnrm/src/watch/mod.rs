//! `cargo clnrm watch`: feedback on every save.
//!
//! A one-way pipeline: the event source (`watcher`) and the key reader send
//! into one channel; `events` turns raw events into due paths; `session`
//! hash-gates (`gate`), validates and diffs them, remembering each file in
//! `registry`; `schedule` decides what runs under `--run`; `output` prints.
//! Only this loop has effects.

mod events;
mod gate;
mod keys;
mod output;
mod registry;
mod schedule;
mod session;
mod watcher;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use clnrm_core::executor::RunSettings;
use clnrm_core::report::ReportFiles;
use clnrm_core::results::{DirStore, InputHasher, ResultStore, SuiteResults, default_location};
use clnrm_core::runner::{Event, TestFinished, WorkerPool};
use clnrm_core::scenario::Backend;
use clnrm_core::source::special_file_kind;
use clnrm_core::suite::SuiteBuilder;

pub use watcher::WatchError;

use crate::cli::{BackendChoice, WatchArgs};
use crate::commands::workspace;
use crate::error::{CliError, exit};
use events::{Pending, Signal, classify};
use output::Printer;
use schedule::{Action, Input, Key, Schedule};
use session::{Feedback, Outcome, Session, elapsed_ms};
use watcher::{DirWatcher, RawEvent};

/// How long an unfinished write holds a file back.
const WRITER_PATIENCE: Duration = Duration::from_secs(2);

/// Everything the loop reacts to, on one channel.
#[derive(Debug)]
enum Message {
    Fs(Instant, RawEvent),
    Key(Key),
    Finished(TestFinished),
    Interrupt,
}

fn fs_message(event: RawEvent) -> Message {
    Message::Fs(Instant::now(), event)
}

pub fn run(
    args: &WatchArgs,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, CliError> {
    let started = Instant::now();
    let cwd = std::env::current_dir().map_err(CliError::CurrentDir)?;
    let input = &args.input;
    let config = workspace::config(input)?;
    let mut paths = Vec::with_capacity(input.paths.len());
    for path in &input.paths {
        if !path.exists() {
            let shown = path.display();
            return Err(CliError::Usage(format!(
                "`{shown}`: no such file or folder"
            )));
        }
        paths.push(cwd.join(path));
    }
    let mut settings = RunSettings::from_config(&config);
    settings.backend = args.backend.map(|b| match b {
        BackendChoice::Local => Backend::Local,
        BackendChoice::Container => Backend::Container,
    });
    let roots = config.roots.clone();
    // The store `run` keeps: a restart remembers what passed.
    let store: std::sync::Arc<dyn ResultStore> =
        std::sync::Arc::new(DirStore::new(default_location(&cwd, &config)));
    let builder = workspace::suite_builder(input, config).settings(settings.clone());
    let mut session = Session::new(builder.pipeline(), &paths, &roots);
    let (sender, receiver) = std::sync::mpsc::channel();
    let watcher = DirWatcher::new(
        session.watch_dirs(),
        watcher::forward(sender.clone(), fs_message),
    )?;
    let interrupt = sender.clone();
    let _ = ctrlc::set_handler(move || {
        let _ = interrupt.send(Message::Interrupt);
    });
    let keys_sender = sender.clone();
    let _terminal = keys::spawn(move |key| keys_sender.send(Message::Key(key)).is_ok());
    let jobs = args.jobs.map_or(1, usize::from);
    let finished = sender.clone();
    // The core's worker pool, as `run` uses it; the schedule keeps at most
    // `jobs` tests in it.
    let pool = WorkerPool::new(jobs, false, move |event| {
        if let Event::TestFinished(test) = event {
            let _ = finished.send(Message::Finished(test));
        }
    });
    let mut printer = Printer {
        format: input.message_format,
        color,
        stats: args.stats,
        clear: args.clear,
        stdout,
        stderr,
    };
    let mut watch = Loop {
        session: &mut session,
        watcher,
        pending: Pending::new(DirWatcher::reports_completions()),
        schedule: Schedule::new(jobs),
        first_seen: HashMap::new(),
        settings: std::sync::Arc::new(settings),
        builder,
        pool,
        run: args.run,
        tally: (0, 0),
        writing: HashMap::new(),
        held: Vec::new(),
        store,
        hasher: std::sync::Arc::new(InputHasher::default()),
        recording: HashMap::new(),
        reported: std::collections::BTreeMap::new(),
        forced: false,
    };
    watch.start(&mut printer, started)?;
    watch.serve(&receiver, &mut printer)?;
    printer.finished()?;
    Ok(exit::SUCCESS)
}

#[derive(Debug)]
struct Loop<'s> {
    session: &'s mut Session,
    watcher: DirWatcher,
    pending: Pending,
    schedule: Schedule,
    /// When each due path's first event arrived (feedback time is measured from it).
    first_seen: HashMap<PathBuf, Instant>,
    settings: std::sync::Arc<RunSettings>,
    /// What a test to run is planned with (the command's configuration and `--var`).
    builder: SuiteBuilder,
    pool: WorkerPool,
    run: bool,
    /// Verdicts (passed, failed) since the runs last settled.
    tally: (usize, usize),
    /// Paths written and not yet closed, since when.
    writing: HashMap<PathBuf, Instant>,
    /// Messages taken in while checking a read, for the loop to handle.
    held: Vec<Message>,
    /// Where each run's result is kept, as `run` keeps it.
    store: std::sync::Arc<dyn ResultStore>,
    hasher: std::sync::Arc<InputHasher>,
    /// The running tests' inputs, digested when each was handed to the pool.
    recording: HashMap<String, SuiteResults>,
    /// Each test run in this session, as planned for its last run, with its
    /// last verdict: the files' `[report]`s are written from them.
    reported:
        std::collections::BTreeMap<String, (clnrm_core::suite::SuiteTest, Option<TestFinished>)>,
    /// A key asked for runs: until they settle, every test runs. Otherwise
    /// a test that passed with the same inputs (in an earlier session too)
    /// is not run again.
    forced: bool,
}

impl Loop<'_> {
    /// Start-up is a round like any other: every file read and validated.
    fn start(&mut self, printer: &mut Printer<'_>, started: Instant) -> Result<(), CliError> {
        let outcome = self.session.rescan();
        self.say_skipped(&outcome, printer)?;
        let mut with_errors = 0;
        for feedback in &outcome.feedback {
            if let Feedback::Validated(v) = feedback
                && v.tally.errors + v.tally.warnings > 0
            {
                with_errors += usize::from(v.tally.errors > 0);
                printer.validated(
                    v,
                    elapsed_ms(started),
                    self.session.pipeline().cache.stats(),
                )?;
            }
        }
        let dirs = self.session.watch_dirs();
        let files = self.session.file_count();
        let cache = self.session.pipeline().cache.stats();
        printer.started(
            &dirs,
            files,
            with_errors,
            elapsed_ms(started),
            self.run,
            cache,
        )?;
        if self.run {
            self.schedule.handle(Input::Known(self.session.tests()));
            let actions = self.schedule.handle(Input::Changed(self.session.tests()));
            self.act(actions, printer)?;
        }
        Ok(())
    }

    fn serve(
        &mut self,
        receiver: &Receiver<Message>,
        printer: &mut Printer<'_>,
    ) -> Result<(), CliError> {
        loop {
            let message = match self.pending.next_due() {
                Some(due) => {
                    let wait = due.saturating_duration_since(Instant::now());
                    match receiver.recv_timeout(wait) {
                        Ok(m) => Some(m),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
                None => match receiver.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return Ok(()),
                },
            };
            if let Some(message) = message {
                self.receive(message, printer)?;
                // Take every event already queued before acting: one round
                // for a burst.
                while let Ok(message) = receiver.try_recv() {
                    self.receive(message, printer)?;
                }
            }
            self.round(receiver, printer)?;
            if self.schedule.is_quitting() && self.schedule.is_settled() {
                return Ok(());
            }
        }
    }

    fn receive(&mut self, message: Message, printer: &mut Printer<'_>) -> Result<(), CliError> {
        match message {
            Message::Fs(at, Ok(event)) => {
                for signal in classify(&event) {
                    let signal = completed_at_creation(signal, &event);
                    for path in &event.paths {
                        self.first_seen.entry(path.clone()).or_insert(at);
                    }
                    match &signal {
                        Signal::Partial(path) => {
                            self.writing.insert(path.clone(), at);
                        }
                        Signal::Complete(path) | Signal::Gone(path) => {
                            self.writing.remove(path);
                        }
                        _ => {}
                    }
                    self.pending.add(signal, Instant::now());
                }
            }
            Message::Fs(_, Err(error)) => match error.kind {
                notify::ErrorKind::MaxFilesWatch => {
                    return Err(WatchError::Limit {
                        path: format!("{:?}", error.paths),
                        limit: watcher::watch_limit(),
                    }
                    .into());
                }
                _ => printer.note(&format!("warning: the file watcher reported: {error}"))?,
            },
            Message::Key(key) => {
                if key == Key::Quit || self.run {
                    self.forced = key != Key::Quit;
                    let actions = self.schedule.handle(Input::Key(key));
                    self.act(actions, printer)?;
                }
            }
            Message::Interrupt => {
                self.settings.cancel.cancel();
                let actions = self.schedule.handle(Input::Key(Key::Quit));
                self.act(actions, printer)?;
            }
            Message::Finished(finished) => {
                if let Some(results) = self.recording.remove(&finished.name)
                    && let Err(e) = results.record(&finished)
                {
                    printer.note(&format!(
                        "warning: cannot keep the result of {}: {e}",
                        finished.name
                    ))?;
                }
                if let Some((_, last)) = self.reported.get_mut(&finished.name) {
                    *last = Some(finished.clone());
                }
                let passed = finished.outcome.is_success();
                let test = finished.name.clone();
                // A newer change arrived while it ran: the verdict is for an old state.
                let stale = self.schedule.state(&test) == Some(schedule::State::RunningRerunQueued);
                printer.test_finished(&finished, stale)?;
                // A test skipped as unchanged is neither verdict.
                let skipped = finished.outcome.skip_reason().is_some();
                if !stale && !skipped {
                    let tally = if passed {
                        &mut self.tally.0
                    } else {
                        &mut self.tally.1
                    };
                    *tally += 1;
                }
                let actions = self.schedule.handle(Input::Finished { test, passed });
                self.act(actions, printer)?;
                if self.schedule.is_settled() {
                    self.forced = false;
                    let (passed, failed) = std::mem::take(&mut self.tally);
                    // Written before the runs are said to be over.
                    self.write_reports(printer)?;
                    printer.run_finished(passed, failed)?;
                }
            }
        }
        Ok(())
    }

    /// Looks at what is due: lost events, then paths.
    fn round(
        &mut self,
        receiver: &Receiver<Message>,
        printer: &mut Printer<'_>,
    ) -> Result<(), CliError> {
        let now = Instant::now();
        let mut outcome = Outcome::default();
        let rescan = self.pending.take_rescan();
        let mut due = self.pending.take_due(now);
        if rescan || due.iter().any(|p| !p.is_file()) {
            // Folders came or went: watch the new ones, anchor missing roots.
            for dir in due.iter().filter(|p| p.is_dir()) {
                if self.watcher.wants(dir) {
                    self.watcher.watch_tree(dir)?;
                }
            }
            due.extend(self.watcher.sync()?);
        }
        if rescan {
            printer.note("the file watcher lost events; every file was read again")?;
            outcome = self.session.rescan();
        } else if !due.is_empty() {
            let (writing, held) = (&mut self.writing, &mut self.held);
            let mut settled = |path: &Path| left_alone(path, writing, held, receiver);
            outcome = self.session.refresh(&due, &mut settled);
        }
        for message in std::mem::take(&mut self.held) {
            self.receive(message, printer)?;
        }
        self.say_skipped(&outcome, printer)?;
        if outcome.feedback.is_empty() && outcome.deferred.is_empty() {
            for path in &due {
                self.first_seen.remove(path);
            }
            return Ok(());
        }
        let batch_start = (due.iter())
            .filter_map(|p| self.first_seen.get(p))
            .min()
            .copied()
            .unwrap_or(now);
        printer.new_round()?;
        let cache = self.session.pipeline().cache.stats();
        for feedback in &outcome.feedback {
            match feedback {
                Feedback::Validated(v) => {
                    let since = self.first_seen.get(v.report.source.path()).copied();
                    printer.validated(v, elapsed_ms(since.unwrap_or(batch_start)), cache)?;
                }
                Feedback::Diff(d) => {
                    let name = self.session.name_of(&d.file);
                    printer.diff(&name, d)?;
                }
                Feedback::Removed { file, name } => printer.removed(file, name)?,
            }
        }
        for (path, until) in &outcome.deferred {
            self.pending.defer(path, *until);
        }
        let deferred: Vec<&PathBuf> = outcome.deferred.iter().map(|(p, _)| p).collect();
        for path in due.iter().filter(|p| !deferred.contains(p)) {
            self.first_seen.remove(path);
        }
        if self.run {
            self.schedule.handle(Input::Known(self.session.tests()));
            let actions = self.schedule.handle(Input::Changed(outcome.changed_tests));
            self.act(actions, printer)?;
        }
        Ok(())
    }

    /// Paths passed over (a FIFO, a symlink loop, a folder that cannot be
    /// read), each said once.
    fn say_skipped(
        &mut self,
        outcome: &Outcome,
        printer: &mut Printer<'_>,
    ) -> Result<(), CliError> {
        let unwatched = self.watcher.take_skipped();
        for note in outcome.skipped.iter().chain(&unwatched) {
            printer.note(&format!("warning: {note}"))?;
        }
        Ok(())
    }

    fn act(&mut self, actions: Vec<Action>, printer: &mut Printer<'_>) -> Result<(), CliError> {
        for action in actions {
            match action {
                Action::Start(test) => self.start_run(test, printer)?,
                Action::Stale(test) => printer.stale(&test)?,
                Action::Quit => {}
            }
        }
        Ok(())
    }

    /// The `[report]` files of the scenario files run in this session, each
    /// test's last verdict in them, written once the runs settle.
    fn write_reports(&self, printer: &mut Printer<'_>) -> Result<(), CliError> {
        let (tests, finished): (Vec<_>, Vec<_>) = (self.reported.values())
            .filter_map(|(test, last)| Some((test.clone(), last.clone()?)))
            .unzip();
        let files = ReportFiles::new(&tests);
        if !files.is_empty()
            && let Err(e) = files.write(&finished)
        {
            printer.note(&format!("warning: cannot write a report: {e}"))?;
        }
        Ok(())
    }

    /// Hands one test to the pool; its end comes back as a message.
    fn start_run(&mut self, test: String, printer: &mut Printer<'_>) -> Result<(), CliError> {
        let planned = self.session.file_of(&test).and_then(|file| {
            let builder = self.builder.clone().paths(vec![file]);
            let suite = builder.build_with(self.session.pipeline()).ok()?;
            suite.test(&test).cloned()
        });
        let Some(planned) = planned else {
            let actions = self.schedule.handle(Input::Finished {
                test,
                passed: false,
            });
            return self.act(actions, printer);
        };
        // Watch runs what it is asked to, `[meta] ignore` or not.
        let mut planned = [clnrm_core::suite::SuiteTest {
            ignored: None,
            ..planned
        }];
        // Digested now, when it is about to run: not on every validation round.
        let results = SuiteResults::new(
            std::sync::Arc::clone(&self.store),
            std::sync::Arc::clone(&self.hasher),
            &planned,
            &self.settings,
        );
        if !self.forced {
            for warning in results.mark_unchanged(&mut planned) {
                printer.note(&format!("warning: {warning}"))?;
            }
        }
        let [planned] = planned;
        if planned.unchanged_since.is_none() {
            printer.run_started(&test)?;
        }
        self.recording.insert(test.clone(), results);
        self.reported.insert(test, (planned.clone(), None));
        self.pool
            .submit(planned, std::sync::Arc::clone(&self.settings));
        Ok(())
    }
}

/// A FIFO or socket that appears is never written and closed, so nothing
/// would ever bring it up: it is looked at once it exists, to say that it is
/// passed over (it is never opened).
fn completed_at_creation(signal: Signal, event: &notify::Event) -> Signal {
    match signal {
        Signal::Partial(path)
            if matches!(event.kind, notify::EventKind::Create(_))
                && (std::fs::metadata(&path).ok())
                    .is_some_and(|m| special_file_kind(m.file_type()).is_some()) =>
        {
            Signal::Complete(path)
        }
        other => other,
    }
}

/// Whether `path` was left alone since its last completed write: no writer
/// has it open now, by the events received so far (taken in first, and held
/// for the loop). A writer that truncated it while we read shows up here, and
/// its completion brings the path back.
fn left_alone(
    path: &Path,
    writing: &mut HashMap<PathBuf, Instant>,
    held: &mut Vec<Message>,
    receiver: &Receiver<Message>,
) -> bool {
    while let Ok(message) = receiver.try_recv() {
        if let Message::Fs(at, Ok(event)) = &message {
            for signal in classify(event) {
                if let Signal::Partial(p) = signal {
                    writing.insert(p, *at);
                }
            }
        }
        held.push(message);
    }
    // A write never completed (a crashed writer) stops holding the path back.
    writing
        .get(path)
        .is_none_or(|since| since.elapsed() >= WRITER_PATIENCE)
}

impl From<WatchError> for CliError {
    fn from(e: WatchError) -> Self {
        CliError::Usage(e.to_string())
    }
}
