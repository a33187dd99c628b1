//! The assert stage: what a step did against what its scenario expects.

mod step;

pub use step::{Mismatch, judge_step};
