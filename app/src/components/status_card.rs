//! The "System status" card: what this installation runs on, rendered on the
//! server, and a live readiness probe the browser runs on demand.

use leptos::prelude::*;

use crate::status::{SystemStatus, format_uptime, get_system_status};

/// Outcome of the browser's last call to `/health/ready`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Debug, PartialEq)]
enum Probe {
    NotRun,
    Running,
    Ready { latency_ms: f64 },
    Failed(String),
}

#[component]
pub fn StatusCard() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_system_status());
    let probe = RwSignal::new(Probe::NotRun);
    let check_again = move |_| {
        probe.set(Probe::Running);
        status.refetch();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move { probe.set(probe_readiness().await) });
    };

    view! {
        <section class="card" aria-labelledby="status-heading" data-testid="status-card">
            <div class="card-header">
                <h2 id="status-heading">"System status"</h2>
                <button
                    type="button"
                    class="btn btn-secondary btn-sm"
                    data-testid="check-again"
                    disabled=move || probe.get() == Probe::Running
                    on:click=check_again
                >
                    "Check again"
                </button>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(status) => view! { <StatusFacts status /> }.into_any(),
                        Err(_) => {
                            view! {
                                <p class="badge badge-danger">"Status unavailable"</p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
            <p class="probe" role="status" data-testid="probe-result">
                {move || match probe.get() {
                    Probe::NotRun => String::new(),
                    Probe::Running => "Checking readiness…".to_owned(),
                    Probe::Ready { latency_ms } => {
                        format!("Ready: answered in {latency_ms:.0} ms")
                    }
                    Probe::Failed(reason) => format!("Not ready: {reason}"),
                }}
            </p>
        </section>
    }
}

#[component]
fn StatusFacts(status: SystemStatus) -> impl IntoView {
    let (badge_class, badge_text) = if status.database_up {
        ("badge badge-success", "Connected")
    } else {
        ("badge badge-danger", "Unreachable")
    };
    view! {
        <dl class="facts">
            <div>
                <dt>"Database"</dt>
                <dd data-testid="database-kind">
                    {status.database} " " <span class=badge_class>{badge_text}</span>
                </dd>
            </div>
            <div>
                <dt>"Schema"</dt>
                <dd><code>{status.schema_version.unwrap_or_else(|| "none".into())}</code></dd>
            </div>
            <div>
                <dt>"Version"</dt>
                <dd>{status.version}</dd>
            </div>
            <div>
                <dt>"Up for"</dt>
                <dd>{format_uptime(status.uptime_secs)}</dd>
            </div>
        </dl>
    }
}

#[cfg(feature = "hydrate")]
async fn probe_readiness() -> Probe {
    use crate::status::Readiness;

    let now = || {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    };
    let started = now();
    let response = match gloo_net::http::Request::get("/health/ready").send().await {
        Ok(response) => response,
        Err(error) => return Probe::Failed(error.to_string()),
    };
    let latency_ms = now() - started;
    match response.json::<Readiness>().await {
        Ok(ready) if ready.status == "ready" => Probe::Ready { latency_ms },
        Ok(ready) => Probe::Failed(format!("database is {}", ready.database.status)),
        Err(error) => Probe::Failed(error.to_string()),
    }
}
