//! What server functions need from the running server, provided to Leptos
//! as context on every request.

use std::time::Instant;

use leptos::prelude::*;
use sea_orm::{DatabaseConnection, DbBackend};

use crate::status::{DependencyCheck, SystemStatus};

#[derive(Clone)]
pub struct ServerContext {
    pub db: DatabaseConnection,
    pub engine: engine::Engine,
    pub started_at: Instant,
    pub schema_version: Option<String>,
}

impl ServerContext {
    /// The context of the current request; an error if the server did not
    /// provide one (a wiring bug, reported instead of panicking).
    pub fn from_leptos() -> Result<Self, ServerFnError> {
        use_context::<Self>().ok_or_else(|| ServerFnError::new("server context is missing"))
    }

    /// Pings the database and reports how long it took.
    pub async fn check_database(&self) -> DependencyCheck {
        let started = Instant::now();
        let result = self.db.ping().await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(()) => DependencyCheck {
                status: "up".into(),
                latency_ms,
                error: None,
            },
            Err(error) => {
                tracing::warn!(%error, "database ping failed");
                DependencyCheck {
                    status: "down".into(),
                    latency_ms,
                    error: Some("database unreachable".into()),
                }
            }
        }
    }

    pub async fn system_status(&self) -> SystemStatus {
        let database_up = self.check_database().await.status == "up";
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database: match self.db.get_database_backend() {
                DbBackend::Postgres => "PostgreSQL",
                DbBackend::Sqlite => "SQLite",
                _ => "other",
            }
            .to_owned(),
            database_up,
            schema_version: self.schema_version.clone(),
            uptime_secs: self.started_at.elapsed().as_secs(),
        }
    }
}
