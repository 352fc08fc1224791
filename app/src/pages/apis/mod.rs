//! The API explorer: every API the account can call (built in and
//! imported from OpenAPI documents), searchable; one API's actions with
//! their fields and output, its trigger events, authentication and rate
//! limit; "use in a workflow" starts a draft with the step; and the
//! import of an OpenAPI document.

mod import;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    account::RequireAccount,
    api::{self, ApiError},
    components::field::FormMessage,
};

/// An API as `/apis` lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ApiRow {
    pub id: String,
    pub name: String,
    pub category: String,
    pub source: String,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub auth: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ApiDetail {
    id: String,
    name: String,
    category: String,
    #[serde(default)]
    docs: String,
    source: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    actions: Vec<ActionDetail>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    rate_limit: Value,
    #[serde(default)]
    connection: Value,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ActionDetail {
    name: String,
    label: String,
    #[serde(default)]
    description: String,
    method: String,
    path: String,
    #[serde(default)]
    fields: Vec<FieldDetail>,
    #[serde(default)]
    output: Vec<OutputDetail>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct FieldDetail {
    name: String,
    #[serde(rename = "type")]
    ty: Value,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    help: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct OutputDetail {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    description: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Skipped {
    pub operation: String,
    pub reason: String,
}

#[component]
pub fn ApisPage() -> impl IntoView {
    view! {
        <Title text="APIs" />
        <header class="page-header">
            <h1>"APIs"</h1>
            <p class="muted">"Every API your workflows can call: browse its actions, fields and output, or import your own from an OpenAPI document."</p>
        </header>
        <RequireAccount>
            <ClientOnly>
                <Explorer />
            </ClientOnly>
        </RequireAccount>
    }
}

/// Renders its children only once the page runs in the browser: every
/// part of the explorer is loaded there, and rendering it on the server
/// too let hydration meet a different tree now and then (an intermittent
/// hydration panic seen in the browser tests).
#[component]
fn ClientOnly(children: ChildrenFn) -> impl IntoView {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    view! {
        <Show when=move || mounted.get() fallback=|| view! { <p class="muted">"Loading APIs…"</p> }>
            {children()}
        </Show>
    }
}

#[component]
fn Explorer() -> impl IntoView {
    let query = use_query_map();
    let selected = RwSignal::new(query.with_untracked(|q| q.get("api")));
    let search = RwSignal::new(String::new());
    let apis = LocalResource::new(|| api::call::<Vec<ApiRow>>("GET", "/apis", None));
    let matches = LocalResource::new(move || {
        let words = search.get();
        async move {
            if words.trim().is_empty() {
                return None;
            }
            let path = format!(
                "/apis/search?q={}",
                crate::account::encode_component(words.trim())
            );
            api::call::<Vec<ApiRow>>("GET", &path, None).await.ok()
        }
    });
    let imported = Callback::new(move |id: String| {
        apis.refetch();
        selected.set(Some(id));
    });
    view! {
        <div class="explorer">
            <section class="card explorer-list" aria-labelledby="apis-heading">
                <h2 id="apis-heading">"Catalogue"</h2>
                <div class="field">
                    <label for="api-search">"Search"</label>
                    <input id="api-search" type="search" placeholder="sms, email, payments, create issue…"
                        prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) />
                </div>
                <Suspense fallback=|| view! { <p class="muted">"Loading APIs…"</p> }>
                    {move || Suspend::new(async move {
                        let all = match apis.await {
                            Ok(all) => all,
                            Err(failure) => return view! { <p class="alert alert-danger">{failure.describe()}</p> }.into_any(),
                        };
                        let shown = match matches.await {
                            Some(hits) => hits,
                            None => all,
                        };
                        if shown.is_empty() {
                            return view! { <p class="muted" data-testid="no-apis">"No API matches."</p> }.into_any();
                        }
                        view! {
                            <ul class="api-list" data-testid="api-list">
                                {shown.into_iter().map(|row| {
                                    let id = row.id.clone();
                                    let current = row.id.clone();
                                    view! {
                                        <li>
                                            <button type="button" class="api-item" data-api=row.id.clone()
                                                aria-pressed=move || (selected.get().as_deref() == Some(current.as_str())).to_string()
                                                on:click=move |_| selected.set(Some(id.clone()))>
                                                <strong>{row.name.clone()}</strong>
                                                <span class="muted">{format!(" {} · {} steps", row.category, row.kinds.len())}</span>
                                                {(row.source == "imported").then(|| view! { <span class="badge">"imported"</span> })}
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Suspense>
                <import::ImportDocument on_imported=imported />
            </section>
            <section class="card explorer-detail" aria-live="polite">
                {move || match selected.get() {
                    Some(id) => view! { <ApiPanel id on_deleted=Callback::new(move |_| { selected.set(None); apis.refetch(); }) /> }.into_any(),
                    None => view! { <p class="muted">"Choose an API to see its actions."</p> }.into_any(),
                }}
            </section>
        </div>
    }
}

/// The node type a form field shows as (`text`, `select`, …).
fn type_label(ty: &Value) -> String {
    ty.get("kind")
        .and_then(Value::as_str)
        .unwrap_or("any")
        .replace('_', " ")
}

#[component]
fn ApiPanel(id: String, on_deleted: Callback<()>) -> impl IntoView {
    let path = format!("/apis/{id}");
    let detail = LocalResource::new(move || {
        let path = path.clone();
        async move { api::call::<ApiDetail>("GET", &path, None).await }
    });
    let error = RwSignal::new(None::<ApiError>);
    let navigate = use_navigate();
    let use_step = move |api_name: String, kind: String, label: String, trigger: bool| {
        let navigate = navigate.clone();
        let document = starter(&api_name, &kind, &label, trigger);
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", "/workflows", Some(&document)).await {
                Ok(created) => {
                    let id = created["id"].as_str().unwrap_or_default().to_owned();
                    navigate(&format!("/workflows/{id}"), Default::default());
                }
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let delete = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::call::<Value>("DELETE", &format!("/apis/{id}"), None).await {
                Ok(_) => on_deleted.run(()),
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    view! {
        <FormMessage message=Signal::derive(move || error.get().map(|e| e.describe())) />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let use_step = use_step.clone();
                Suspend::new(async move {
                let api = match detail.await {
                    Ok(api) => api,
                    Err(failure) => return view! { <p class="alert alert-danger">{failure.describe()}</p> }.into_any(),
                };
                let rate = api.rate_limit.get("per_second").and_then(Value::as_f64).map(|r| format!("{r} requests/s")).unwrap_or_default();
                let auth = api.connection.pointer("/auth/type").and_then(Value::as_str).unwrap_or("none").to_owned();
                let (api_id, api_name) = (api.id.clone(), api.name.clone());
                let trigger_name = api_name.clone();
                let trigger_use = use_step.clone();
                view! {
                    <div data-testid="api-detail" data-api=api.id.clone()>
                        <h2>{api.name.clone()}</h2>
                        <p class="muted">
                            {format!("{} · {} · auth: {auth}", api.category, if api.source == "imported" { "imported" } else { "built in" })}
                            {(!rate.is_empty()).then(|| format!(" · {rate}"))}
                            {api.version.clone().map(|v| format!(" · version {v}"))}
                        </p>
                        {(!api.base_url.is_empty()).then(|| view! { <p><code>{api.base_url.clone()}</code></p> })}
                        {(!api.docs.is_empty()).then(|| view! { <p><a href=api.docs.clone() rel="noopener noreferrer" target="_blank">"Provider documentation"</a></p> })}
                        <p class="row-actions">
                            <a class="btn btn-secondary btn-sm" href=format!("/connections?provider={}", api.id)>"Add a connection"</a>
                            {(api.source == "imported").then(|| {
                                let id = api.id.clone();
                                view! { <button type="button" class="btn btn-danger btn-sm" on:click=move |_| delete(id.clone())>"Delete this API"</button> }
                            })}
                        </p>
                        {(!api.events.is_empty()).then(|| view! {
                            <h3>"Trigger events"</h3>
                            <p>{api.events.join(", ")}</p>
                            <button type="button" class="btn btn-secondary btn-sm"
                                on:click=move |_| trigger_use(trigger_name.clone(), format!("{}.trigger", api_id), "Event".into(), true)>
                                "Use the trigger in a workflow"
                            </button>
                        })}
                        <h3>{format!("Actions ({})", api.actions.len())}</h3>
                        {api.actions.into_iter().map(|action| {
                            let kind = format!("{}.{}", api.id, action.name);
                            let (name, label) = (api_name.clone(), action.label.clone());
                            let use_step = use_step.clone();
                            let use_kind = kind.clone();
                            view! {
                                <details class="api-action" data-kind=kind.clone()>
                                    <summary><strong>{action.label.clone()}</strong> " " <code>{format!("{} {}", action.method, action.path)}</code></summary>
                                    {(!action.description.is_empty()).then(|| view! { <p class="muted">{action.description.clone()}</p> })}
                                    <p><code>{kind.clone()}</code></p>
                                    <table class="table">
                                        <thead><tr><th>"Field"</th><th>"Type"</th><th>"About"</th></tr></thead>
                                        <tbody>
                                            {action.fields.into_iter().map(|f| view! {
                                                <tr><td>{f.name.clone()}{f.required.then_some(" *")}</td><td>{type_label(&f.ty)}</td><td>{f.help.clone()}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    {(!action.output.is_empty()).then(|| view! {
                                        <p><strong>"Output: "</strong>
                                        {action.output.iter().map(|o| format!("{} ({})", o.name, o.ty)).collect::<Vec<_>>().join(", ")}</p>
                                        <ul class="visually-hidden">{action.output.into_iter().map(|o| view! { <li>{o.description}</li> }).collect_view()}</ul>
                                    })}
                                    <button type="button" class="btn btn-primary btn-sm"
                                        on:click=move |_| use_step(name.clone(), use_kind.clone(), label.clone(), false)>
                                        "Use in a workflow"
                                    </button>
                                </details>
                            }
                        }).collect_view()}
                        {(!api.skipped.is_empty()).then(|| view! {
                            <h3>"Left out of the import"</h3>
                            <ul>{api.skipped.into_iter().map(|s| view! { <li><code>{s.operation}</code> ": " {s.reason}</li> }).collect_view()}</ul>
                        })}
                    </div>
                }.into_any()
            })}}
        </Suspense>
    }
}

/// A new draft with the step after a manual trigger (or the trigger itself).
fn starter(api: &str, kind: &str, label: &str, trigger: bool) -> Value {
    if trigger {
        return json!({
            "name": format!("{api}: {label}"),
            "nodes": [{"id": "trigger", "kind": kind, "position": {"x": 40, "y": 100}, "config": {}}],
            "edges": []
        });
    }
    json!({
        "name": format!("{api}: {label}"),
        "nodes": [
            {"id": "start", "kind": "manual_trigger", "position": {"x": 40, "y": 100}},
            {"id": "step", "kind": kind, "label": label, "position": {"x": 330, "y": 100}, "config": {}}
        ],
        "edges": [{"source": "start", "target": "step"}]
    })
}
