//! The suite: what a driver knows (configuration, paths, a name, tags,
//! `--ignored`, `--var`, whether to skip what the machine cannot run) turned
//! into the tests to run, once, for every driver.

mod builder;
mod test;

pub use builder::{Suite, SuiteBuilder, SuiteError, SuiteWarning};
pub use test::SuiteTest;
