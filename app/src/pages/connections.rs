//! Connections: the credentials steps act with. Add one per provider with
//! the fields that provider needs (or a generic bearer, basic, header or
//! OAuth 2 credential), connect OAuth 2 ones through the provider, test
//! them, see which workflows use them, delete them. Secret values go in
//! and never come back.

mod connect;

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use self::connect::{CallbackMessage, ConnectButton, UsedBy};
use crate::{
    account::RequireAccount,
    api::{self, ApiError},
    components::field::FormMessage,
};

/// A connection as the API lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ConnectionRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub settings: Value,
    #[serde(default)]
    pub created_at: String,
}

impl ConnectionRow {
    /// Why the connection needs new credentials, if it does.
    pub fn needs_reconnection(&self) -> Option<String> {
        (self.settings.get("status").and_then(Value::as_str) == Some("reconnect")).then(|| {
            self.settings
                .get("status_reason")
                .and_then(Value::as_str)
                .unwrap_or("its token was refused")
                .to_owned()
        })
    }
}

/// A provider as `/apis` lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub category: String,
}

/// One field a connection of some kind asks for.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CredentialField {
    pub name: String,
    pub label: String,
    pub secret: bool,
    pub required: bool,
    #[serde(default)]
    pub help: String,
}

#[derive(Deserialize)]
struct ProviderDetail {
    connection: ConnectionSpec,
}

#[derive(Deserialize)]
struct ConnectionSpec {
    fields: Vec<CredentialField>,
}

#[derive(Clone, Debug, Deserialize)]
struct TestResult {
    ok: bool,
    message: String,
}

fn field(name: &str, label: &str, secret: bool, required: bool) -> CredentialField {
    CredentialField {
        name: name.into(),
        label: label.into(),
        secret,
        required,
        help: String::new(),
    }
}

/// The fields of the kinds any HTTP request can use.
fn generic_fields(kind: &str) -> Vec<CredentialField> {
    match kind {
        "bearer" => vec![field("token", "Token", true, true)],
        "basic" => vec![
            field("username", "User name", false, true),
            field("password", "Password", true, true),
        ],
        "header" => vec![
            field("header_name", "Header name", false, true),
            field("value", "Header value", true, true),
        ],
        "oauth2" => vec![
            CredentialField {
                help: "The provider's authorization endpoint. With it, leave the tokens empty and press Connect once the connection is added.".into(),
                ..field("authorize_url", "Authorize URL", false, false)
            },
            field("token_url", "Token URL", false, true),
            field("client_id", "Client id", false, true),
            field("client_secret", "Client secret", true, false),
            field("scope", "Scope", false, false),
            CredentialField {
                help: "Only without an authorize URL: tokens you already have.".into(),
                ..field("access_token", "Access token", true, false)
            },
            field("refresh_token", "Refresh token", true, false),
        ],
        _ => Vec::new(),
    }
}

const GENERIC: [(&str, &str); 4] = [
    ("bearer", "Bearer token"),
    ("basic", "Basic authentication"),
    ("header", "API key header"),
    ("oauth2", "OAuth 2 tokens"),
];

/// Settings every provider connection may have, shown folded.
fn advanced_fields() -> Vec<CredentialField> {
    vec![
        CredentialField {
            help: "Another address for the API: a test server, a proxy, a self-hosted instance."
                .into(),
            ..field("base_url", "Base URL", false, false)
        },
        CredentialField {
            help: "Requests per second; the provider's published limit when empty.".into(),
            ..field("rate_per_second", "Rate limit (per second)", false, false)
        },
        field("rate_burst", "Burst", false, false),
    ]
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! {
        <Title text="Connections" />
        <header class="page-header">
            <h1>"Connections"</h1>
            <p class="muted">"Credentials for the services your workflows call, stored encrypted and never shown again."</p>
        </header>
        <RequireAccount>
            <Connections />
        </RequireAccount>
    }
}

