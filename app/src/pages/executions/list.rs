//! `/executions`: every run, newest first, filtered by workflow, status and
//! time, updating live; and the dead-letter queue with redrive.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    account::RequireAccount,
    api,
    components::badge::{StatusBadge, short_time},
    live,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub workflow_id: String,
    pub status: String,
    pub trigger: String,
    pub created_at: String,
    pub duration_ms: Option<i64>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterRow {
    pub id: String,
    pub execution_id: String,
    pub workflow_id: String,
    pub node_id: String,
    pub reason: String,
    pub created_at: String,
}

/// What the filters ask for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFilter {
    pub workflow_id: String,
    pub status: String,
    /// Only runs of the last this many hours; 0 for all.
    pub within_hours: i64,
    /// Runs older than this one (the previous page's last).
    pub before: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    pub runs: Vec<RunRow>,
    pub next_cursor: Option<String>,
    /// Every workflow of the user, id and name, for the filter and labels.
    pub workflows: Vec<(String, String)>,
    pub dead_letters: Vec<DeadLetterRow>,
}

impl RunPage {
    pub fn workflow_name(&self, id: &str) -> String {
        self.workflows
            .iter()
            .find(|(w, _)| w == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| "deleted workflow".into())
    }
}

pub const PAGE_SIZE: u64 = 50;

#[server(endpoint = "list_runs")]
pub async fn list_runs(filter: RunFilter) -> Result<RunPage, ServerFnError> {
    use crate::server_context::{ServerContext, fail, reshape};
    let context = ServerContext::from_leptos()?;
    let owner = context.require_account().await?.id;
    let uuid = |text: &str| uuid::Uuid::parse_str(text).ok();
    let query = domain::executions::ExecutionFilter {
        workflow_id: uuid(&filter.workflow_id),
        status: model::ExecutionStatus::parse(&filter.status).map(|s| s.as_str().to_owned()),
        since: (filter.within_hours > 0)
            .then(|| engine::time::now_ms() - filter.within_hours * 3_600_000),
        until: None,
        limit: PAGE_SIZE,
        before: filter.before.as_deref().and_then(uuid),
    };
    let (runs, next) = domain::executions::list(&context.db, owner, &query)
        .await
        .map_err(fail)?;
    let names = domain::workflows::names(&context.db, owner)
        .await
        .map_err(fail)?;
    let letters = domain::executions::dead_letters(&context.db, owner, false, 100)
        .await
        .map_err(fail)?;
    Ok(RunPage {
        runs: reshape(&runs)?,
        next_cursor: next.map(|id| id.to_string()),
        workflows: names
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        dead_letters: reshape(&letters)?,
    })
}

