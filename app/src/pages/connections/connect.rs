//! The OAuth 2 side of the Connections page: "Connect" / "Reconnect" for
//! `oauth2` connections with an authorize URL, what `/oauth/callback`
//! reported on the way back (`?connected=` or `?error=&reason=`), and
//! which workflows use each connection.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::Deserialize;

use super::ConnectionRow;
use crate::api::{self, ApiError};

#[derive(Clone, Debug, Deserialize)]
struct AuthorizeAnswer {
    url: String,
}

/// A workflow using a connection, as `/connections/{id}/usage` lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ConnectionUse {
    workflow_id: String,
    workflow_name: String,
    #[serde(default)]
    node_ids: Vec<String>,
}

impl ConnectionRow {
    /// Whether "Connect" can get this connection's tokens.
    pub fn connectable(&self) -> bool {
        self.kind == "oauth2"
            && self
                .settings
                .get("authorize_url")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|u| !u.is_empty())
    }
}

/// What a callback's error code means, in words. Only known codes are
/// explained: the page never shows text taken from the address bar,
/// except the provider's own short error code.
fn callback_error(code: &str, reason: Option<&str>) -> String {
    let because = reason
        .filter(|r| !r.is_empty())
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match code {
        "denied" => format!("The provider did not grant access{because}."),
        "token_refused" => format!("The provider's token endpoint refused the authorization code{because}. Check the client id and secret, then connect again."),
        "token_unreachable" => "Could not reach the provider's token endpoint; try again.".into(),
        "token_url" => "The connection's token URL is not valid or not allowed from this server.".into(),
        "state_used" => "That sign-in at the provider was already used; press Connect again.".into(),
        "state_expired" => "The sign-in at the provider took longer than 10 minutes; press Connect again.".into(),
        "other_session" => "That sign-in at the provider was started in another browser session; press Connect again here.".into(),
        "no_state" | "unknown_state" => "The provider's answer matches no connection attempt; press Connect again.".into(),
        "no_code" => "The provider sent no authorization code; press Connect again.".into(),
        "connection_gone" => "The connection no longer exists.".into(),
        _ => "Connecting failed; press Connect again.".into(),
    }
}

/// The outcome of a trip to the provider, read from the page's query.
#[component]
pub fn CallbackMessage(
    connections: LocalResource<Result<Vec<ConnectionRow>, ApiError>>,
) -> impl IntoView {
    let query = use_query_map();
    let connected = move || query.with(|q| q.get("connected"));
    let failed = move || {
        query.with(|q| {
            q.get("error")
                .map(|code| callback_error(&code, q.get("reason").as_deref()))
        })
    };
    let name_of = move |id: &str| {
        connections
            .get()
            .and_then(|list| list.ok())
            .and_then(|list| list.into_iter().find(|c| c.id == id).map(|c| c.name))
            .unwrap_or_else(|| "the connection".into())
    };
    view! {
        {move || connected().map(|id| view! {
            <p class="alert alert-success" role="status" data-testid="connected">
                {format!("Connected {}: its tokens are stored and renewed when they expire.", name_of(&id))}
            </p>
        })}
        {move || failed().map(|message| view! {
            <p class="alert alert-danger" role="alert" data-testid="connect-error">{message}</p>
        })}
    }
}

/// "Connect" (or "Reconnect" once it has tokens or needs new ones): asks
/// the server for the provider's URL and goes there.
#[component]
pub fn ConnectButton(connection: ConnectionRow) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let label = if connection.secrets.iter().any(|s| s == "access_token")
        || connection.needs_reconnection().is_some()
    {
        "Reconnect"
    } else {
        "Connect"
    };
    let id = connection.id.clone();
    let connect = move |_| {
        let id = id.clone();
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::call::<AuthorizeAnswer>(
                "POST",
                &format!("/connections/{id}/authorize"),
                None,
            )
            .await
            {
                Ok(answer) => api::reload_to(&answer.url),
                Err(failure) => error.set(Some(failure.describe())),
            }
        });
    };
    view! {
        <button type="button" class="btn btn-primary btn-sm" data-testid="connect"
            aria-label=format!("{label} {}", connection.name) on:click=connect>{label}</button>
        {move || error.get().map(|message| view! { <span class="field-error" role="alert">{message}</span> })}
    }
}

/// Links to the workflows that use the connection.
#[component]
pub fn UsedBy(id: String) -> impl IntoView {
    let usage = LocalResource::new(move || {
        let id = id.clone();
        async move {
            api::call::<Vec<ConnectionUse>>("GET", &format!("/connections/{id}/usage"), None).await
        }
    });
    view! {
        <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(list) if list.is_empty() => view! { <span class="muted">"No workflow"</span> }.into_any(),
                    Ok(list) => view! {
                        <ul class="plain-list" data-testid="used-by">
                            {list.into_iter().map(|used| {
                                let steps = format!("steps: {}", used.node_ids.join(", "));
                                view! {
                                    <li><a href=format!("/workflows/{}", used.workflow_id) title=steps>{used.workflow_name}</a></li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <span class="muted">{failure.describe()}</span> }.into_any(),
                }
            })}
        </Suspense>
    }
}
