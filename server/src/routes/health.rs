//! `GET /health` (the process answers) and `GET /health/ready` (it can
//! reach its database), for load balancers and orchestrators.

use app::{
    server_context::ServerContext,
    status::{Liveness, Readiness},
};
use axum::{Json, Router, extract::State, routing::get};
use http::StatusCode;

use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Json<Liveness> {
    Json(Liveness {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

async fn ready(State(context): State<ServerContext>) -> (StatusCode, Json<Readiness>) {
    let database = context.check_database().await;
    let (status, word) = if database.status == "up" {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (
        status,
        Json(Readiness {
            status: word.into(),
            database,
        }),
    )
}
