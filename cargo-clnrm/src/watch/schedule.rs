//! When to run which scenario under `watch --run`: a pure state machine.
//!
//! Each test is `Idle`, `Queued`, `Running`, or `RunningRerunQueued` (a newer
//! change arrived while it ran). A change to a queued test just keeps it
//! queued: the run reads the latest state when it starts, so the newest save
//! wins and no test ever runs twice at once. A result obtained while a newer
//! change was pending is stale, and the test runs again.

use std::collections::{BTreeMap, BTreeSet};

/// A key pressed on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `r`: run again what ran last.
    Rerun,
    /// `a`: run every scenario.
    All,
    /// `f`: run the failed ones.
    Failed,
    /// `q`: quit.
    Quit,
}

impl Key {
    pub fn from_byte(byte: u8) -> Option<Key> {
        match byte.to_ascii_lowercase() {
            b'r' => Some(Key::Rerun),
            b'a' => Some(Key::All),
            b'f' => Some(Key::Failed),
            b'q' => Some(Key::Quit),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The runnable tests now known (after start-up and after each change).
    Known(Vec<String>),
    /// Tests whose rendered scenario changed.
    Changed(Vec<String>),
    Finished {
        test: String,
        passed: bool,
    },
    Key(Key),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start(String),
    /// This test's last result no longer matches its file.
    Stale(String),
    /// Stop once the running tests have finished.
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle,
    Queued,
    Running,
    RunningRerunQueued,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    state: State,
    /// The last result, `None` before the first run.
    passed: Option<bool>,
}

#[derive(Debug)]
pub struct Schedule {
    jobs: usize,
    tests: BTreeMap<String, Entry>,
    /// Queued tests in the order they were asked for.
    queue: Vec<String>,
    /// What `r` runs again.
    last_batch: BTreeSet<String>,
    quitting: bool,
}

impl Schedule {
    pub fn new(jobs: usize) -> Self {
        Self {
            jobs: jobs.max(1),
            tests: BTreeMap::new(),
            queue: Vec::new(),
            last_batch: BTreeSet::new(),
            quitting: false,
        }
    }

    pub fn state(&self, test: &str) -> Option<State> {
        self.tests.get(test).map(|e| e.state)
    }

    pub fn is_quitting(&self) -> bool {
        self.quitting
    }

    /// Nothing runs and nothing waits.
    pub fn is_settled(&self) -> bool {
        self.tests.values().all(|e| e.state == State::Idle)
    }

    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        let mut actions = Vec::new();
        match input {
            Input::Known(tests) => self.set_known(tests),
            Input::Changed(tests) => self.request(tests, &mut actions),
            Input::Finished { test, passed } => self.finished(&test, passed),
            Input::Key(Key::Quit) => {
                self.quitting = true;
                self.queue.clear();
                for entry in self.tests.values_mut() {
                    entry.state = match entry.state {
                        State::Queued => State::Idle,
                        State::RunningRerunQueued => State::Running,
                        other => other,
                    };
                }
                actions.push(Action::Quit);
                return actions;
            }
            Input::Key(Key::All) => {
                let all = self.tests.keys().cloned().collect();
                self.request(all, &mut actions);
            }
            Input::Key(Key::Failed) => {
                let failed = (self.tests.iter())
                    .filter(|(_, e)| e.passed == Some(false))
                    .map(|(t, _)| t.clone())
                    .collect();
                self.request(failed, &mut actions);
            }
            Input::Key(Key::Rerun) => {
                let again = self.last_batch.iter().cloned().collect();
                self.request(again, &mut actions);
            }
        }
        self.dispatch(&mut actions);
        actions
    }

    fn set_known(&mut self, tests: Vec<String>) {
        let known: BTreeSet<String> = tests.into_iter().collect();
        // A running test stays until it reports; it is just not run again.
        self.tests
            .retain(|t, e| known.contains(t) || matches!(e.state, State::Running));
        self.queue.retain(|t| known.contains(t));
        self.last_batch.retain(|t| known.contains(t));
        for test in known {
            self.tests.entry(test).or_insert(Entry {
                state: State::Idle,
                passed: None,
            });
        }
    }

    fn request(&mut self, tests: Vec<String>, actions: &mut Vec<Action>) {
        if self.quitting || tests.is_empty() {
            return;
        }
        self.last_batch = tests.iter().cloned().collect();
        for test in tests {
            let Some(entry) = self.tests.get_mut(&test) else {
                continue;
            };
            if entry.passed.is_some() && entry.state != State::RunningRerunQueued {
                actions.push(Action::Stale(test.clone()));
            }
            entry.state = match entry.state {
                State::Idle => {
                    self.queue.push(test.clone());
                    State::Queued
                }
                State::Queued => State::Queued,
                State::Running | State::RunningRerunQueued => State::RunningRerunQueued,
            };
        }
    }

    fn finished(&mut self, test: &str, passed: bool) {
        let Some(entry) = self.tests.get_mut(test) else {
            return;
        };
        entry.passed = Some(passed);
        entry.state = match entry.state {
            State::RunningRerunQueued if !self.quitting => {
                self.queue.push(test.to_string());
                State::Queued
            }
            _ => State::Idle,
        };
    }

    /// Starts queued tests up to `jobs` at once, the failed ones first.
    fn dispatch(&mut self, actions: &mut Vec<Action>) {
        let tests = &self.tests;
        let failed_first = |t: &String| tests.get(t).is_none_or(|e| e.passed != Some(false));
        // Stable: within each group, the order they were asked for.
        self.queue.sort_by_key(failed_first);
        let mut running = (self.tests.values())
            .filter(|e| matches!(e.state, State::Running | State::RunningRerunQueued))
            .count();
        while running < self.jobs && !self.queue.is_empty() {
            let test = self.queue.remove(0);
            if let Some(entry) = self.tests.get_mut(&test) {
                entry.state = State::Running;
                actions.push(Action::Start(test));
                running += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn start(test: &str) -> Action {
        Action::Start(test.into())
    }

    fn schedule(jobs: usize, tests: &[&str]) -> Schedule {
        let mut s = Schedule::new(jobs);
        assert!(s.handle(Input::Known(names(tests))).is_empty());
        s
    }

    fn finished(test: &str, passed: bool) -> Input {
        Input::Finished {
            test: test.into(),
            passed,
        }
    }

    /// (state before, input, state after, actions): one test, one job.
    #[test]
    fn transition_table_for_one_test() {
        use State::*;
        let changed = || Input::Changed(names(&["t"]));
        /// (what, inputs before, the input, state after, actions).
        type Row = (&'static str, Vec<Input>, Input, State, Vec<Action>);
        let table: Vec<Row> = vec![
            (
                "idle + change",
                vec![],
                changed(),
                Running,
                vec![start("t")],
            ),
            (
                "running + change",
                vec![changed()],
                changed(),
                RunningRerunQueued,
                vec![],
            ),
            (
                "rerun queued + change",
                vec![changed(), changed()],
                changed(),
                RunningRerunQueued,
                vec![],
            ),
            (
                "running + finished",
                vec![changed()],
                finished("t", true),
                Idle,
                vec![],
            ),
            (
                "rerun queued + finished: runs again, newest state",
                vec![changed(), changed()],
                finished("t", true),
                Running,
                vec![start("t")],
            ),
            (
                "idle with a result + change: stale, then runs",
                vec![changed(), finished("t", false)],
                changed(),
                Running,
                vec![Action::Stale("t".into()), start("t")],
            ),
            (
                "running + quit: no rerun",
                vec![changed(), changed()],
                Input::Key(Key::Quit),
                Running,
                vec![Action::Quit],
            ),
            (
                "quitting + change: nothing",
                vec![Input::Key(Key::Quit)],
                changed(),
                Idle,
                vec![],
            ),
        ];
        for (what, before, input, state, actions) in table {
            let mut s = schedule(1, &["t"]);
            for i in before {
                s.handle(i);
            }
            assert_eq!(s.handle(input), actions, "{what}");
            assert_eq!(s.state("t"), Some(state), "{what}");
        }
    }

    #[test]
    fn a_newer_change_supersedes_a_pending_run() {
        let mut s = schedule(1, &["a", "b"]);
        assert_eq!(s.handle(Input::Changed(names(&["a"]))), vec![start("a")]);
        // `b` waits for the job; three more saves leave one pending run.
        for _ in 0..3 {
            assert!(s.handle(Input::Changed(names(&["b"]))).is_empty());
        }
        assert_eq!(s.state("b"), Some(State::Queued));
        assert_eq!(s.handle(finished("a", true)), vec![start("b")]);
        assert!(s.handle(finished("b", true)).is_empty());
        assert!(s.is_settled());
    }

    #[test]
    fn never_more_than_jobs_and_the_failed_run_first() {
        let mut s = schedule(2, &["a", "b", "c", "d"]);
        s.handle(Input::Key(Key::All));
        s.handle(finished("a", true));
        s.handle(finished("b", false));
        s.handle(finished("c", true));
        s.handle(finished("d", false));
        let actions = s.handle(Input::Key(Key::All));
        let starts: Vec<&Action> = actions
            .iter()
            .filter(|a| matches!(a, Action::Start(_)))
            .collect();
        assert_eq!(starts, [&start("b"), &start("d")]);
    }

    #[test]
    fn keys_choose_what_runs() {
        let mut s = schedule(4, &["a", "b", "c"]);
        assert_eq!(
            s.handle(Input::Key(Key::Failed)),
            vec![],
            "nothing failed yet"
        );
        s.handle(Input::Changed(names(&["a", "b"])));
        s.handle(finished("a", false));
        s.handle(finished("b", true));
        let f = s.handle(Input::Key(Key::Failed));
        assert_eq!(f, vec![Action::Stale("a".into()), start("a")]);
        s.handle(finished("a", true));
        // `r` repeats the last batch (the failed one, `a`).
        let r = s.handle(Input::Key(Key::Rerun));
        assert_eq!(r, vec![Action::Stale("a".into()), start("a")]);
    }

    #[test]
    fn a_test_that_disappears_is_not_started() {
        let mut s = schedule(1, &["a", "b"]);
        s.handle(Input::Changed(names(&["a", "b"])));
        s.handle(Input::Known(names(&["a"])));
        assert_eq!(s.handle(finished("a", true)), vec![]);
        assert_eq!(s.state("b"), None);
        assert!(s.is_settled());
    }

    #[test]
    fn keys_map_from_bytes() {
        assert_eq!(Key::from_byte(b'r'), Some(Key::Rerun));
        assert_eq!(Key::from_byte(b'A'), Some(Key::All));
        assert_eq!(Key::from_byte(b'f'), Some(Key::Failed));
        assert_eq!(Key::from_byte(b'q'), Some(Key::Quit));
        assert_eq!(Key::from_byte(b'x'), None);
    }
}
