//! `/oauth/callback`: where OAuth 2 providers send the browser back after
//! "Connect". A browser route, not an API one: whatever happened, it
//! redirects to the Connections page, with `connected=<id>` or with
//! `error=<code>` (and the provider's own error code as `reason`), never
//! an error page and never a secret.

use axum::{
    Router,
    extract::State,
    http::Uri,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use domain::connection_oauth::{Callback, CallbackFailure};
use tower_sessions::Session;
use uuid::Uuid;

use crate::{auth::session_store::USER_ID, startup::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/callback", get(callback))
}

async fn callback(State(state): State<AppState>, session: Session, uri: Uri) -> Response {
    let mut callback = Callback::default();
    // The first of each parameter; anything else the provider adds is ignored.
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        let slot = match name.as_ref() {
            "code" => &mut callback.code,
            "state" => &mut callback.state,
            "error" => &mut callback.error,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.into_owned());
        }
    }
    let user: Option<Uuid> = session.get(USER_ID).await.ok().flatten();
    let session_id = session.id().map(|id| id.to_string());
    let outcome = state
        .connections
        .complete_authorization(user, session_id.as_deref(), callback)
        .await;
    let mut query = form_urlencoded::Serializer::new(String::new());
    match outcome {
        Ok(id) => {
            query.append_pair("connected", &id.to_string());
        }
        Err(CallbackFailure { code, reason }) => {
            tracing::info!(code, reason = reason.as_deref(), "OAuth callback refused");
            query.append_pair("error", code);
            if let Some(reason) = reason {
                query.append_pair("reason", &reason);
            }
        }
    }
    Redirect::to(&format!("/connections?{}", query.finish())).into_response()
}
