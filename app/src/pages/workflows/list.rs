//! `/workflows`: every workflow with its status, trigger and last run;
//! activate or pause, duplicate, export, delete; search; import.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    account::RequireAccount,
    api::{self, ApiError},
    components::badge::{StatusBadge, short_time},
    live,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub version: i32,
    pub trigger_kind: Option<String>,
    pub node_count: usize,
    pub last_run: Option<LastRun>,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    pub execution_id: String,
    pub status: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowPage {
    pub items: Vec<WorkflowRow>,
    pub total: u64,
}

/// The signed-in user's workflows whose name or description contains
/// `search`, most recently changed first.
#[server(endpoint = "list_workflows")]
pub async fn list_workflows(search: String) -> Result<WorkflowPage, ServerFnError> {
    use crate::server_context::{ServerContext, fail, reshape};
    let context = ServerContext::from_leptos()?;
    let account = context.require_account().await?;
    let filter = domain::workflows::ListFilter {
        search: Some(search),
        limit: 200,
        ..Default::default()
    };
    let (items, total) = domain::workflows::list(&context.db, account.id, &filter)
        .await
        .map_err(fail)?;
    Ok(WorkflowPage {
        items: reshape(&items)?,
        total,
    })
}

/// A new workflow starts with a manual trigger on the canvas.
pub fn starter_workflow() -> Value {
    json!({
        "name": "Untitled workflow",
        "nodes": [{"id": "start", "kind": "manual_trigger", "label": "Start", "position": {"x": 80, "y": 200}}],
        "edges": []
    })
}

