//! clnrm-harness: turns every discovered scenario into its own libtest-mimic
//! test, so `cargo test` and `cargo nextest run` run them.
//!
//! The harness is the next piece of work; this crate holds its place in the
//! workspace so the layout and dependency graph are settled.
