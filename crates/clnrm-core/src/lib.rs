//! clnrm-core: the engine behind `cargo clnrm` and the clnrm harness.
//!
//! Every command is one path through the same stages: discover -> prepare ->
//! render -> parse -> validate -> plan (-> execute -> assert -> report). The core
//! logs with `tracing` and never prints.

pub mod diagnostic;
pub mod prepare;
pub mod render;
pub mod scenario;
pub mod source;
pub mod tree;
