//! Switchyard's workflow engine: node kinds, expressions, retries, and
//! durable execution on SQLite or Postgres. Server only.

pub mod error;
pub mod nodes;
pub mod outbound;
pub mod run;
pub mod time;

pub use error::{ErrorClass, StepError};
pub use nodes::Registry;
