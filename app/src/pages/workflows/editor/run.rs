//! Running from the editor: an optional JSON test payload, then the run
//! followed live: each step's state on the canvas as its events arrive,
//! and the run's steps with input, output, error, attempts and timing.

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::Value;

use super::state::{Editor, LiveStep};
use crate::{
    api,
    components::badge::StatusBadge,
    live::{self, LiveEvent},
    pages::executions::detail::{StepTimeline, error_message, fetch_run_detail},
};

/// What an event says about its step, if it is a step event.
pub fn step_update(event: &LiveEvent) -> Option<(String, LiveStep)> {
    let status = match event.kind.as_str() {
        "step.started" => "running",
        "step.succeeded" => "succeeded",
        "step.failed" => "failed",
        "step.retrying" => "retrying",
        "step.skipped" => "skipped",
        "step.waiting" => "waiting",
        "step.looping" => "running",
        _ => return None,
    };
    let node = event.data.get("node_id")?.as_str()?.to_owned();
    let attempt = event
        .data
        .get("attempt")
        .and_then(Value::as_u64)
        .unwrap_or(1) as u32;
    Some((
        node,
        LiveStep {
            status: status.into(),
            attempt,
        },
    ))
}

#[component]
pub fn RunPanel(editor: Editor, notice: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    let payload = RwSignal::new(String::from("{}"));
    let run = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let start = move |_| {
        problem.set(None);
        let input: Value = match serde_json::from_str(&payload.get_untracked()) {
            Ok(value) => value,
            Err(error) => {
                problem.set(Some(format!("The test payload is not JSON: {error}")));
                return;
            }
        };
        leptos::task::spawn_local(async move {
            // Runs use the saved version: unsaved changes are saved first.
            if editor.is_dirty() && !super::save_now(editor, notice).await {
                return;
            }
            let id = editor.id.get_value();
            match api::call::<Value>("POST", &format!("/workflows/{id}/execute"), Some(&input))
                .await
            {
                Ok(started) => {
                    editor.live.set(Default::default());
                    run.set(started["execution_id"].as_str().map(str::to_owned));
                }
                Err(error) => problem.set(Some(error.message)),
            }
        });
    };
    view! {
        <section class="run-panel" aria-labelledby="run-heading">
            <h2 id="run-heading">"Run"</h2>
            <div class="field">
                <label for="run-payload">"Test payload (JSON, seen as " <code>"trigger.body"</code> ")"</label>
                <textarea id="run-payload" rows="3" class="mono" prop:value=move || payload.get()
                    on:input=move |e| payload.set(event_target_value(&e)) />
            </div>
            <button type="button" class="btn btn-primary" on:click=start data-testid="run-button">"Run"</button>
            {move || problem.get().map(|p| view! { <p class="alert alert-danger" role="alert">{p}</p> })}
            {move || run.get().map(|id| view! { <RunFollower editor id /> })}
        </section>
    }
}

#[component]
fn RunFollower(editor: Editor, id: String) -> impl IntoView {
    let detail = Resource::new(
        {
            let id = id.clone();
            move || id.clone()
        },
        fetch_run_detail,
    );
    let status = RwSignal::new("queued".to_owned());
    let lines = RwSignal::new(Vec::<String>::new());
    let refresh_soon = live::coalesce(
        move || detail.refetch(),
        std::time::Duration::from_millis(200),
    );
    live::follow(format!("/api/v1/executions/{id}/events"), move |event| {
        if let Some((node, step)) = step_update(&event) {
            editor.live.update(|live| {
                live.insert(node, step);
            });
        }
        if let Some(state) = event.kind.strip_prefix("execution.") {
            status.set(state.to_owned());
        }
        if let Some(line) = event.data.get("line").and_then(Value::as_str) {
            lines.update(|l| l.push(line.to_owned()));
        }
        refresh_soon();
    });
    view! {
        <div class="run-follow" data-testid="run-panel">
            <p>
                <StatusBadge status=status />
                " " <A href=format!("/executions/{id}")>"Open the run"</A>
            </p>
            <Transition>
                {move || Suspend::new(async move {
                    detail.await.ok().map(|run| view! {
                        {run.error.as_ref().map(|e| view! { <p class="alert alert-danger" data-testid="run-error">{error_message(e)}</p> })}
                        <StepTimeline steps=run.steps />
                    })
                })}
            </Transition>
            {move || {
                let lines = lines.get();
                (!lines.is_empty()).then(|| view! {
                    <pre class="run-log" data-testid="run-log">{lines.join("\n")}</pre>
                })
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::live::LiveEvent;

    fn event(kind: &str, data: serde_json::Value) -> LiveEvent {
        LiveEvent {
            id: 1,
            execution_id: "r".into(),
            seq: 1,
            kind: kind.into(),
            data,
            at: String::new(),
        }
    }

    #[test]
    fn step_events_become_canvas_states() {
        let (node, step) = super::step_update(&event(
            "step.retrying",
            json!({"node_id": "call", "attempt": 1}),
        ))
        .unwrap();
        assert_eq!(
            (node.as_str(), step.status.as_str(), step.attempt),
            ("call", "retrying", 1)
        );
        let (_, step) = super::step_update(&event(
            "step.succeeded",
            json!({"node_id": "call", "attempt": 3}),
        ))
        .unwrap();
        assert_eq!((step.status.as_str(), step.attempt), ("succeeded", 3));
        assert!(super::step_update(&event("execution.started", json!({}))).is_none());
    }
}
