//! `/dashboard`: the last 24 hours of runs: an hourly chart by outcome,
//! success and error rates, p50/p95 duration per workflow, and the latest
//! failures. It follows `/api/v1/stream` and refreshes as runs end.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::{
    account::RequireAccount,
    components::badge::short_time,
    live,
    pages::executions::{
        detail::error_message,
        list::{RunRow, duration_text},
    },
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourBucket {
    pub start_ms: i64,
    pub succeeded: u64,
    pub failed: u64,
    pub other: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowLatency {
    pub workflow_id: String,
    pub name: String,
    pub runs: u64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    pub hours: Vec<HourBucket>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub per_workflow: Vec<WorkflowLatency>,
    pub recent_failures: Vec<RunRow>,
}

#[server(endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardData, ServerFnError> {
    use crate::server_context::{ServerContext, fail, reshape};
    let context = ServerContext::from_leptos()?;
    let owner = context.require_account().await?.id;
    let figures = domain::dashboard::summary(&context.db, owner, 24, engine::time::now_ms())
        .await
        .map_err(fail)?;
    reshape(&figures)
}

/// `part` of `whole` as a percentage with one decimal, or "—".
pub fn rate(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard" />
        <header class="page-header">
            <h1>"Dashboard"</h1>
            <p class="muted">"The last 24 hours of runs across your workflows, live."</p>
        </header>
        <RequireAccount>
            <DashboardView />
        </RequireAccount>
    }
}

#[component]
fn DashboardView() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_dashboard());
    let refresh_soon = live::coalesce(
        move || data.refetch(),
        std::time::Duration::from_millis(500),
    );
    live::follow("/api/v1/stream".into(), move |event| {
        if event.changes_run_status() {
            refresh_soon();
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Figures d /> }.into_any(),
                    Err(error) => view! {
                        <p class="alert alert-danger" role="alert">"The dashboard could not be loaded: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Figures(d: DashboardData) -> impl IntoView {
    let finished = d.succeeded + d.failed;
    view! {
        <div class="stat-grid">
            <div class="card stat"><p class="muted small">"Runs"</p><p class="stat-value" data-testid="stat-total">{d.total}</p></div>
            <div class="card stat"><p class="muted small">"Success rate"</p><p class="stat-value" data-testid="stat-success">{rate(d.succeeded, finished)}</p></div>
            <div class="card stat"><p class="muted small">"Error rate"</p><p class="stat-value" data-testid="stat-errors">{rate(d.failed, finished)}</p></div>
        </div>
        <section class="card" aria-labelledby="chart-heading">
            <h2 id="chart-heading">"Runs per hour"</h2>
            <RunChart hours=d.hours.clone() />
        </section>
        <div class="dashboard-grid">
            <section class="card" aria-labelledby="latency-heading">
                <h2 id="latency-heading">"Duration per workflow"</h2>
                <table class="table" aria-label="Duration per workflow">
                    <thead><tr><th scope="col">"Workflow"</th><th scope="col">"Runs"</th><th scope="col">"p50"</th><th scope="col">"p95"</th></tr></thead>
                    <tbody>
                        {d.per_workflow.into_iter().map(|w| {
                            let (href, name) = (format!("/workflows/{}", w.workflow_id), w.name);
                            view! {
                                <tr data-testid="latency-row">
                                    <td><A href=href>{name}</A></td>
                                    <td>{w.runs}</td>
                                    <td>{duration_text(w.p50_ms)}</td>
                                    <td>{duration_text(w.p95_ms)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="card" aria-labelledby="failures-heading">
                <h2 id="failures-heading">"Recent failures"</h2>
                {if d.recent_failures.is_empty() {
                    view! { <p class="muted">"No failed runs."</p> }.into_any()
                } else {
                    view! {
                        <ul class="failure-list" role="list">
                            {d.recent_failures.into_iter().map(|run| {
                                let message = run.error.as_ref().map(error_message).unwrap_or_default();
                                let (href, when) = (format!("/executions/{}", run.id), short_time(&run.created_at));
                                view! {
                                    <li data-testid="recent-failure">
                                        <A href=href>{when}</A>
                                        " " <span class="problem-error">{message}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

/// Stacked bars per hour: succeeded, failed, other.
#[component]
fn RunChart(hours: Vec<HourBucket>) -> impl IntoView {
    const WIDTH: f64 = 960.0;
    const HEIGHT: f64 = 180.0;
    let most = hours
        .iter()
        .map(|h| h.succeeded + h.failed + h.other)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / hours.len().max(1) as f64;
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let x = i as f64 * slot + 2.0;
            let width = (slot - 4.0).max(1.0);
            let scale = |n: u64| n as f64 / most * (HEIGHT - 20.0);
            let (ok, bad, other) = (scale(h.succeeded), scale(h.failed), scale(h.other));
            let hour = (h.start_ms / 3_600_000) % 24;
            view! {
                <g data-testid="chart-hour" data-succeeded=h.succeeded data-failed=h.failed>
                    <title>{format!("{hour:02}:00 UTC — {} succeeded, {} failed, {} other", h.succeeded, h.failed, h.other)}</title>
                    <rect class="bar-ok" x=x y=HEIGHT - ok width=width height=ok />
                    <rect class="bar-failed" x=x y=HEIGHT - ok - bad width=width height=bad />
                    <rect class="bar-other" x=x y=HEIGHT - ok - bad - other width=width height=other />
                    {(hour % 6 == 0).then(|| view! { <text class="chart-label" x=x y=HEIGHT + 14.0>{format!("{hour:02}:00")}</text> })}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 20.0) role="img" aria-label="Runs per hour, stacked by outcome" data-testid="chart">
            <line class="chart-axis" x1="0" x2=WIDTH y1=HEIGHT y2=HEIGHT />
            {bars}
        </svg>
        <p class="chart-legend muted small">
            <span class="legend legend-ok"></span>"succeeded " <span class="legend legend-failed"></span>"failed " <span class="legend legend-other"></span>"other"
        </p>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_read_as_percentages() {
        assert_eq!(super::rate(1, 3), "33.3 %");
        assert_eq!(super::rate(0, 0), "—");
    }
}
