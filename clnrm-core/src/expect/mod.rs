//! The assert stage: what a step did against what its scenario expects.

mod spans;
mod step;

pub(crate) use spans::{SpanMiss, judge_counts, judge_span, judge_status};
pub use step::{Mismatch, judge_step};
