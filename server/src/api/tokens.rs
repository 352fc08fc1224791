//! `/tokens`: personal API tokens for scripts.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{delete, get},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ErrorResponse;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiJson, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub id: Uuid,
    pub name: String,
    /// The first characters, to recognise the token.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenResponse,
    /// The token itself; shown this once, never again.
    pub token: String,
}

impl From<domain::tokens::TokenInfo> for TokenResponse {
    fn from(t: domain::tokens::TokenInfo) -> Self {
        TokenResponse {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at.to_rfc3339(),
            last_used_at: t.last_used_at.map(|at| at.to_rfc3339()),
        }
    }
}

/// Tokens that are not revoked.
#[utoipa::path(get, path = "/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenResponse>)), security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<TokenResponse>>, ApiError> {
    Ok(Json(
        domain::tokens::list(&state.context.db, user.id())
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Creates a token and shows it once.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let (info, token) = domain::tokens::create(&state.context.db, user.id(), &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: info.into(),
            token,
        }),
    ))
}

/// Revokes a token; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    domain::tokens::revoke(&state.context.db, user.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
