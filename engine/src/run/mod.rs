//! Running executions: the prepared [`plan`], the bookkeeping [`state`],
//! and the [`driver`] that starts steps and feeds their outcomes back.

pub mod driver;
pub mod plan;
pub mod state;

pub use plan::Plan;
pub use state::{Job, RunEnd, RunState, Step, StepKey};

#[cfg(test)]
mod shared_resource_tests;
#[cfg(test)]
mod tests;
