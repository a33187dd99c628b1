//! The store as a driver uses it over a suite: every test's inputs digested
//! before it runs, the `--changed` stage that marks unchanged tests, and the
//! sink that keeps each finished test's result.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::executor::{RunSettings, test_inputs};
use crate::outcome::{Outcome, TestFinished};
use crate::suite::SuiteTest;

use super::{InputDigest, InputHasher, Lookup, ResultStore, StoredOutcome, StoredResult, TestKey};

/// A suite's tests against a store.
pub struct SuiteResults {
    store: Arc<dyn ResultStore>,
    hasher: Arc<InputHasher>,
    /// By test name: its key, and its inputs' digest or why it is unknown.
    digests: HashMap<String, (TestKey, Result<InputDigest, String>)>,
}

impl std::fmt::Debug for SuiteResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteResults")
            .field("tests", &self.digests.len())
            .finish_non_exhaustive()
    }
}

/// The key of a test: its scenario file and its name.
pub fn test_key(test: &SuiteTest) -> TestKey {
    TestKey::new(&test.report.discovered.path, test.name())
}

impl SuiteResults {
    /// Digests the inputs of `tests` under `settings`, asking the engine
    /// for every image they name at once (only when some test names one).
    pub fn new(
        store: Arc<dyn ResultStore>,
        hasher: Arc<InputHasher>,
        tests: &[SuiteTest],
        settings: &RunSettings,
    ) -> Self {
        let inputs: Vec<_> = tests.iter().map(|t| test_inputs(t, settings)).collect();
        let images: Vec<String> = (inputs.iter().flatten())
            .flat_map(|i| i.images.iter().cloned())
            .collect();
        // An engine that does not answer leaves those tests' digests unknown.
        let engine = hasher.look_up_images(&images);
        let digests = (tests.iter().zip(inputs))
            .map(|(test, inputs)| {
                let digest = match (inputs, &engine) {
                    (None, _) => Err("the file has errors".to_string()),
                    (Some(i), Err(e)) if !i.images.is_empty() => Err(e.clone()),
                    (Some(i), _) => hasher.digest(&i),
                };
                (test.name().to_string(), (test_key(test), digest))
            })
            .collect();
        Self {
            store,
            hasher,
            digests,
        }
    }

    /// The `--changed` stage: each test that passed last with exactly its
    /// inputs now is marked unchanged (it will not run). Damaged records
    /// are ignored (their tests run, and their results replace them); what
    /// was damaged is returned as warnings.
    pub fn mark_unchanged(&self, tests: &mut [SuiteTest]) -> Vec<String> {
        let warnings = (self.store.damage().into_iter())
            .map(|why| format!("ignoring a damaged stored result ({why}): its test runs, and its result replaces it"))
            .collect();
        for test in tests.iter_mut().filter(|t| t.ignored.is_none()) {
            let Some((key, Ok(digest))) = self.digests.get(test.name()) else {
                continue;
            };
            if let Lookup::Found(last) = self.store.load(key)
                && last.outcome == StoredOutcome::Passed
                && last.inputs == *digest
            {
                test.unchanged_since = Some(last.finished_unix_ms);
            }
        }
        warnings
    }

    /// Why a test's inputs cannot be digested (it always runs), if they cannot.
    pub fn unknown_inputs(&self, name: &str) -> Option<&str> {
        match self.digests.get(name) {
            Some((_, Err(why))) => Some(why),
            _ => None,
        }
    }

    /// The sink: keeps a finished test's result. A pass or a failure
    /// replaces the last result; an ignored, cancelled or unchanged test
    /// leaves it as it is. A test whose inputs were unknown is kept as
    /// failed-with-unknown-inputs, so a failure is never forgotten.
    pub fn record(&self, finished: &TestFinished) -> std::io::Result<()> {
        let outcome = match &finished.outcome {
            Outcome::Passed => StoredOutcome::Passed,
            Outcome::Failed(_) | Outcome::NotRun(_) => StoredOutcome::Failed,
            _ => return Ok(()),
        };
        let Some((key, digest)) = self.digests.get(&finished.name) else {
            return Ok(());
        };
        let (inputs, outcome) = match digest {
            Ok(digest) => (*digest, outcome),
            Err(_) => (InputDigest([0; 32]), StoredOutcome::Failed),
        };
        self.store.save(&StoredResult {
            key: key.clone(),
            inputs,
            outcome,
            finished_unix_ms: now_unix_ms(),
        })
    }

    /// The hasher, to digest more tests with the same caches (watch).
    pub fn hasher(&self) -> &Arc<InputHasher> {
        &self.hasher
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
