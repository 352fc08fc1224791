//! Integration tests: the real server on port 0, over HTTP, against a fresh
//! SQLite file and a fresh Postgres database. One test binary, so the
//! server links once.

mod helpers;

mod server_process;

mod accounts;
mod ai;
mod ai_llm;
mod alerts;
mod alerts_rules;
mod connections;
mod crash;
mod executions;
mod export_code;
mod health;
mod imported_apis;
mod integrations;
mod key_rotation;
mod live;
mod metrics;
mod n8n_import;
mod oauth;
mod outbound;
mod pages;
mod process;
mod provider_connections;
mod provider_triggers;
mod rate_limits;
mod retention;
mod run_limits;
mod sealed_secrets;
mod security;
mod templates;
mod tokens;
mod triggers;
mod webhooks;
mod workflows;
