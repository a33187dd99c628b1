//! The execute stage: run one scenario's steps on its backend, within its
//! limits, and judge the result.

mod mapping;
mod outcome;
mod place;
mod planned;
mod scenario;
mod settings;
mod unavailable;

pub use outcome::{ScenarioRun, StepRun, Verdict};
pub use planned::{display_path, needs_engine, run_planned};
pub use scenario::{run_scenario, run_scenario_in};
pub use settings::RunSettings;
