//! SeaORM entities: the rows Switchyard stores, one module per table.

pub mod api_token;
pub mod audit_event;
pub mod connection;
pub mod dead_letter;
pub mod event;
pub mod execution;
pub mod execution_event;
pub mod imported_api;
pub mod oauth_state;
pub mod schedule;
pub mod session;
pub mod step_run;
pub mod user;
pub mod webhook_registration;
pub mod webhook_replay;
pub mod workflow;
pub mod workflow_version;
