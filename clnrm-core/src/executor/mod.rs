//! The execute stage: run one scenario's steps on its backend, within its
//! limits, and judge the result.

mod inputs;
mod mapping;
mod place;
mod planned;
mod record;
mod scenario;
mod scratch;
mod settings;
mod spans;
mod unavailable;
mod verdict;

pub use inputs::{TestInputs, test_inputs};
pub use record::{ScenarioRun, StepRun};
pub use scenario::{run_scenario, run_scenario_in};
pub use scratch::ScratchDirs;
pub use settings::RunSettings;
pub use spans::judge_spans;

pub(crate) use planned::{display_path, needs_engine, run_planned};
