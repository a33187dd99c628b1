//! The harness under the real runners: `cargo test` and `cargo nextest run` on
//! the example crate (all green) and on `fixtures/failing` (every test must
//! fail, with the message its file names in `# fails-with:` comments).

mod cli;
mod failures;
mod hostile;
mod protocol;
mod reports;
mod signals;
mod store;
mod support;