/// The public JSON format of a workflow as the API returns it: only the
/// fields an import accepts.
pub fn exported(workflow: &Value) -> Value {
    let mut document = serde_json::Map::new();
    for key in ["name", "description", "settings", "nodes", "edges"] {
        if let Some(value) = workflow.get(key) {
            document.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(document)
}

/// What the last action did, shown above the list.
#[derive(Clone, Debug, PartialEq)]
enum Notice {
    Done(String),
    Failed(String),
}

impl Notice {
    fn failed(what: &str, error: ApiError) -> Notice {
        Notice::Failed(format!("{what}: {}", error.describe()))
    }
}

#[component]
pub fn WorkflowsPage() -> impl IntoView {
    view! {
        <Title text="Workflows" />
        <header class="page-header">
            <h1>"Workflows"</h1>
            <p class="muted">"Graphs of triggers and steps that run when something happens."</p>
        </header>
        <RequireAccount>
            <super::describe::DescribeWorkflow />
            <WorkflowList />
        </RequireAccount>
    }
}

#[component]
fn WorkflowList() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let workflows = Resource::new(move || search.get(), list_workflows);
    let notice = RwSignal::new(None::<Notice>);
    let deleting = RwSignal::new(None::<WorkflowRow>);
    let imported = RwSignal::new(None::<super::import::Outcome>);
    // One message at a time: the last action's.
    Effect::new(move |_| {
        if notice.get().is_some() {
            imported.set(None);
        }
    });
    Effect::new(move |_| {
        if imported.get().is_some() {
            notice.set(None);
        }
    });
    let refresh = move || workflows.refetch();
    let refresh_soon = live::coalesce(refresh, std::time::Duration::from_millis(400));
    live::follow("/api/v1/stream".into(), move |event| {
        if event.changes_run_status() {
            refresh_soon();
        }
    });

    let navigate = use_navigate();
    let create = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", "/workflows", Some(&starter_workflow())).await {
                Ok(created) => {
                    let id = created["id"].as_str().unwrap_or_default();
                    navigate(&format!("/workflows/{id}"), Default::default());
                }
                Err(error) => {
                    notice.set(Some(Notice::failed("Could not create a workflow", error)))
                }
            }
        });
    };

    let rows = move || {
        Suspend::new(async move {
            match workflows.await {
                Ok(page) if page.items.is_empty() && search.get_untracked().trim().is_empty() => {
                    view! { <EmptyWorkflows /> }.into_any()
                }
                Ok(page) if page.items.is_empty() => view! {
                    <p class="muted" data-testid="no-matches">"No workflow matches this search."</p>
                }
                .into_any(),
                Ok(page) => view! { <WorkflowTable rows=page.items notice deleting refresh /> }.into_any(),
                Err(error) => view! {
                    <p class="alert alert-danger" role="alert">"Workflows could not be loaded: " {error.to_string()}</p>
                }
                .into_any(),
            }
        })
    };

    view! {
        <div class="toolbar">
            <label class="visually-hidden" for="workflow-search">"Search workflows"</label>
            <input
                id="workflow-search"
                class="toolbar-search"
                type="search"
                placeholder="Search workflows"
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
            />
            <div class="toolbar-actions">
                <super::import::ImportButton outcome=imported refresh />
                <A href="/templates" attr:class="btn btn-secondary">"From a template"</A>
                <button type="button" class="btn btn-primary" on:click=create>"New workflow"</button>
            </div>
        </div>
        <super::import::ImportOutcome outcome=imported />
        {move || notice.get().map(|n| match n {
            Notice::Done(text) => view! { <p class="alert alert-success" role="status">{text}</p> }.into_any(),
            Notice::Failed(text) => view! { <p class="alert alert-danger" role="alert">{text}</p> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>{rows}</Transition>
        <DeleteDialog deleting notice refresh />
    }
}

#[component]
fn EmptyWorkflows() -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="workflows-empty">
            <h2>"No workflows yet"</h2>
            <p class="muted">
                "Create one with “New workflow” and drag steps onto the canvas, import a workflow's JSON (Switchyard's or n8n's), or start from a "
                <A href="/templates">"template"</A> "."
            </p>
        </div>
    }
}

#[component]
fn WorkflowTable(
    rows: Vec<WorkflowRow>,
    notice: RwSignal<Option<Notice>>,
    deleting: RwSignal<Option<WorkflowRow>>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <table class="table" aria-label="Workflows">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Trigger"</th>
                    <th scope="col">"Last run"</th>
                    <th scope="col">"Active"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|row| view! { <WorkflowRowView row notice deleting refresh=refresh.clone() /> })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn WorkflowRowView(
    row: WorkflowRow,
    notice: RwSignal<Option<Notice>>,
    deleting: RwSignal<Option<WorkflowRow>>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let id = row.id.clone();
    let active = row.status == "active";
    let toggle = {
        let (id, name, refresh) = (id.clone(), row.name.clone(), refresh.clone());
        move |_| {
            let (id, name, refresh) = (id.clone(), name.clone(), refresh.clone());
            let action = if active { "pause" } else { "activate" };
            leptos::task::spawn_local(async move {
                match api::call::<Value>("POST", &format!("/workflows/{id}/{action}"), None).await {
                    Ok(_) => notice.set(Some(Notice::Done(format!(
                        "“{name}” is {}.",
                        if active { "paused" } else { "active" }
                    )))),
                    Err(error) => notice.set(Some(Notice::failed(
                        &format!("“{name}” cannot be {action}d"),
                        error,
                    ))),
                }
                refresh();
            });
        }
    };
    let duplicate = {
        let (id, refresh) = (id.clone(), refresh.clone());
        move |_| {
            let (id, refresh) = (id.clone(), refresh.clone());
            leptos::task::spawn_local(async move {
                match api::call::<Value>("POST", &format!("/workflows/{id}/duplicate"), None).await
                {
                    Ok(copy) => notice.set(Some(Notice::Done(format!(
                        "Created “{}”.",
                        copy["name"].as_str().unwrap_or("the copy")
                    )))),
                    Err(error) => notice.set(Some(Notice::failed("Could not duplicate", error))),
                }
                refresh();
            });
        }
    };
    let export = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match api::call::<Value>("GET", &format!("/workflows/{id}"), None).await {
                    Ok(workflow) => {
                        let name = workflow["name"].as_str().unwrap_or("workflow").to_owned();
                        let text =
                            serde_json::to_string_pretty(&exported(&workflow)).unwrap_or_default();
                        crate::browser::download(
                            &crate::browser::file_name(&name, "json"),
                            "application/json",
                            &text,
                        );
                    }
                    Err(error) => notice.set(Some(Notice::failed("Could not export", error))),
                }
            });
        }
    };
    let ask_delete = {
        let row = row.clone();
        move |_| deleting.set(Some(row.clone()))
    };
    let trigger = row
        .trigger_kind
        .clone()
        .map(|kind| kind.trim_end_matches("_trigger").replace('_', " "))
        .unwrap_or_else(|| "none".into());
    let last_run = row.last_run.clone().map(|run| {
        view! {
            <A href=format!("/executions/{}", run.execution_id) attr:class="last-run">
                <StatusBadge status=run.status.clone() />
                <time datetime=run.created_at.clone()>{short_time(&run.created_at)}</time>
            </A>
        }
        .into_any()
    });
    let name = row.name.clone();
    let title = row.name.clone();
    view! {
        <tr data-testid="workflow-row" data-workflow-id=id.clone()>
            <td>
                <A href=format!("/workflows/{id}") attr:class="row-title">{title.clone()}</A>
                <div class="muted small">{row.description.clone()}</div>
            </td>
            <td><StatusBadge status=row.status.clone() /></td>
            <td class="capitalize">{trigger}</td>
            <td>{last_run.unwrap_or_else(|| view! { <span class="muted">"never"</span> }.into_any())}</td>
            <td>
                <button
                    type="button"
                    role="switch"
                    class="switch"
                    aria-checked=active.to_string()
                    aria-label=format!("Active: {name}")
                    on:click=toggle
                >
                    <span class="switch-knob"></span>
                </button>
            </td>
            <td class="row-actions">
                <button type="button" class="btn btn-ghost btn-sm" on:click=duplicate aria-label=format!("Duplicate {name}")>"Duplicate"</button>
                <button type="button" class="btn btn-ghost btn-sm" on:click=export aria-label=format!("Export {name}")>"Export"</button>
                <button type="button" class="btn btn-ghost btn-sm btn-danger-text" on:click=ask_delete aria-label=format!("Delete {name}")>"Delete"</button>
            </td>
        </tr>
    }
}

