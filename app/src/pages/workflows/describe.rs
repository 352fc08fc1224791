//! "New from a description" on the workflows page: a prompt box whose
//! draft comes back with a line per step, the connections it still needs
//! (each with a way to create it), the values it left open and what it did
//! not understand, or a question when the description is too vague.
//! Progress streams in while it works; creating the draft opens the editor.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use model::ai::Generated;
use serde_json::{Value, json};

use crate::{
    api,
    components::working::{Working, WorkingLine},
    pages::executions::graph::{RunGraph, RunGraphView},
};

/// The browser's time zone, for schedules ("every day at 9").
fn browser_timezone() -> String {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "UTC".into())
}

#[component]
pub fn DescribeWorkflow() -> impl IntoView {
    let prompt = RwSignal::new(String::new());
    let working = Working::new();
    let answer = RwSignal::new(None::<Generated>);
    let error = RwSignal::new(None::<String>);

    let draft = move || {
        let text = prompt.get_untracked();
        if text.trim().is_empty() || working.busy.get_untracked() {
            return;
        }
        error.set(None);
        answer.set(None);
        leptos::task::spawn_local(async move {
            let body = json!({"prompt": text, "timezone": browser_timezone()});
            match working
                .call::<Generated>("/ai/generate/stream", &body, "Sending the description")
                .await
            {
                Some(Ok(generated)) => answer.set(Some(generated)),
                Some(Err(e)) => error.set(Some(e.describe())),
                None => {}
            }
        });
    };
    let cancel = Callback::new(move |()| {
        working.cancel();
        error.set(Some("Cancelled.".into()));
    });

    view! {
        <section class="describe card" data-testid="describe" aria-labelledby="describe-title">
            <h2 id="describe-title">"New from a description"</h2>
            <p class="muted">"Say what should happen, in plain words; Switchyard drafts the workflow for you to review."</p>
            <form on:submit=move |ev| { ev.prevent_default(); draft(); }>
                <label class="visually-hidden" for="describe-prompt">"Describe the workflow"</label>
                <textarea
                    id="describe-prompt"
                    data-testid="describe-prompt"
                    rows="3"
                    maxlength="4000"
                    placeholder="When a new customer signs up in Stripe, add them to Mailchimp and send a Slack notification"
                    prop:value=move || prompt.get()
                    on:input=move |ev| prompt.set(event_target_value(&ev))
                ></textarea>
                <div class="describe-actions">
                    <button type="submit" class="btn btn-primary" data-testid="describe-submit"
                        disabled=move || working.busy.get() || prompt.get().trim().is_empty()>
                        "Draft it"
                    </button>
                    <WorkingLine working name="describe" on_cancel=cancel />
                </div>
            </form>
            {move || error.get().map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
            {move || answer.get().map(|generated| view! {
                <DraftReview generated prompt redraft=Callback::new(move |_| draft()) />
            })}
        </section>
    }
}

#[component]
fn DraftReview(
    generated: Generated,
    prompt: RwSignal<String>,
    redraft: Callback<()>,
) -> impl IntoView {
    let navigate = use_navigate();
    let creating = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let workflow = serde_json::to_value(&generated.workflow).unwrap_or(Value::Null);
    let create = move |_| {
        let navigate = navigate.clone();
        let workflow = workflow.clone();
        creating.set(true);
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", "/workflows", Some(&workflow)).await {
                Ok(created) => {
                    let id = created["id"].as_str().unwrap_or_default();
                    navigate(&format!("/workflows/{id}"), Default::default());
                }
                Err(e) => {
                    failure.set(Some(format!(
                        "Could not create the workflow: {}",
                        e.describe()
                    )));
                    creating.set(false);
                }
            }
        });
    };
    let label_of = {
        let nodes = generated.workflow.nodes.clone();
        move |id: &str| {
            nodes
                .iter()
                .find(|n| n.id == id)
                .map_or(id.to_owned(), |n| {
                    if n.label.is_empty() {
                        n.id.clone()
                    } else {
                        n.label.clone()
                    }
                })
        }
    };
    let question = generated.clarification.clone().map(|c| {
        let suggestions = c
            .suggestions
            .into_iter()
            .map(|s| {
                let answer = s.clone();
                view! {
                    <button type="button" class="btn btn-sm" data-testid="draft-suggestion"
                        on:click=move |_| {
                            prompt.update(|p| { p.push_str(", "); p.push_str(&answer); });
                            redraft.run(());
                        }>{s}</button>
                }
            })
            .collect_view();
        view! {
            <div class="alert alert-info" data-testid="draft-question">
                <p>{c.question}</p>
                <div class="describe-suggestions">{suggestions}</div>
            </div>
        }
    });
    let steps = generated
        .steps
        .iter()
        .map(|s| view! { <li data-testid="draft-step" data-node=s.node_id.clone()>{s.explanation.clone()}</li> })
        .collect_view();
    let missing = generated
        .missing_connections
        .iter()
        .map(|m| {
            let steps = m.node_ids.len();
            view! {
                <li data-testid="draft-missing" data-provider=m.provider.clone()>
                    {format!("{}, for {steps} step{}", m.provider_name, if steps == 1 { "" } else { "s" })}
                    " "
                    <a class="btn btn-sm" target="_blank" rel="noopener"
                        data-testid="create-connection"
                        href=format!("/connections?provider={}", m.provider)>"Create"</a>
                </li>
            }
        })
        .collect_view();
    let needs = generated
        .needs_input
        .iter()
        .map(|n| {
            let hint = if n.hint.is_empty() { String::new() } else { format!(" — {}", n.hint) };
            view! { <li data-testid="draft-needs">{format!("{}: {}{hint}", label_of(&n.node_id), n.label)}</li> }
        })
        .collect_view();
    let unknown = generated
        .unknown
        .iter()
        .map(|u| view! { <li data-testid="draft-unknown">{u.clone()}</li> })
        .collect_view();
    let has_missing = !generated.missing_connections.is_empty();
    let has_needs = !generated.needs_input.is_empty();
    let has_unknown = !generated.unknown.is_empty();
    let providers = generated.providers.join(", ");
    let planner = match generated.planner {
        model::ai::PlannerKind::Llm => "Drafted by the language model, checked by Switchyard.",
        model::ai::PlannerKind::Offline => "Drafted by Switchyard's offline planner.",
    };
    let fallback = generated.fallback_reason.clone().map(|reason| view! {
        <p class="alert alert-warning small" data-testid="draft-fallback">
            "The language model could not help (" {reason} "), so this is the offline planner's draft."
        </p>
    });
    view! {
        <div class="draft-review" data-testid="draft-review">
            {question}
            <h3>{format!("“{}”", generated.workflow.name)}</h3>
            <p class="muted small" data-testid="draft-planner">{planner}</p>
            {fallback}
            <div class="draft-graph">
                <RunGraphView graph=RunGraph::sketch(&generated.workflow) steps=None on_pick=|_| {} />
            </div>
            <ol class="draft-steps" data-testid="draft-steps">{steps}</ol>
            {(!providers.is_empty()).then(|| view! { <p class="muted">"Uses: " {providers}</p> })}
            {has_missing.then(|| view! {
                <h4>"Connections it still needs"</h4>
                <ul class="draft-list">{missing}</ul>
                <button type="button" class="btn btn-sm" data-testid="describe-redraft"
                    on:click=move |_| redraft.run(())>"Draft again with my connections"</button>
            })}
            {has_needs.then(|| view! {
                <h4>"To fill in"</h4>
                <ul class="draft-list">{needs}</ul>
            })}
            {has_unknown.then(|| view! {
                <h4>"Not understood"</h4>
                <ul class="draft-list">{unknown}</ul>
            })}
            {move || failure.get().map(|f| view! { <p class="alert alert-danger" role="alert">{f}</p> })}
            <button type="button" class="btn btn-primary" data-testid="describe-create"
                disabled=move || creating.get() on:click=create>
                "Create this workflow"
            </button>
        </div>
    }
}
