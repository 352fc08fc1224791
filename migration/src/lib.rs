//! Schema migrations for Switchyard, shared by SQLite and Postgres.
//!
//! Every migration is written with sea-query builders only, so one file
//! produces the right DDL for both backends. Each has a working `down`.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users;
mod m20261122_000002_create_workflows;
mod m20261122_000003_create_workflow_versions;
mod m20261122_000004_create_executions;
mod m20261122_000005_create_sessions_tokens_audit;
mod m20261122_000006_create_connections;
mod m20261122_000007_create_triggers;
mod m20261201_000008_create_queue_indexes;
mod m20261202_000009_create_webhook_replays;
mod m20261202_000010_create_step_payloads;
mod m20261203_000011_create_webhook_registrations;
mod m20261203_000012_create_imported_apis;
mod m20261203_000013_create_oauth_states;
mod m20261204_000014_create_retention_indexes;
mod m20261204_000015_create_alerts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users::Migration),
            Box::new(m20261122_000002_create_workflows::Migration),
            Box::new(m20261122_000003_create_workflow_versions::Migration),
            Box::new(m20261122_000004_create_executions::Migration),
            Box::new(m20261122_000005_create_sessions_tokens_audit::Migration),
            Box::new(m20261122_000006_create_connections::Migration),
            Box::new(m20261122_000007_create_triggers::Migration),
            Box::new(m20261201_000008_create_queue_indexes::Migration),
            Box::new(m20261202_000009_create_webhook_replays::Migration),
            Box::new(m20261202_000010_create_step_payloads::Migration),
            Box::new(m20261203_000011_create_webhook_registrations::Migration),
            Box::new(m20261203_000012_create_imported_apis::Migration),
            Box::new(m20261203_000013_create_oauth_states::Migration),
            Box::new(m20261204_000014_create_retention_indexes::Migration),
            Box::new(m20261204_000015_create_alerts::Migration),
        ]
    }
}

pub mod database;
