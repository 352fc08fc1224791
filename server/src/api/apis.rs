//! `/apis`: the catalogue of providers (their actions, triggers, auth and
//! limits) and a search over it, for the API explorer and scripts.

use axum::{
    Json, Router,
    extract::{Path, Query},
    routing::get,
};
use domain::apis::{ApiMatch, ApiSummary};
use serde::Deserialize;
use serde_json::Value;

use super::ErrorResponse;
use crate::{auth::CurrentUser, error::ApiError, startup::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apis", get(list))
        .route("/apis/search", get(search))
        .route("/apis/{provider}", get(read))
}

/// Every provider this account can use.
#[utoipa::path(get, path = "/apis", tag = "apis", responses((status = 200, body = Vec<ApiSummary>)),
    security(("session" = []), ("token" = [])))]
async fn list(_user: CurrentUser) -> Json<Vec<ApiSummary>> {
    Json(domain::apis::list())
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
    _user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<ApiMatch>>, ApiError> {
    Ok(Json(domain::apis::search(
        query.q.as_deref().unwrap_or_default(),
    )?))
}

/// One provider: connection fields, auth, rate limit, actions with their
/// fields and output, trigger events.
#[utoipa::path(get, path = "/apis/{provider}", tag = "apis", params(("provider" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn read(_user: CurrentUser, Path(provider): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(domain::apis::get(&provider)?))
}