/// `1234` ms as `1.2 s`; short runs in ms.
pub fn duration_text(ms: Option<i64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[component]
pub fn ExecutionsPage() -> impl IntoView {
    view! {
        <Title text="Executions" />
        <header class="page-header">
            <h1>"Executions"</h1>
            <p class="muted">"Every run of every workflow, live."</p>
        </header>
        <RequireAccount>
            <RunList />
        </RequireAccount>
    }
}

#[component]
fn RunList() -> impl IntoView {
    let filter = RwSignal::new(RunFilter::default());
    let runs = Resource::new(move || filter.get(), list_runs);
    let refresh = move || runs.refetch();
    let refresh_soon = live::coalesce(refresh, std::time::Duration::from_millis(300));
    live::follow("/api/v1/stream".into(), move |event| {
        if event.changes_run_status() {
            refresh_soon();
        }
    });
    let set = move |change: fn(&mut RunFilter, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            filter.update(|f| {
                change(f, value);
                f.before = None;
            });
        }
    };

    let content = move || {
        Suspend::new(async move {
            match runs.await {
                Ok(page) => view! { <RunTable page filter refresh /> }.into_any(),
                Err(error) => view! {
                    <p class="alert alert-danger" role="alert">"Runs could not be loaded: " {error.to_string()}</p>
                }
                .into_any(),
            }
        })
    };
    let workflow_options = move || {
        Suspend::new(async move {
            runs.await
                .map(|page| {
                    page.workflows
                        .into_iter()
                        .map(|(id, name)| {
                            let selected = filter.with_untracked(|f| f.workflow_id == id);
                            view! { <option value=id selected=selected>{name}</option> }
                        })
                        .collect_view()
                })
                .ok()
        })
    };
    view! {
        <div class="toolbar" role="group" aria-label="Filters">
            <div class="toolbar-actions">
                <label class="inline-label">
                    "Workflow"
                    <select on:change=set(|f, v| f.workflow_id = v)>
                        <option value="">"All workflows"</option>
                        <Transition>{workflow_options}</Transition>
                    </select>
                </label>
                <label class="inline-label">
                    "Status"
                    <select on:change=set(|f, v| f.status = v) data-testid="status-filter">
                        <option value="">"Any status"</option>
                        {["queued", "running", "waiting", "held", "succeeded", "failed", "cancelled"]
                            .into_iter()
                            .map(|s| view! { <option value=s>{s}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="inline-label">
                    "Time"
                    <select on:change=set(|f, v| f.within_hours = v.parse().unwrap_or(0))>
                        <option value="0">"Any time"</option>
                        <option value="1">"Last hour"</option>
                        <option value="24">"Last 24 hours"</option>
                        <option value="168">"Last 7 days"</option>
                    </select>
                </label>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>{content}</Transition>
    }
}

#[component]
fn RunTable(
    page: RunPage,
    filter: RwSignal<RunFilter>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let older = page.next_cursor.clone();
    let rows = page
        .runs
        .iter()
        .map(|run| {
            let href = format!("/executions/{}", run.id);
            let workflow = page.workflow_name(&run.workflow_id);
            view! {
                <tr data-testid="run-row" data-run-id=run.id.clone()>
                    <td><StatusBadge status=run.status.clone() /></td>
                    <td><A href=href.clone() attr:class="row-title">{workflow}</A></td>
                    <td class="capitalize">{run.trigger.replace('_', " ")}</td>
                    <td><time datetime=run.created_at.clone()>{short_time(&run.created_at)}</time></td>
                    <td>{duration_text(run.duration_ms)}</td>
                    <td class="row-actions"><A href=href attr:class="btn btn-ghost btn-sm">"Details"</A></td>
                </tr>
            }
        })
        .collect_view();
    let empty = page.runs.is_empty();
    view! {
        {if empty {
            view! {
                <div class="empty-state" data-testid="runs-empty">
                    <h2>"No runs here"</h2>
                    <p class="muted">"Runs appear as soon as a workflow starts, with each step's status."</p>
                </div>
            }.into_any()
        } else {
            view! {
                <table class="table" aria-label="Runs">
                    <thead>
                        <tr>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Workflow"</th>
                            <th scope="col">"Trigger"</th>
                            <th scope="col">"Started"</th>
                            <th scope="col">"Duration"</th>
                            <th scope="col"><span class="visually-hidden">"Details"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            }.into_any()
        }}
        {older.map(|cursor| view! {
            <p class="pager">
                <button type="button" class="btn btn-secondary" on:click=move |_| filter.update(|f| f.before = Some(cursor.clone()))>
                    "Older runs"
                </button>
            </p>
        })}
        <DeadLetters page refresh />
    }
}

#[component]
fn DeadLetters(page: RunPage, refresh: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    let redrive = move |path: String| {
        let refresh = refresh.clone();
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", &path, None).await {
                Ok(_) => message.set(Some("Sent back to the queue.".into())),
                Err(error) => message.set(Some(error.message)),
            }
            refresh();
        });
    };
    let redrive_all = {
        let redrive = redrive.clone();
        move |_| redrive("/dead-letters/redrive".into())
    };
    let rows = page
        .dead_letters
        .iter()
        .map(|letter| {
            let path = format!("/dead-letters/{}/redrive", letter.id);
            let redrive = redrive.clone();
            let workflow = page.workflow_name(&letter.workflow_id);
            view! {
                <tr data-testid="dead-letter">
                    <td><A href=format!("/executions/{}", letter.execution_id)>{workflow}</A></td>
                    <td><code>{letter.node_id.clone()}</code></td>
                    <td>{letter.reason.clone()}</td>
                    <td><time datetime=letter.created_at.clone()>{short_time(&letter.created_at)}</time></td>
                    <td class="row-actions">
                        <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| redrive(path.clone())>"Redrive"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let count = page.dead_letters.len();
    view! {
        <section class="section" aria-labelledby="dead-letters-heading">
            <div class="section-header">
                <h2 id="dead-letters-heading">"Dead letters " <span class="badge">{count}</span></h2>
                {(count > 0).then(|| view! {
                    <button type="button" class="btn btn-secondary btn-sm" on:click=redrive_all.clone()>"Redrive all"</button>
                })}
            </div>
            {move || message.get().map(|m| view! { <p class="alert alert-success" role="status">{m}</p> })}
            {if count == 0 {
                view! { <p class="muted">"No runs gave up. Runs that exhaust their retries land here to be sent again."</p> }.into_any()
            } else {
                view! {
                    <table class="table" aria-label="Dead letters">
                        <thead><tr>
                            <th scope="col">"Workflow"</th><th scope="col">"Step"</th><th scope="col">"Reason"</th>
                            <th scope="col">"When"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::duration_text(None), "—");
        assert_eq!(super::duration_text(Some(42)), "42 ms");
        assert_eq!(super::duration_text(Some(1250)), "1.2 s");
        assert_eq!(super::duration_text(Some(125_000)), "2 min 5 s");
    }
}
