//! Reporters' shared pieces: an outcome as the text people read, as JUnit
//! XML and as a JSON report with its digest, and the report files of a run.
//! Verdicts never depend on anything here.

mod files;
mod json;
mod junit;
mod normalise;
mod results;
mod text;

pub use files::{DIR_DIGEST, DIR_JSON, DIR_JUNIT, ReportFiles};
pub use json::{JSON_REPORT_VERSION, JsonOptions, digest, json_report, report_digest};
pub use junit::{JunitOptions, junit_report};
pub use normalise::{Normaliser, placeholder};
pub use results::ResultDir;
pub use text::render_failures;
