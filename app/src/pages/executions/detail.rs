//! `/executions/{id}`: one run as it happens: its steps with input, output,
//! error, attempts and timing, the live event log, cancel and run again.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    account::RequireAccount,
    api,
    components::badge::{StatusBadge, short_time},
    live::{self, LiveEvent},
    pages::{
        executions::{
            graph::{RunGraph, RunGraphView},
            list::duration_text,
        },
        not_found::NotFound,
    },
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    pub node_id: String,
    #[serde(default)]
    pub item: String,
    pub status: String,
    pub attempts: i32,
    pub port: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<Value>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub id: String,
    pub workflow_id: String,
    pub workflow_version: i32,
    pub status: String,
    pub trigger: String,
    pub error: Option<Value>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub input: Value,
    /// How many times the run was sent back to the queue to run again.
    pub run_count: i32,
    pub steps: Vec<StepRow>,
    /// Loop steps left out of `steps` (a long loop is paged by the API).
    #[serde(default)]
    pub steps_omitted: u64,
    /// Filled in by the page's server function.
    #[serde(default)]
    pub workflow_name: String,
    /// The graph of the version that ran; none once the workflow is deleted.
    #[serde(default)]
    pub graph: Option<RunGraph>,
}

impl RunDetail {
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed" | "cancelled")
    }
}

#[server(endpoint = "run_detail")]
pub async fn fetch_run_detail(id: String) -> Result<RunDetail, ServerFnError> {
    use crate::server_context::{ServerContext, fail, reshape};
    let context = ServerContext::from_leptos()?;
    let owner = context.require_account().await?.id;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| fail(domain::DomainError::NotFound))?;
    let detail = domain::executions::get(&context.db, owner, id)
        .await
        .map_err(fail)?;
    let mut run: RunDetail = reshape(&detail)?;
    let (workflow, version) = (detail.summary.workflow_id, detail.summary.workflow_version);
    let kinds = context
        .engine
        .kinds_for(owner)
        .await
        .map_err(|e| fail(domain::DomainError::from(e)))?;
    let catalogue = kinds.catalogue();
    match domain::workflows::version(&context.db, catalogue, owner, workflow, version).await {
        Ok(mut definition) => {
            model::layout::arrange_if_stacked(&mut definition);
            run.graph = Some(RunGraph::of(&definition, catalogue));
            run.workflow_name = definition.name;
        }
        Err(domain::DomainError::NotFound) => run.workflow_name = "deleted workflow".into(),
        Err(error) => return Err(fail(error)),
    }
    Ok(run)
}

#[component]
pub fn ExecutionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    view! {
        <Title text="Run" />
        <RequireAccount>
            {move || view! { <RunView id=id() /> }}
        </RequireAccount>
    }
}

