//! Reporters' shared pieces: an outcome as the text people read, and as JUnit XML.
//! Verdicts never depend on anything here.

mod junit;
mod results;
mod text;

pub use junit::{JunitOptions, junit_report};
pub use results::ResultDir;
pub use text::render_failures;
