//! The assert stage: what a step did against what its scenario expects.

mod spans;
mod step;

pub(crate) use spans::{SpanMiss, judge_all};
pub use step::{Mismatch, judge_step};
