//! The assert stage: what a step did against what its scenario expects.

mod spans;
mod step;

pub(crate) use spans::{SpanMiss, judge_all, judge_scenario, names_own_spans};
pub use step::{Mismatch, judge_step};
