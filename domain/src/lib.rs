//! Switchyard's use cases on the server: accounts and sessions, API
//! tokens, workflows and their versions, runs, and the audit log. Both the
//! REST API and the Leptos server functions call these, so ownership and
//! validation are enforced in one place.

pub mod accounts;
pub mod ai;
pub mod alerts;
pub mod apis;
pub mod audit;
pub mod connection_oauth;
pub mod connection_tokens;
pub mod connection_usage;
pub mod connections;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod executions;
pub mod export;
pub mod imports;
pub mod n8n;
pub mod retention;
pub mod rotation;
pub mod schedules;
pub mod secrets;
pub mod templates;
pub mod tokens;
pub mod vault;
pub mod webhook_registrations;
pub mod webhook_replays;
pub mod webhooks;
pub mod workflow_import;
pub mod workflow_status;
pub mod workflow_versions;
pub mod workflows;

pub use error::{DomainError, FieldProblem};

/// Now, in the timestamp type of entity columns.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
