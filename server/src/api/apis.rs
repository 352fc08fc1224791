//! `/apis`: the catalogue of providers (their actions, triggers, auth and
//! limits), a search over it, and the account's own APIs imported from
//! OpenAPI documents.

use axum::{
    Json, Router,
    extract::{Path, Query, Request, State},
    http::StatusCode,
    routing::{delete, get, post},
};
use domain::{
    apis::{ApiMatch, ApiSummary},
    imports::{ImportReport, ImportRequest},
};
use serde::Deserialize;
use serde_json::Value;

use super::ErrorResponse;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{parse_json, read_body},
    startup::AppState,
};

/// Largest import request: the largest document, with room for JSON escapes.
const IMPORT_BODY_LIMIT: usize = engine::providers::openapi::MAX_DOCUMENT + 4 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apis", get(list))
        .route("/apis/search", get(search))
        .route("/apis/import", post(import))
        .route("/apis/{provider}", get(read).merge(delete(remove)))
}

/// Every provider this account can use: built in, then its imports.
#[utoipa::path(get, path = "/apis", tag = "apis", responses((status = 200, body = Vec<ApiSummary>)),
    security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<ApiSummary>>, ApiError> {
    Ok(Json(
        domain::apis::list(&state.context.db, user.id()).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ImportQuery {
    /// With a raw document as the body: the API's id.
    id: Option<String>,
    /// With a raw document as the body: its name.
    name: Option<String>,
}

/// Imports an OpenAPI 3.0 or 3.1 document (JSON or YAML) as one of the
/// account's APIs: each operation becomes a node kind `<id>.<operation>`.
/// Send `{"document": "...", "id": "acme", "name": "Acme"}` as JSON, or the
/// document itself (YAML or JSON) with `?id=&name=`. Importing an id again
/// updates it and reports what changed and which workflows it affects.
#[utoipa::path(post, path = "/apis/import", tag = "apis", params(ImportQuery), request_body = ImportRequest,
    responses((status = 201, body = ImportReport), (status = 200, body = ImportReport, description = "re-imported"),
        (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> Result<(StatusCode, Json<ImportReport>), ApiError> {
    let json = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let bytes = read_body(request, IMPORT_BODY_LIMIT).await?;
    let wrapped = json && {
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        start.is_some_and(|at| bytes[at] == b'{')
            && serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes)
                .is_ok_and(|body| body.contains_key("document"))
    };
    let body = if wrapped {
        parse_json::<ImportRequest>(&bytes)?
    } else {
        ImportRequest {
            document: String::from_utf8(bytes.to_vec())
                .map_err(|_| ApiError::invalid("document", "the document is not UTF-8 text"))?,
            id: query.id,
            name: query.name,
        }
    };
    let report = domain::imports::import(&state.context.db, user.id(), body).await?;
    state.context.engine.forget_plans();
    let status = if report.revision == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}

/// Deletes an imported API (built-in ones stay); refused while a workflow uses it.
#[utoipa::path(delete, path = "/apis/{provider}", tag = "apis", params(("provider" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(provider): Path<String>,
) -> Result<StatusCode, ApiError> {
    domain::imports::delete(&state.context.db, user.id(), &provider).await?;
    state.context.engine.forget_plans();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
struct SearchQuery {
    /// Words to look for: a name, category, action, event type or what it
    /// does ("sms", "email", "open a ticket").
    q: Option<String>,
}

/// Providers matching a query, best first, with what matched.
#[utoipa::path(get, path = "/apis/search", tag = "apis", params(SearchQuery),
    responses((status = 200, body = Vec<ApiMatch>), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<ApiMatch>>, ApiError> {
    Ok(Json(
        domain::apis::search(
            &state.context.db,
            user.id(),
            query.q.as_deref().unwrap_or_default(),
        )
        .await?,
    ))
}

/// One provider: connection fields, auth, rate limit, actions with their
/// fields and output, trigger events.
#[utoipa::path(get, path = "/apis/{provider}", tag = "apis", params(("provider" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(provider): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        domain::apis::get(&state.context.db, user.id(), &provider).await?,
    ))
}
