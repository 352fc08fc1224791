//! Switchyard's workflow engine: node kinds, expressions, retries, and
//! durable execution on SQLite or Postgres. Server only.

pub mod credentials;
pub mod engine;
pub mod error;
pub mod events;
mod intake;
pub mod metrics;
pub mod nodes;
pub mod outbound;
pub mod providers;
pub mod redact;
pub mod run;
pub mod signals;
pub mod store;
pub mod time;
mod worker;

pub use engine::{Engine, EngineConfig, EngineError};
pub use error::{ErrorClass, StepError};
pub use nodes::Registry;
