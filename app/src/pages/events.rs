//! `/events`: the events posted to the account, newest first, each with
//! the runs it started and how they went, updating live; and a form to
//! send one by hand (the same as `POST /api/v1/events`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    account::RequireAccount,
    api,
    components::badge::{StatusBadge, short_time},
    live,
};

/// A run an event started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartedRun {
    pub id: String,
    pub workflow_name: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub source: Option<String>,
    pub data: Value,
    pub created_at: String,
    pub runs: Vec<StartedRun>,
}

#[server(endpoint = "list_events")]
pub async fn list_events() -> Result<Vec<EventRow>, ServerFnError> {
    use std::collections::HashMap;

    use crate::server_context::{ServerContext, fail};
    let context = ServerContext::from_leptos()?;
    /// Events shown, newest first.
    const SHOWN: u64 = 100;
    let owner = context.require_account().await?.id;
    let events = domain::events::list(&context.db, owner, SHOWN)
        .await
        .map_err(fail)?;
    let ids: Vec<uuid::Uuid> = events
        .iter()
        .flat_map(|e| e.execution_ids.iter().copied())
        .collect();
    let runs: HashMap<_, _> = domain::executions::summaries(&context.db, owner, &ids)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|run| (run.id, run))
        .collect();
    let names: HashMap<_, _> = domain::workflows::names(&context.db, owner)
        .await
        .map_err(fail)?
        .into_iter()
        .collect();
    Ok(events
        .into_iter()
        .map(|event| EventRow {
            id: event.id.to_string(),
            runs: event
                .execution_ids
                .iter()
                .map(|id| {
                    let run = runs.get(id);
                    StartedRun {
                        id: id.to_string(),
                        workflow_name: run
                            .and_then(|r| names.get(&r.workflow_id).cloned())
                            .unwrap_or_else(|| "deleted workflow".into()),
                        status: run
                            .map(|r| r.status.clone())
                            .unwrap_or_else(|| "deleted".into()),
                    }
                })
                .collect(),
            kind: event.kind,
            source: event.source,
            data: event.data,
            created_at: event.created_at,
        })
        .collect())
}

#[component]
pub fn EventsPage() -> impl IntoView {
    view! {
        <Title text="Events" />
        <header class="page-header">
            <h1>"Events"</h1>
            <p class="muted">
                "An event posted to " <code>"POST /api/v1/events"</code>
                " starts every active workflow whose event trigger has its type and whose filter holds."
            </p>
        </header>
        <RequireAccount>
            <EventList />
        </RequireAccount>
    }
}

#[component]
fn EventList() -> impl IntoView {
    let events = Resource::new(|| (), |_| list_events());
    let refresh_soon = live::coalesce(
        move || events.refetch(),
        std::time::Duration::from_millis(300),
    );
    live::follow("/api/v1/stream".into(), move |event| {
        if event.changes_run_status() {
            refresh_soon();
        }
    });
    view! {
        <SendEvent on_sent=move || events.refetch() />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(rows) if rows.is_empty() => view! {
                        <div class="empty-state" data-testid="events-empty">
                            <h2>"No events yet"</h2>
                            <p class="muted">"Send one with the form above or from your own code with an API token."</p>
                        </div>
                    }.into_any(),
                    Ok(rows) => view! { <EventTable rows /> }.into_any(),
                    Err(error) => view! {
                        <p class="alert alert-danger" role="alert">"Events could not be loaded: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EventTable(rows: Vec<EventRow>) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|event| {
            let runs = if event.runs.is_empty() {
                view! { <span class="muted small">"No workflow matched"</span> }.into_any()
            } else {
                view! {
                    <ul class="started-runs" role="list">
                        {event.runs.into_iter().map(|run| view! {
                            <li>
                                <StatusBadge status=run.status />
                                " " <A href=format!("/executions/{}", run.id)>{run.workflow_name}</A>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            };
            let kind = event.kind.clone();
            view! {
                <tr data-testid="event-row" data-event-type=kind>
                    <td><time datetime=event.created_at.clone()>{short_time(&event.created_at)}</time></td>
                    <td><code>{event.kind}</code></td>
                    <td>{event.source.unwrap_or_else(|| "—".into())}</td>
                    <td>
                        <details class="json-block">
                            <summary>"Data"</summary>
                            <pre>{serde_json::to_string_pretty(&event.data).unwrap_or_default()}</pre>
                        </details>
                    </td>
                    <td data-testid="event-runs">{runs}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" aria-label="Events">
            <thead>
                <tr>
                    <th scope="col">"Received"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Source"</th>
                    <th scope="col">"Data"</th>
                    <th scope="col">"Runs started"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// Posts an event by hand: type, optional source, JSON data.
#[component]
fn SendEvent(on_sent: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let kind = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    let data = RwSignal::new("{}".to_owned());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed: Value = match serde_json::from_str(&data.get_untracked()) {
            Ok(value) => value,
            Err(error) => {
                outcome.set(Some(Err(format!("data: not valid JSON ({error})"))));
                return;
            }
        };
        let source = Some(source.get_untracked()).filter(|s| !s.trim().is_empty());
        let body = json!({"type": kind.get_untracked(), "source": source, "data": parsed});
        let on_sent = on_sent.clone();
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", "/events", Some(&body)).await {
                Ok(posted) => {
                    let started = posted["execution_ids"].as_array().map_or(0, Vec::len);
                    outcome.set(Some(Ok(match started {
                        0 => "Sent; no active workflow matched it.".to_owned(),
                        1 => "Sent; it started 1 run.".to_owned(),
                        n => format!("Sent; it started {n} runs."),
                    })));
                    on_sent();
                }
                Err(error) => outcome.set(Some(Err(error.describe()))),
            }
        });
    };
    view! {
        <form class="card send-event" on:submit=send aria-labelledby="send-event-heading" data-testid="send-event">
            <h2 id="send-event-heading">"Send an event"</h2>
            <div class="send-event-fields">
                <div class="field">
                    <label for="event-type">"Type"</label>
                    <input id="event-type" required placeholder="customer.created" prop:value=move || kind.get()
                        on:input=move |ev| kind.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="event-source">"Source (optional)"</label>
                    <input id="event-source" placeholder="billing" prop:value=move || source.get()
                        on:input=move |ev| source.set(event_target_value(&ev)) />
                </div>
                <div class="field send-event-data">
                    <label for="event-data">"Data (JSON)"</label>
                    <textarea id="event-data" rows="3" class="mono" prop:value=move || data.get()
                        on:input=move |ev| data.set(event_target_value(&ev))></textarea>
                </div>
            </div>
            <div class="inline-actions">
                <button type="submit" class="btn btn-primary btn-sm">"Send"</button>
                {move || outcome.get().map(|result| match result {
                    Ok(text) => view! { <span class="muted small" role="status" data-testid="event-outcome">{text}</span> }.into_any(),
                    Err(text) => view! { <span class="field-error" role="alert" data-testid="event-outcome">{text}</span> }.into_any(),
                })}
            </div>
        </form>
    }
}
