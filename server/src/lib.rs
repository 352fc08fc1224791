//! The Switchyard server: configuration, HTTP routing, and the lifecycle of
//! one running instance.

pub mod api;
pub mod auth;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod extract;
pub mod live_hub;
pub mod request_id;
pub mod rotate_key;
pub mod routes;
pub mod secret_key;
pub mod startup;
pub mod telemetry;
pub mod webhooks;