#[component]
fn Connections() -> impl IntoView {
    let connections =
        LocalResource::new(|| api::call::<Vec<ConnectionRow>>("GET", "/connections", None));
    let providers = LocalResource::new(|| api::call::<Vec<ProviderRow>>("GET", "/apis", None));
    let tested = RwSignal::new(BTreeMap::<String, TestResult>::new());
    let error = RwSignal::new(None::<ApiError>);
    let test = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::call::<TestResult>("POST", &format!("/connections/{id}/test"), None).await {
                Ok(result) => tested.update(|t| {
                    t.insert(id, result);
                }),
                Err(failure) => tested.update(|t| {
                    t.insert(
                        id,
                        TestResult {
                            ok: false,
                            message: failure.describe(),
                        },
                    );
                }),
            }
        });
    };
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::call::<Value>("DELETE", &format!("/connections/{id}"), None).await {
                Ok(_) => connections.refetch(),
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let provider_name = move |kind: &str| {
        providers
            .get()
            .and_then(|p| p.ok())
            .and_then(|list| list.into_iter().find(|p| p.id == kind).map(|p| p.name))
            .or_else(|| {
                GENERIC
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, label)| label.to_string())
            })
            .unwrap_or_else(|| kind.to_owned())
    };
    view! {
        <div class="settings-grid">
            <NewConnection providers on_created=Callback::new(move |_| connections.refetch()) />
            <section class="card settings-wide" aria-labelledby="connections-heading">
                <h2 id="connections-heading">"Your connections"</h2>
                <FormMessage message=Signal::derive(move || error.get().map(|e| e.describe())) />
                <CallbackMessage connections />
                <Suspense fallback=|| view! { <p class="muted">"Loading connections…"</p> }>
                    {move || Suspend::new(async move {
                        match connections.await {
                            Ok(list) if list.is_empty() => view! {
                                <div class="empty-state" data-testid="no-connections">
                                    <h3>"No connections yet"</h3>
                                    <p class="muted">"Add one above; any HTTP or integration step of yours can use it."</p>
                                </div>
                            }.into_any(),
                            Ok(list) => view! {
                                <table class="table" data-testid="connections">
                                    <thead><tr><th>"Name"</th><th>"Service"</th><th>"Secrets"</th><th>"Status"</th><th>"Used by"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|connection| {
                                            let (test_id, remove_id, status_id) = (connection.id.clone(), connection.id.clone(), connection.id.clone());
                                            let status = move || tested.with(|t| t.get(&status_id).cloned());
                                            let reconnect = connection.needs_reconnection();
                                            let connectable = connection.connectable();
                                            let connect = connectable.then(|| connection.clone());
                                            let used_by = connection.id.clone();
                                            view! {
                                                <tr data-connection=connection.name.clone()>
                                                    <td>{connection.name.clone()}</td>
                                                    <td>{provider_name(&connection.kind)}</td>
                                                    <td>{connection.secrets.join(", ")}</td>
                                                    <td data-testid="connection-status">{move || match (status(), reconnect.clone()) {
                                                        (None, Some(reason)) => view! { <span class="badge badge-danger">"Reconnect"</span> " " <span>{if connectable { format!("Press Reconnect: {reason}") } else { format!("Enter new credentials: {reason}") }}</span> }.into_any(),
                                                        (status, _) => match status {
                                                        Some(result) if result.ok => view! { <span class="badge badge-success">"Works"</span> " " <span class="muted">{result.message}</span> }.into_any(),
                                                        Some(result) => view! { <span class="badge badge-danger">"Failed"</span> " " <span>{result.message}</span> }.into_any(),
                                                        None => view! { <span class="muted">"Not tested"</span> }.into_any(),
                                                    }}}</td>
                                                    <td><UsedBy id=used_by /></td>
                                                    <td class="row-actions">
                                                        {connect.map(|connection| view! { <ConnectButton connection /> })}
                                                        <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| test(test_id.clone())>"Test"</button>
                                                        <button type="button" class="btn btn-danger btn-sm" aria-label=format!("Delete {}", connection.name) on:click=move |_| remove(remove_id.clone())>"Delete"</button>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(failure) => view! { <p class="alert alert-danger">{failure.describe()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}

#[component]
fn NewConnection(
    providers: LocalResource<Result<Vec<ProviderRow>, ApiError>>,
    on_created: Callback<()>,
) -> impl IntoView {
    let query = use_query_map();
    let kind = RwSignal::new(
        query
            .with_untracked(|q| q.get("provider"))
            .unwrap_or_else(|| "stripe".into()),
    );
    let name = RwSignal::new(String::new());
    let values = RwSignal::new(BTreeMap::<String, String>::new());
    let error = RwSignal::new(None::<ApiError>);
    let created = RwSignal::new(None::<String>);
    let fields = LocalResource::new(move || {
        let kind = kind.get();
        async move {
            if GENERIC.iter().any(|(k, _)| *k == kind) {
                return generic_fields(&kind);
            }
            match api::call::<ProviderDetail>("GET", &format!("/apis/{kind}"), None).await {
                Ok(detail) => detail
                    .connection
                    .fields
                    .into_iter()
                    .chain(advanced_fields())
                    .collect(),
                Err(_) => Vec::new(),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        created.set(None);
        let mut fields = Map::new();
        for (field, value) in values.get_untracked() {
            if !value.trim().is_empty() {
                fields.insert(field, Value::String(value));
            }
        }
        let body =
            json!({ "name": name.get_untracked(), "kind": kind.get_untracked(), "fields": fields });
        leptos::task::spawn_local(async move {
            match api::call::<ConnectionRow>("POST", "/connections", Some(&body)).await {
                Ok(connection) => {
                    created.set(Some(connection.name));
                    name.set(String::new());
                    values.set(BTreeMap::new());
                    on_created.run(());
                }
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let problem = move |field: String| move || error.get().and_then(|e| e.field(&field));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.fields.is_empty())
            .map(|e| e.message)
    });
    view! {
        <section class="card settings-wide" aria-labelledby="new-connection-heading">
            <h2 id="new-connection-heading">"Add a connection"</h2>
            <form on:submit=submit novalidate data-testid="new-connection">
                <FormMessage message=general />
                <div class="field">
                    <label for="connection-kind">"Service"</label>
                    <select id="connection-kind" prop:value=move || kind.get()
                        on:change=move |ev| { kind.set(event_target_value(&ev)); values.set(BTreeMap::new()); }>
                        <optgroup label="Services">
                            {move || providers.get().and_then(|p| p.ok()).unwrap_or_default().into_iter().map(|p| {
                                view! { <option value=p.id.clone() selected=p.id == kind.get_untracked()>{format!("{} ({})", p.name, p.category)}</option> }
                            }).collect_view()}
                        </optgroup>
                        <optgroup label="Any HTTP API">
                            {GENERIC.iter().map(|(k, label)| view! { <option value=*k>{*label}</option> }).collect_view()}
                        </optgroup>
                    </select>
                </div>
                <div class="field">
                    <label for="connection-name">"Name"</label>
                    <input id="connection-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))
                        placeholder="e.g. Stripe (live)" aria-invalid=move || problem("name".into())().is_some().to_string() />
                    <p class="field-error" role="alert">{problem("name".into())}</p>
                </div>
                <Suspense>
                    {move || Suspend::new(async move {
                        fields.await.into_iter().map(|spec| {
                            let id = format!("connection-field-{}", spec.name);
                            let key = spec.name.clone();
                            let read = spec.name.clone();
                            let label = format!("{}{}", spec.label, if spec.required { " *" } else { "" });
                            view! {
                                <div class="field" data-field=spec.name.clone()>
                                    <label for=id.clone()>{label}</label>
                                    <input id=id type=if spec.secret { "password" } else { "text" } autocomplete="off"
                                        prop:value=move || values.with(|v| v.get(&read).cloned().unwrap_or_default())
                                        on:input=move |ev| { let text = event_target_value(&ev); values.update(|v| { v.insert(key.clone(), text); }); } />
                                    {(!spec.help.is_empty()).then(|| view! { <p class="hint">{spec.help.clone()}</p> })}
                                    <p class="field-error" role="alert">{problem(format!("fields.{}", spec.name))}</p>
                                </div>
                            }
                        }).collect_view()
                    })}
                </Suspense>
                <button type="submit" class="btn btn-primary">"Add connection"</button>
                <Show when=move || created.get().is_some()>
                    <p class="alert alert-success" role="status">{move || format!("Added {}. Test it below.", created.get().unwrap_or_default())}</p>
                </Show>
            </form>
        </section>
    }
}
