//! One module per routed page.

pub mod alert_settings;
pub mod api_docs;
pub mod apis;
pub mod connections;
pub mod dashboard;
pub mod events;
pub mod executions;
pub mod home;
pub mod login;
pub mod not_found;
pub mod notifications;
pub mod retention_card;
pub mod settings;
pub mod templates;
pub mod workflows;
