//! Who is calling: a session cookie (browsers) or a personal API token
//! (`Authorization: Bearer sy_…`, scripts). Cookie-authenticated changes
//! must come from Switchyard's own pages (CSRF protection).

pub mod session_store;
pub mod throttle;

use axum::extract::FromRequestParts;
use domain::accounts::Account;
use http::{Method, header::AUTHORIZATION, request::Parts};
use tower_sessions::Session;
use uuid::Uuid;

use crate::{error::ApiError, startup::AppState};

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    Token,
}

/// The signed-in account; extracting it answers 401 when nobody is.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub account: Account,
    pub method: AuthMethod,
}

impl CurrentUser {
    pub fn id(&self) -> Uuid {
        self.account.id
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let db = &state.context.db;
        if let Some(header) = parts.headers.get(AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::Unauthorized("use Authorization: Bearer <token>".into())
                })?;
            let account = domain::tokens::authenticate(db, token.trim())
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized("the API token is not valid or was revoked".into())
                })?;
            return Ok(CurrentUser {
                account,
                method: AuthMethod::Token,
            });
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| ApiError::Internal(message.into()))?;
        let user_id: Option<Uuid> = session
            .get(session_store::USER_ID)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let Some(user_id) = user_id else {
            return Err(ApiError::Unauthorized(
                "sign in, or send an API token".into(),
            ));
        };
        let account = domain::accounts::find(db, user_id)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("sign in again".into()))?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            check_same_origin(parts, &state.config.public_url())?;
        }
        Ok(CurrentUser {
            account,
            method: AuthMethod::Session,
        })
    }
}

/// Refuses cookie-authenticated changes sent from other sites: browsers
/// say where a request comes from in `Sec-Fetch-Site` or `Origin`.
pub fn check_same_origin(parts: &Parts, public_url: &url::Url) -> Result<(), ApiError> {
    let refused = || {
        ApiError::Forbidden(
            "cross-site request refused; use the Switchyard pages or an API token".into(),
        )
    };
    if let Some(site) = parts.headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or_default() {
            "same-origin" | "none" => Ok(()),
            _ => Err(refused()),
        };
    }
    if let Some(origin) = parts.headers.get(http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        let public = public_url.origin().ascii_serialization();
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let same_host = origin
            .split_once("://")
            .is_some_and(|(_, rest)| !host.is_empty() && rest == host);
        return if origin == public || same_host {
            Ok(())
        } else {
            Err(refused())
        };
    }
    // Neither header: not a browser, so not a forged cross-site request.
    Ok(())
}
