//! `GET /metrics` for Prometheus: on the main address behind a bearer
//! token (`SWITCHYARD_METRICS_TOKEN`), and without one on a separate
//! address (`SWITCHYARD_METRICS_BIND`) meant for a private interface.
//! With neither set, the main address answers 404.

use axum::{
    Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::get,
};
use http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

use crate::{error::ApiError, startup::AppState};

/// `/metrics` on the main address.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(with_token))
}

/// The separate metrics address: `/metrics` and nothing else.
pub fn own_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(state)
}

async fn with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.config.metrics_token else {
        return ApiError::NotFound.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests compared, so the time taken says nothing about the token.
    if Sha256::digest(given.trim().as_bytes()) != Sha256::digest(expected.0.as_bytes()) {
        let mut response =
            ApiError::Unauthorized("send Authorization: Bearer <SWITCHYARD_METRICS_TOKEN>".into())
                .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    render(State(state)).await
}

async fn render(State(state): State<AppState>) -> Response {
    match state
        .context
        .engine
        .render_metrics(state.live.streams())
        .await
    {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(engine::metrics::CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(error) => ApiError::Internal(format!("metrics: {error}")).into_response(),
    }
}
