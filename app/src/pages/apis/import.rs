//! Importing an OpenAPI document (pasted or chosen as a file) as one of
//! the account's APIs, and what the import did: operations, those left
//! out, and on a re-import what changed and which workflows it touches.

use leptos::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::Skipped;
use crate::{api, api::ApiError, components::field::FormMessage};

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ImportReport {
    id: String,
    name: String,
    revision: i32,
    operations: usize,
    #[serde(default)]
    skipped: Vec<Skipped>,
    #[serde(default)]
    changes: Changes,
    #[serde(default)]
    affected_workflows: Vec<WorkflowUse>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
struct Changes {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    changed: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct WorkflowUse {
    workflow_id: String,
    name: String,
}

#[component]
pub fn ImportDocument(on_imported: Callback<String>) -> impl IntoView {
    let document = RwSignal::new(String::new());
    let id = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let report = RwSignal::new(None::<ImportReport>);
    let busy = RwSignal::new(false);
    let file = NodeRef::<leptos::html::Input>::new();
    let chosen = move |_| {
        let Some(element) = file.get() else { return };
        leptos::task::spawn_local(async move {
            if let Some((_, text)) = crate::browser::read_chosen_file(&element).await {
                document.set(text);
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        report.set(None);
        busy.set(true);
        let mut body = json!({ "document": document.get_untracked() });
        let wanted = id.get_untracked();
        if !wanted.trim().is_empty() {
            body["id"] = json!(wanted.trim());
        }
        leptos::task::spawn_local(async move {
            match api::call::<ImportReport>("POST", "/apis/import", Some(&body)).await {
                Ok(done) => {
                    on_imported.run(done.id.clone());
                    report.set(Some(done));
                }
                Err(failure) => error.set(Some(failure)),
            }
            busy.set(false);
        });
    };
    let problem = move |field: &'static str| move || error.get().and_then(|e| e.field(field));
    view! {
        <details class="import-api">
            <summary>"Import an OpenAPI document"</summary>
            <form on:submit=submit novalidate data-testid="import-api">
                <FormMessage message=Signal::derive(move || error.get().filter(|e| e.fields.is_empty()).map(|e| e.message)) />
                <div class="field">
                    <label for="import-file">"File (JSON or YAML)"</label>
                    <input id="import-file" type="file" accept=".json,.yaml,.yml" node_ref=file on:change=chosen />
                </div>
                <div class="field">
                    <label for="import-document">"Or paste the document"</label>
                    <textarea id="import-document" rows="6" spellcheck="false"
                        prop:value=move || document.get() on:input=move |ev| document.set(event_target_value(&ev))
                        aria-invalid=move || problem("document")().is_some().to_string()></textarea>
                    <p class="field-error" role="alert">{problem("document")}</p>
                </div>
                <div class="field">
                    <label for="import-id">"Id (optional)"</label>
                    <input id="import-id" placeholder="acme" prop:value=move || id.get() on:input=move |ev| id.set(event_target_value(&ev)) />
                    <p class="hint">"Its steps are named <id>.<operation>. Import again with the same id to update it."</p>
                    <p class="field-error" role="alert">{problem("id")}</p>
                </div>
                <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Importing…" } else { "Import" }}
                </button>
            </form>
            {move || report.get().map(|r| view! {
                <div class="alert alert-success" role="status" data-testid="import-report">
                    <p>{format!("{} ({}): {} operation{}, revision {}.", r.name, r.id, r.operations, if r.operations == 1 { "" } else { "s" }, r.revision)}</p>
                    {(!r.skipped.is_empty()).then(|| view! { <p>{format!("{} left out (see the API's page).", r.skipped.len())}</p> })}
                    {(r.revision > 1).then(|| view! {
                        <p>{format!("Added: {}. Changed: {}. Removed: {}.",
                            list(&r.changes.added), list(&r.changes.changed), list(&r.changes.removed))}</p>
                    })}
                    {(!r.affected_workflows.is_empty()).then(|| view! {
                        <p>"Workflows to check: "
                            {r.affected_workflows.iter().map(|w| view! { <a href=format!("/workflows/{}", w.workflow_id)>{w.name.clone()}</a> " " }).collect_view()}
                        </p>
                    })}
                </div>
            })}
        </details>
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
