//! The result store: "this exact test, with these exact inputs, passed (or
//! failed) at this time", kept so that `cargo clnrm run --changed` can skip
//! what did not change and `watch` remembers across restarts.
//!
//! - [`InputHasher`] digests what a test depends on ([`TestInputs`], listed
//!   by the executor): the rendered scenario and its templates, the image
//!   ids, the content of the files its steps name and its services mount,
//!   the passed-through environment, the settings that change a run, and
//!   the clnrm version. It starts no container and builds nothing.
//! - [`ResultStore`] keeps one [`StoredResult`] per test: [`MemoryStore`]
//!   for tests and one process, [`DirStore`] on disk, in the target
//!   directory ([`default_location`]).
//! - [`SuiteResults`] is the one rule for skipping (a test whose last
//!   result passed with the same inputs) and the sink that keeps results.

mod disk;
mod hasher;
mod location;
mod store;
mod suite;

pub use crate::executor::TestInputs;
pub use disk::DirStore;
pub use hasher::{ImageLookup, InputDigest, InputHasher};
pub use location::{RESULTS_FOLDER, default_location};
pub use store::{Lookup, MemoryStore, ResultStore, StoredOutcome, StoredResult, TestKey};
pub use suite::{SuiteResults, test_key};
