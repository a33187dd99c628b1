//! A scenario file, or a set of spans, as a tree of stable ids with canonical
//! field texts, and a set-based diff between two such trees (for `watch` and
//! `diff`).
//!
//! Byte spans never enter the tree, so edits that only move text around or touch
//! comments produce an empty diff.

mod align;
mod build;
mod diff;
mod moves;
mod node;
mod span_file;
#[cfg(test)]
mod span_tests;
mod spans;
#[cfg(test)]
mod tests;

pub use diff::{DiffLine, FieldChange, Mark, NodeChange, TreeDiff, diff};
pub use moves::diff_with_moves;
pub use node::{ExpectationTree, Node, NodeId, NodeKind};
pub use span_file::{
    SpanFileError, SpanFileErrorKind, looks_like_span_file, read_span_file, read_span_trees,
};
pub use spans::SPAN_ROOT;
