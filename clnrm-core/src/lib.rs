//! clnrm-core: the engine behind `cargo clnrm` and the clnrm harness.
//!
//! Every command is one path through the same stages: discover -> prepare ->
//! render -> parse -> validate -> plan ([`suite`]) -> execute -> judge
//! ([`runner`], [`outcome`]) -> report ([`report`]). The core logs with
//! `tracing` and never prints: a driver turns the [`runner::Event`]s into
//! output.
//!
//! A driver of its own, in twenty lines: build the suite of a folder, run
//! it, and look at each test's outcome as data.
//!
//! ```
//! use clnrm_core::config::Config;
//! use clnrm_core::outcome::Outcome;
//! use clnrm_core::runner::{Event, RunOptions, run_suite};
//! use clnrm_core::suite::SuiteBuilder;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(
//!     dir.path().join("hello.clnrm.toml"),
//!     "[meta]\nname = \"hello\"\nbackend = \"local\"\n\n[[scenario]]\nname = \"greets\"\n\n\
//!      [[scenario.steps]]\nname = \"echo\"\ncommand = [\"echo\", \"hi\"]\nexpected_output_regex = \"^hi$\"\n",
//! )?;
//! let mut config = Config::default();
//! config.roots = vec![dir.path().to_path_buf()];
//! let suite = SuiteBuilder::new(config).build()?;
//! let mut outcomes = Vec::new();
//! let summary = run_suite(&suite, RunOptions::new(2, false), &mut |event| {
//!     if let Event::TestFinished(test) = event {
//!         outcomes.push((test.name.clone(), test.outcome.clone()));
//!     }
//! });
//! assert_eq!(outcomes, [("hello.clnrm.toml::greets".to_string(), Outcome::Passed)]);
//! assert!(summary.is_success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod backend;
pub mod background;
pub mod binaries;
pub mod cache;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod executor;
pub(crate) mod expect;
pub mod outcome;
pub mod pipeline;
pub mod plan;
pub mod prepare;
pub mod receiver;
pub mod render;
pub mod report;
pub mod results;
pub mod run_trace;
pub mod runner;
pub mod scenario;
pub mod source;
pub mod spans;
pub mod suite;
pub mod tree;
pub mod validate;
