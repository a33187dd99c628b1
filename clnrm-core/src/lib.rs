//! clnrm-core: the engine behind `cargo clnrm` and the clnrm harness.
//!
//! Every command is one path through the same stages: discover -> prepare ->
//! render -> parse -> validate -> plan (-> execute -> assert -> report). Each
//! stage is a module with named input and output types. The core logs with
//! `tracing` and never prints.

pub mod backend;
pub mod binaries;
pub mod cache;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod executor;
pub mod expect;
pub mod outcome;
pub mod pipeline;
pub mod plan;
pub mod prepare;
pub mod render;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod source;
pub mod suite;
pub mod tree;
pub mod validate;
