//! A scenario file as a tree of stable ids with canonical field texts, and a
//! set-based diff between two such trees (for `watch` and `diff`).
//!
//! Byte spans never enter the tree, so edits that only move text around or touch
//! comments produce an empty diff.

mod build;
mod diff;
mod node;
#[cfg(test)]
mod tests;

pub use diff::{FieldChange, NodeChange, TreeDiff, diff};
pub use node::{ExpectationTree, Node, NodeId, NodeKind};