#[component]
fn DeleteDialog(
    deleting: RwSignal<Option<WorkflowRow>>,
    notice: RwSignal<Option<Notice>>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let confirm = move |_| {
        let Some(row) = deleting.get_untracked() else {
            return;
        };
        let refresh = refresh.clone();
        leptos::task::spawn_local(async move {
            match api::call::<Value>("DELETE", &format!("/workflows/{}", row.id), None).await {
                Ok(_) => notice.set(Some(Notice::Done(format!("Deleted “{}”.", row.name)))),
                Err(error) => notice.set(Some(Notice::failed("Could not delete", error))),
            }
            deleting.set(None);
            refresh();
        });
    };
    view! {
        <Show when=move || deleting.get().is_some()>
            <div class="modal-backdrop">
                <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="delete-title" aria-describedby="delete-text">
                    <h2 id="delete-title">"Delete “" {move || deleting.get().map(|r| r.name).unwrap_or_default()} "”?"</h2>
                    <p id="delete-text" class="muted">"The workflow and its versions are deleted; this cannot be undone."</p>
                    <div class="modal-actions">
                        <button type="button" class="btn btn-secondary" on:click=move |_| deleting.set(None) autofocus>"Cancel"</button>
                        <button type="button" class="btn btn-danger" on:click=confirm.clone()>"Delete"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn exports_keep_only_the_public_format() {
        let workflow = json!({"id": "x", "status": "active", "version": 3, "name": "N", "description": "",
            "settings": {}, "nodes": [], "edges": [], "problems": [], "webhook_url": "http://h/webhooks/t"});
        assert_eq!(
            super::exported(&workflow),
            json!({"name": "N", "description": "", "settings": {}, "nodes": [], "edges": []})
        );
    }

    #[test]
    fn the_starter_workflow_is_valid_json_format() {
        let starter: model::WorkflowDefinition =
            serde_json::from_value(super::starter_workflow()).unwrap();
        assert_eq!(starter.nodes[0].kind, "manual_trigger");
    }
}
