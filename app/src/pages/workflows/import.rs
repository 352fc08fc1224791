//! The workflows list's Import: a JSON file in Switchyard's format or an
//! n8n export (told apart by its shape), made a draft through
//! `POST /workflows/import`; what did not carry over is listed node by
//! node under the toolbar, with a link to the draft.

use leptos::prelude::*;
use leptos_router::components::A;
use model::workflow_import::{ImportIssue, ImportRequest, Imported};
use serde_json::Value;

use crate::api;

/// `n8n` for an n8n export (typed nodes and named `connections`), else
/// Switchyard's own format.
pub fn format_of(document: &Value) -> &'static str {
    let typed_nodes = document
        .get("nodes")
        .and_then(Value::as_array)
        .is_some_and(|nodes| {
            nodes
                .iter()
                .any(|n| n.get("type").is_some() && n.get("kind").is_none())
        });
    if typed_nodes && document.get("connections").is_some_and(Value::is_object) {
        "n8n"
    } else {
        "switchyard"
    }
}

/// An import's outcome, as shown above the list.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Imported(Imported),
    Failed(String),
}

/// The button with its hidden file input; `outcome` receives what happened.
#[component]
pub fn ImportButton(
    outcome: RwSignal<Option<Outcome>>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let chosen = move |_| {
        let refresh = refresh.clone();
        let Some(element) = input.get() else { return };
        leptos::task::spawn_local(async move {
            let Some((file, text)) = crate::browser::read_chosen_file(&element).await else {
                return;
            };
            element.set_value("");
            let document: Value = match serde_json::from_str(&text) {
                Ok(document) => document,
                Err(error) => {
                    outcome.set(Some(Outcome::Failed(format!(
                        "{file} is not JSON: {error}"
                    ))));
                    return;
                }
            };
            let request = ImportRequest {
                format: format_of(&document).to_owned(),
                workflow: document,
            };
            let body = serde_json::to_value(&request).unwrap_or_default();
            outcome.set(Some(
                match api::call::<Imported>("POST", "/workflows/import", Some(&body)).await {
                    Ok(imported) => Outcome::Imported(imported),
                    Err(error) => Outcome::Failed(format!(
                        "{file} could not be imported: {}",
                        error.describe()
                    )),
                },
            ));
            refresh();
        });
    };
    view! {
        <label class="btn btn-secondary file-button">
            "Import"
            <input
                node_ref=input
                type="file"
                class="visually-hidden"
                accept="application/json,.json"
                aria-label="Import a workflow from a JSON file (Switchyard or n8n)"
                on:change=chosen
            />
        </label>
    }
}

/// What the last import did.
#[component]
pub fn ImportOutcome(outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    move || {
        outcome.get().map(|shown| match shown {
            Outcome::Failed(text) => view! { <p class="alert alert-danger" role="alert">{text}</p> }.into_any(),
            Outcome::Imported(imported) => {
                let report = imported.report;
                let link = format!("/workflows/{}", imported.workflow_id);
                let clean = report.unsupported.is_empty();
                let class = if clean { "alert alert-success import-report" } else { "alert alert-warning import-report" };
                let summary = if clean {
                    format!("Imported “{}” as a draft.", imported.name)
                } else {
                    format!(
                        "Imported “{}” as a draft; {} part(s) could not be translated and are marked in it:",
                        imported.name,
                        report.unsupported.len()
                    )
                };
                let missing: Vec<String> = report.missing_connections.iter().map(|m| m.provider_name.clone()).collect();
                view! {
                    <div class=class role="status" data-testid="import-report">
                        <p>
                            <span>{summary}</span>" "
                            <A href=link>"Open the draft"</A>
                        </p>
                        <Issues issues=report.unsupported testid="import-unsupported" />
                        <Issues issues=report.notes testid="import-notes" />
                        {(!missing.is_empty()).then(|| view! {
                            <p data-testid="import-missing">{format!("Connections to add: {}", missing.join(", "))}</p>
                        })}
                    </div>
                }
                .into_any()
            }
        })
    }
}

#[component]
fn Issues(issues: Vec<ImportIssue>, testid: &'static str) -> impl IntoView {
    (!issues.is_empty()).then(|| {
        view! {
            <ul data-testid=testid>
                {issues
                    .into_iter()
                    .map(|issue| {
                        let field = issue.field.map(|f| format!(" ({f})")).unwrap_or_default();
                        view! { <li><strong>{issue.node}</strong>{format!("{field}: {}", issue.message)}</li> }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::format_of;

    #[test]
    fn n8n_exports_are_told_from_switchyard_documents() {
        let n8n = json!({"nodes": [{"name": "Webhook", "type": "n8n-nodes-base.webhook"}], "connections": {}});
        let ours =
            json!({"name": "x", "nodes": [{"id": "start", "kind": "manual_trigger"}], "edges": []});
        assert_eq!(format_of(&n8n), "n8n");
        assert_eq!(format_of(&ours), "switchyard");
        assert_eq!(format_of(&json!({})), "switchyard");
    }
}
