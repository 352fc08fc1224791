//! What server functions need from the running server, provided to Leptos
//! as context on every request.

use std::time::Instant;

use leptos::prelude::*;
use sea_orm::{DatabaseConnection, DbBackend};

use crate::status::{DependencyCheck, SystemStatus};

/// Key under which a session keeps its user's id.
pub const SESSION_USER_ID: &str = "user_id";

#[derive(Clone)]
pub struct ServerContext {
    pub db: DatabaseConnection,
    pub engine: engine::Engine,
    pub started_at: Instant,
    pub schema_version: Option<String>,
    /// The API's OpenAPI document, for the docs page.
    pub openapi: std::sync::Arc<serde_json::Value>,
    /// Where users reach this server, without a trailing slash (links
    /// such as webhook URLs are built on it).
    pub public_url: String,
}

impl ServerContext {
    /// The context of the current request; an error if the server did not
    /// provide one (a wiring bug, reported instead of panicking).
    pub fn from_leptos() -> Result<Self, ServerFnError> {
        use_context::<Self>().ok_or_else(|| ServerFnError::new("server context is missing"))
    }

    /// The account signed in on this request's session, if any.
    pub async fn current_account(
        &self,
    ) -> Result<Option<domain::accounts::Account>, ServerFnError> {
        let Ok(session) = leptos_axum::extract::<tower_sessions::Session>().await else {
            return Ok(None);
        };
        let user_id: Option<uuid::Uuid> = session
            .get(SESSION_USER_ID)
            .await
            .map_err(|e| ServerFnError::new(e.to_string()))?;
        match user_id {
            Some(id) => domain::accounts::find(&self.db, id)
                .await
                .map_err(|e| ServerFnError::new(e.to_string())),
            None => Ok(None),
        }
    }

    /// The signed-in account, or an error that pages turn into a sign-in.
    pub async fn require_account(&self) -> Result<domain::accounts::Account, ServerFnError> {
        self.current_account()
            .await?
            .ok_or_else(|| ServerFnError::new("sign in first"))
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

/// A use case's failure as a server function error. Internal details stay
/// in the log; the page gets the error's public message.
pub fn fail(error: domain::DomainError) -> ServerFnError {
    if let domain::DomainError::Internal(details) = &error {
        tracing::error!(%details, "a page's data could not be loaded");
        return ServerFnError::new("something went wrong on the server");
    }
    ServerFnError::new(error.to_string())
}

/// Converts a use case's answer into the page's own type of the same JSON
/// shape (the page types compile to WASM; the use case types do not).
pub fn reshape<From: serde::Serialize, To: serde::de::DeserializeOwned>(
    value: &From,
) -> Result<To, ServerFnError> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            tracing::error!(error = %e, "a page's data has an unexpected shape");
            ServerFnError::new("something went wrong on the server")
        })
}
