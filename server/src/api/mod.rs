//! The REST API under `/api/v1`, one module per resource. Handlers are thin:
//! they check input, call a `domain` use case, and shape the answer.

mod ai;
mod alerts;
mod apis;
mod auth;
mod catalogue;
mod connections;
mod dead_letters;
mod events;
mod executions;
mod live;
pub mod openapi;
mod retention;
mod templates;
mod tokens;
mod workflow_export;
mod workflow_import;
mod workflows;

use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::{api_method_not_allowed, api_not_found},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(tokens::router())
        .merge(connections::router())
        .merge(apis::router())
        .merge(ai::router())
        .merge(workflows::router())
        .merge(executions::router())
        .merge(live::router())
        .merge(dead_letters::router())
        .merge(retention::router())
        .merge(templates::router())
        .merge(workflow_export::router())
        .merge(workflow_import::router())
        .merge(alerts::router())
        .merge(events::router())
        .merge(catalogue::router())
        .merge(openapi::router())
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
}

/// `{"error": {...}}` as documented for every failing call.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `malformed_json`, `invalid`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `replayed`, `payload_too_large`, `unsupported_media_type`,
    /// `too_many_requests` or `internal`.
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub node_id: Option<String>,
}

/// Page sizes accepted by list endpoints.
pub(crate) fn page_size(limit: Option<u64>) -> Result<u64, crate::error::ApiError> {
    match limit.unwrap_or(50) {
        limit @ 1..=200 => Ok(limit),
        _ => Err(crate::error::ApiError::BadRequest(
            "query parameter `limit`: must be between 1 and 200".into(),
        )),
    }
}
