//! The editor's assistant. "Describe a change" turns an instruction into
//! patch operations on the workflow's node ids, drawn on the canvas as a
//! diff (added, changed, removed) and listed one by one: each can be
//! rejected, and applying sends the accepted ones to the server, which
//! applies them atomically and refuses any that would break the workflow.
//! "Suggest next" lists likely steps after the selected node, each added
//! with the values mapped from the steps before it.

use leptos::prelude::*;
use model::{
    Edge, Node, Position, WorkflowDefinition,
    ai::{Modification, Suggestion},
    layout::{NODE_WIDTH, free_spot},
    patch::{PatchOp, apply},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    canvas::output_ports,
    state::{Diff, Editor, fresh_id},
};
use crate::{
    api,
    components::working::{Working, WorkingLine},
};

/// A change proposed and not yet applied or discarded.
#[derive(Clone, Debug, PartialEq)]
struct Proposal {
    /// The document before it.
    original: WorkflowDefinition,
    operations: Vec<PatchOp>,
    explanation: Vec<String>,
    accepted: Vec<bool>,
    unknown: Vec<String>,
    /// Why the offline planner answered, when the model was asked.
    fallback_reason: Option<String>,
}

impl Proposal {
    fn accepted_operations(&self) -> Vec<PatchOp> {
        self.operations
            .iter()
            .zip(&self.accepted)
            .filter(|(_, accepted)| **accepted)
            .map(|(op, _)| op.clone())
            .collect()
    }
}

