//! `/node-kinds`: every kind of node this server runs, with its fields and
//! ports, for editors and scripts.

use axum::{Json, Router, extract::State, routing::get};
use serde_json::Value;

use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/node-kinds", get(kinds))
}

/// The catalogue of node kinds (public: it holds no user data).
#[utoipa::path(get, path = "/node-kinds", tag = "workflows", responses((status = 200, description = "The catalogue", body = Object)))]
async fn kinds(State(state): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(state.context.engine.catalogue()).unwrap_or(Value::Null))
}
