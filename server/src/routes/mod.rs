//! HTTP routes that are not Leptos pages, one module per area.

pub mod health;
pub mod metrics;
pub mod oauth;