#[component]
pub fn DescribeChange(
    editor: Editor,
    notice: RwSignal<Option<(bool, String)>>,
    /// Fits the canvas to the nodes, so that added ones are in view.
    fit: Callback<()>,
) -> impl IntoView {
    let instruction = RwSignal::new(String::new());
    // Sending the accepted operations to be applied.
    let applying = RwSignal::new(false);
    let proposal = RwSignal::new(None::<Proposal>);
    let problem = RwSignal::new(None::<String>);
    let working = Working::new();

    // Shows the accepted operations on the canvas; false when they do not
    // apply together (one needs another that was rejected).
    let preview = move |p: &Proposal| -> bool {
        match apply(&p.original, &p.accepted_operations()) {
            Ok(changed) => {
                editor.diff.set(Diff::between(&p.original, &changed));
                editor.doc.set(changed);
                true
            }
            Err(error) => {
                problem.set(Some(format!(
                    "Change {} cannot go without one you rejected: {}",
                    error.index + 1,
                    error.message
                )));
                false
            }
        }
    };
    let close = move || {
        proposal.set(None);
        editor.diff.set(Diff::default());
    };
    let propose = move || {
        let text = instruction.get_untracked();
        if text.trim().is_empty() || working.busy.get_untracked() || applying.get_untracked() {
            return;
        }
        if let Some(open) = proposal.get_untracked() {
            editor.doc.set(open.original);
            close();
        }
        problem.set(None);
        let workflow = editor.doc.get_untracked();
        leptos::task::spawn_local(async move {
            let body = json!({"workflow": workflow, "instruction": text});
            let answer = working
                .call::<Modification>("/ai/modify/stream", &body, "Sending the change")
                .await;
            match answer {
                None => {}
                Some(Err(error)) => problem.set(Some(error.describe())),
                Some(Ok(answer)) if answer.operations.is_empty() => {
                    let unknown = answer.unknown.join("; ");
                    problem.set(Some(if unknown.is_empty() {
                        "No change found in that; try naming the step and what to do with it."
                            .into()
                    } else {
                        format!("Not understood: {unknown}")
                    }));
                }
                Some(Ok(answer)) => {
                    let p = Proposal {
                        original: workflow,
                        accepted: vec![true; answer.operations.len()],
                        operations: answer.operations,
                        explanation: answer.explanation,
                        unknown: answer.unknown,
                        fallback_reason: answer.fallback_reason,
                    };
                    // One undo step back to before the proposal.
                    editor.checkpoint();
                    if preview(&p) {
                        proposal.set(Some(p));
                        request_animation_frame(move || fit.run(()));
                    }
                }
            }
        });
    };
    let cancel = Callback::new(move |()| {
        working.cancel();
        problem.set(Some("Cancelled.".into()));
    });
    let toggle = move |index: usize| {
        let Some(mut p) = proposal.get_untracked() else {
            return;
        };
        p.accepted[index] = !p.accepted[index];
        problem.set(None);
        if preview(&p) {
            proposal.set(Some(p));
        }
    };
    let discard = move |_| {
        if let Some(p) = proposal.get_untracked() {
            editor.doc.set(p.original);
        }
        problem.set(None);
        close();
    };
    let accept = move |_| {
        let Some(p) = proposal.get_untracked() else {
            return;
        };
        let operations = p.accepted_operations();
        applying.set(true);
        leptos::task::spawn_local(async move {
            let body = json!({"workflow": p.original, "operations": operations});
            match api::call::<Modification>("POST", "/ai/modify", Some(&body)).await {
                Ok(answer) => {
                    editor.doc.set(answer.workflow);
                    close();
                    instruction.set(String::new());
                    notice.set(Some((
                        true,
                        format!(
                            "{} change{} applied; save to keep them.",
                            operations.len(),
                            if operations.len() == 1 { "" } else { "s" }
                        ),
                    )));
                }
                Err(error) => problem.set(Some(format!("Not applied: {}", error.describe()))),
            }
            applying.set(false);
        });
    };

    view! {
        <section class="assistant" aria-labelledby="describe-change-heading" data-testid="describe-change">
            <h2 id="describe-change-heading">"Describe a change"</h2>
            <form on:submit=move |ev| { ev.prevent_default(); propose(); }>
                <label class="visually-hidden" for="change-instruction">"The change, in plain words"</label>
                <textarea id="change-instruction" rows="2" maxlength="4000" data-testid="change-instruction"
                    placeholder="put a delay of 2 days before the email"
                    prop:value=move || instruction.get()
                    on:input=move |ev| instruction.set(event_target_value(&ev))></textarea>
                <button type="submit" class="btn btn-secondary btn-sm" data-testid="change-propose"
                    disabled=move || working.busy.get() || applying.get() || instruction.get().trim().is_empty()>
                    "Propose"
                </button>
                <WorkingLine working name="change" on_cancel=cancel />
            </form>
            {move || problem.get().map(|p| view! { <p class="alert alert-danger small" role="alert" data-testid="change-problem">{p}</p> })}
            {move || proposal.get().map(|p| {
                let rows = p.operations.iter().enumerate().map(|(index, _)| {
                    let text = p.explanation.get(index).cloned().unwrap_or_default();
                    let accepted = p.accepted[index];
                    view! {
                        <li class:rejected=!accepted data-testid="change-op">
                            <label>
                                <input type="checkbox" prop:checked=accepted on:change=move |_| toggle(index) />
                                " " {text}
                            </label>
                        </li>
                    }
                }).collect_view();
                let fallback = p.fallback_reason.clone().map(|reason| view! {
                    <p class="alert alert-warning small" data-testid="change-fallback">
                        "The language model could not help (" {reason} "); these are the offline planner's."
                    </p>
                });
                let unknown = (!p.unknown.is_empty()).then(|| view! {
                    <p class="muted small" data-testid="change-unknown">"Not understood: " {p.unknown.join("; ")}</p>
                });
                view! {
                    <div class="proposal" data-testid="proposal">
                        <p class="muted small">"Shown on the canvas. Untick what you do not want."</p>
                        {fallback}
                        <ol class="draft-list">{rows}</ol>
                        {unknown}
                        <div class="describe-actions">
                            <button type="button" class="btn btn-primary btn-sm" data-testid="change-apply"
                                disabled=move || applying.get() on:click=accept>"Apply"</button>
                            <button type="button" class="btn btn-ghost btn-sm" data-testid="change-discard"
                                on:click=discard>"Discard"</button>
                        </div>
                    </div>
                }
            })}
        </section>
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Suggestions {
    suggestions: Vec<Suggestion>,
}

#[component]
pub fn SuggestNext(editor: Editor) -> impl IntoView {
    let list = RwSignal::new(None::<(String, Vec<Suggestion>)>);
    let problem = RwSignal::new(None::<String>);
    let only_selected = move || {
        editor.selected.with(|s| match s.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
    };
    let suggest = move |_| {
        let Some(node_id) = only_selected() else {
            return;
        };
        problem.set(None);
        let workflow = editor.doc.get_untracked();
        leptos::task::spawn_local(async move {
            let body = json!({"workflow": workflow, "node_id": node_id});
            match api::call::<Suggestions>("POST", "/ai/suggest-next", Some(&body)).await {
                Ok(answer) => list.set(Some((node_id, answer.suggestions))),
                Err(error) => problem.set(Some(error.describe())),
            }
        });
    };
    let add = move |after: String, suggestion: Suggestion| {
        let Some(source) = editor.doc.with_untracked(|d| d.node(&after).cloned()) else {
            return;
        };
        let port = output_ports(&editor, &source)
            .into_iter()
            .next()
            .unwrap_or_else(|| "out".into());
        let base = suggestion.kind.replace('.', "_");
        editor.change(|d| {
            let id = fresh_id(d, &base);
            let position = free_spot(
                d,
                Position {
                    x: source.position.x + NODE_WIDTH + 90.0,
                    y: source.position.y,
                },
            );
            d.nodes.push(Node {
                id: id.clone(),
                kind: suggestion.kind.clone(),
                label: suggestion.label.clone(),
                position,
                config: suggestion.config.clone(),
                retry: None,
                on_error: None,
            });
            d.edges.push(Edge {
                source: after.clone(),
                source_port: port,
                target: id,
            });
        });
        list.set(None);
    };
    view! {
        <Show when=move || only_selected().is_some()>
            <section class="assistant" data-testid="suggest-next">
                <button type="button" class="btn btn-ghost btn-sm" data-testid="suggest-next-button"
                    on:click=suggest>"Suggest next steps"</button>
                {move || problem.get().map(|p| view! { <p class="alert alert-danger small" role="alert">{p}</p> })}
                {move || list.get().filter(|(after, _)| Some(after.clone()) == only_selected()).map(|(after, suggestions)| {
                    if suggestions.is_empty() {
                        return view! { <p class="muted small">"Nothing to suggest after this step."</p> }.into_any();
                    }
                    view! {
                        <ul class="suggestions" role="list">
                            {suggestions.into_iter().map(|s| {
                                let after = after.clone();
                                let chosen = s.clone();
                                view! {
                                    <li data-testid="suggestion" data-kind=s.kind.clone()>
                                        <div>
                                            <strong>{s.label.clone()}</strong>
                                            <p class="muted small">{s.why.clone()}</p>
                                        </div>
                                        <button type="button" class="btn btn-secondary btn-sm" data-testid="suggestion-add"
                                            on:click=move |_| add(after.clone(), chosen.clone())>"Add"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })}
            </section>
        </Show>
    }
}
