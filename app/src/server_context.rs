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
        use_context::<Self>().ok_or_else(|| internal("server context is missing"))
    }

    /// The account signed in on this request's session, if any.
    pub async fn current_account(
        &self,
    ) -> Result<Option<domain::accounts::Account>, ServerFnError> {
        let Ok(session) = leptos_axum::extract::<tower_sessions::Session>().await else {
            return Ok(None);
        };
        let user_id: Option<uuid::Uuid> = session.get(SESSION_USER_ID).await.map_err(internal)?;
        match user_id {
            Some(id) => domain::accounts::find(&self.db, id).await.map_err(fail),
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

/// What the browser is told when a server function failed on our side.
pub const SOMETHING_WENT_WRONG: &str = "something went wrong, try again";

/// A use case's failure as a server function error. What the caller can act
/// on (not found, a field to fix, a conflict, a wait) keeps its message;
/// database and internal failures, whose text names tables, queries or
/// connections, are logged and replaced by [`SOMETHING_WENT_WRONG`].
pub fn fail(error: domain::DomainError) -> ServerFnError {
    match error {
        domain::DomainError::Database(_) | domain::DomainError::Internal(_) => internal(error),
        shown => ServerFnError::new(shown.to_string()),
    }
}

/// Logs a failure on our side with the request's id, and returns the
/// generic message for the browser.
pub fn internal(error: impl std::fmt::Display) -> ServerFnError {
    // Resources rendered on the server run in tasks of their own, outside
    // the request's log span: the id is read from the request itself.
    let request_id = use_context::<http::request::Parts>()
        .and_then(|parts| {
            let id = parts.headers.get("x-request-id")?.to_str().ok()?;
            Some(id.to_owned())
        })
        .unwrap_or_else(|| "-".to_owned());
    tracing::error!(%request_id, %error, "a server function failed");
    ServerFnError::new(SOMETHING_WENT_WRONG)
}

/// Converts a use case's answer into the page's own type of the same JSON
/// shape (the page types compile to WASM; the use case types do not).
pub fn reshape<From: serde::Serialize, To: serde::de::DeserializeOwned>(
    value: &From,
) -> Result<To, ServerFnError> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| internal(format!("a page's data has an unexpected shape: {e}")))
}