#[component]
fn RunView(id: String) -> impl IntoView {
    let run = Resource::new(
        {
            let id = id.clone();
            move || id.clone()
        },
        fetch_run_detail,
    );
    let log = RwSignal::new(Vec::<LiveEvent>::new());
    let refresh_soon = live::coalesce(move || run.refetch(), std::time::Duration::from_millis(150));
    live::follow(format!("/api/v1/executions/{id}/events"), move |event| {
        log.update(|log| log.push(event));
        refresh_soon();
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match run.await {
                    Ok(detail) => view! { <RunBody detail log refresh=move || run.refetch() /> }.into_any(),
                    Err(error) if api::is_not_found(&error) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! {
                        <p class="alert alert-danger" role="alert">"The run could not be loaded: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RunBody(
    detail: RunDetail,
    log: RwSignal<Vec<LiveEvent>>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    let run_id = detail.id.clone();
    let workflow_name = detail.workflow_name.clone();
    let act = move |action: &'static str| {
        let path = format!("/executions/{run_id}/{action}");
        let refresh = refresh.clone();
        move |_| {
            let (path, refresh) = (path.clone(), refresh.clone());
            leptos::task::spawn_local(async move {
                if let Err(error) = api::call::<Value>("POST", &path, None).await {
                    message.set(Some(error.message));
                }
                refresh();
            });
        }
    };
    let can_cancel = matches!(
        detail.status.as_str(),
        "queued" | "running" | "waiting" | "held"
    );
    let can_retry = matches!(detail.status.as_str(), "failed" | "cancelled");
    let error_text = detail.error.as_ref().map(error_message);
    let picked = RwSignal::new(None::<String>);
    let pick = move |node: String| {
        crate::browser::reveal(&format!("[data-testid=step][data-node-id=\"{node}\"]"));
        picked.set(Some(node));
    };
    let graph = detail.graph.clone().map(|graph| {
        view! {
            <section class="card run-graph-card" aria-labelledby="graph-heading">
                <h2 id="graph-heading" class="visually-hidden">"Graph"</h2>
                <RunGraphView graph steps=Some(detail.steps.clone()) on_pick=pick />
            </section>
        }
    });
    view! {
        <header class="page-header run-header">
            <div>
                <p class="muted small"><A href="/executions">"Executions"</A> " / run " <code>{detail.id.clone()}</code></p>
                <h1>
                    <A href=format!("/workflows/{}", detail.workflow_id)>{workflow_name}</A>
                    " " <StatusBadge status=detail.status.clone() />
                </h1>
                <p class="muted">
                    {format!("{} trigger · version {} · started {} · ", detail.trigger.replace('_', " "), detail.workflow_version,
                        detail.started_at.as_deref().map(short_time).unwrap_or_else(|| "not yet".into()))}
                    {duration_text(detail.duration_ms)}
                    {(detail.run_count > 0).then(|| format!(" · re-run {} time{}", detail.run_count, if detail.run_count == 1 { "" } else { "s" }))}
                </p>
            </div>
            <div class="toolbar-actions">
                {can_cancel.then(|| view! { <button type="button" class="btn btn-secondary" on:click=act("cancel")>"Cancel run"</button> })}
                {can_retry.then(|| view! { <button type="button" class="btn btn-primary" on:click=act("retry")>"Run again from the failed step"</button> })}
            </div>
        </header>
        {move || message.get().map(|m| view! { <p class="alert alert-danger" role="alert">{m}</p> })}
        {error_text.map(|text| view! { <p class="alert alert-danger" data-testid="run-error">{text}</p> })}
        {graph}
        <div class="run-grid">
            <section aria-labelledby="steps-heading">
                <h2 id="steps-heading">"Steps"</h2>
                <StepTimeline steps=detail.steps.clone() picked />
                {(detail.steps_omitted > 0).then(|| view! {
                    <p class="muted" data-testid="steps-omitted">
                        {format!("{} more loop steps are not shown; ", detail.steps_omitted)}
                        <a href=format!("/api/v1/executions/{}/steps", detail.id)>"all steps as JSON"</a>
                    </p>
                })}
                <details class="json-block">
                    <summary>"Trigger input"</summary>
                    <pre>{pretty(&detail.input)}</pre>
                </details>
            </section>
            <section aria-labelledby="log-heading">
                <h2 id="log-heading">"Live log"</h2>
                <EventLog log />
            </section>
        </div>
    }
}

/// The steps in the order they started, each with what went in and out;
/// the steps of the `picked` node stand out.
#[component]
pub fn StepTimeline(
    steps: Vec<StepRow>,
    #[prop(optional)] picked: Option<RwSignal<Option<String>>>,
) -> impl IntoView {
    if steps.is_empty() {
        return view! { <p class="muted">"No step has started yet."</p> }.into_any();
    }
    view! {
        <ol class="timeline">
            {steps.into_iter().map(|step| {
                let label = if step.item.is_empty() { step.node_id.clone() } else { format!("{} [{}]", step.node_id, step.item) };
                let duration = step.started_at.as_deref().zip(step.finished_at.as_deref())
                    .and_then(|(a, b)| Some(parse_ms(b)? - parse_ms(a)?))
                    .filter(|ms| *ms >= 0);
                let is_picked = {
                    let node = step.node_id.clone();
                    move || picked.is_some_and(|p| p.get().as_deref() == Some(node.as_str()))
                };
                view! {
                    <li class="timeline-step" class:picked=is_picked data-testid="step" data-node-id=step.node_id.clone() data-status=step.status.clone()>
                        <div class="timeline-head">
                            <StatusBadge status=step.status.clone() />
                            <strong>{label}</strong>
                            <span class="muted small">
                                {format!("{} attempt{}", step.attempts, if step.attempts == 1 { "" } else { "s" })}
                                {step.port.clone().filter(|p| p != "out").map(|p| format!(" · port {p}"))}
                                " · " {duration_text(duration)}
                            </span>
                        </div>
                        {step.error.as_ref().map(|e| view! { <p class="step-error">{error_message(e)}</p> })}
                        <details class="json-block"><summary>"Input"</summary><pre>{step.input.as_ref().map(pretty)}</pre></details>
                        <details class="json-block" open=step.output.is_some()><summary>"Output"</summary><pre data-testid="step-output">{step.output.as_ref().map(pretty)}</pre></details>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

#[component]
fn EventLog(log: RwSignal<Vec<LiveEvent>>) -> impl IntoView {
    view! {
        <ol class="event-log" aria-live="polite" data-testid="event-log">
            {move || log.get().into_iter().rev().take(300).map(|event| {
                let node = event.data.get("node_id").and_then(Value::as_str).map(str::to_owned);
                let detail = event.data.get("line").and_then(Value::as_str).map(str::to_owned)
                    .or_else(|| event.data.get("attempt").map(|a| format!("attempt {a}")));
                view! {
                    <li>
                        <time datetime=event.at.clone()>{short_time(&event.at).get(11..).unwrap_or_default().to_owned()}</time>
                        <span class="event-kind">{event.kind.clone()}</span>
                        {node.map(|n| view! { <code>{n}</code> })}
                        {detail.map(|d| view! { <span class="muted">{d}</span> })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// The human part of a stored error (`{"message": …}` or any JSON).
pub fn error_message(error: &Value) -> String {
    error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string())
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Milliseconds of an RFC 3339 UTC time, enough for durations.
fn parse_ms(text: &str) -> Option<i64> {
    let time = text.get(11..23)?;
    let (h, m, s, ms) = (
        time.get(0..2)?.parse::<i64>().ok()?,
        time.get(3..5)?.parse::<i64>().ok()?,
        time.get(6..8)?.parse::<i64>().ok()?,
        time.get(9..12)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0),
    );
    let day = text.get(8..10)?.parse::<i64>().ok()?;
    Some((((day * 24 + h) * 60 + m) * 60 + s) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn step_durations_come_from_their_times() {
        let start = super::parse_ms("2026-11-22T10:31:05.120Z").unwrap();
        let end = super::parse_ms("2026-11-22T10:31:06.370Z").unwrap();
        assert_eq!(end - start, 1250);
    }

    #[test]
    fn errors_show_their_message() {
        assert_eq!(
            super::error_message(&json!({"message": "boom", "class": "network"})),
            "boom"
        );
        assert_eq!(super::error_message(&json!("plain")), "\"plain\"");
    }
}
