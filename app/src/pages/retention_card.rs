//! The retention part of Settings: how long this Switchyard keeps run
//! data (the operator's settings) and what its next pruning pass would
//! delete of this account's data, a dry run.

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::Value;

use crate::api;

fn kept(days: &Value, what: &str) -> String {
    match days.as_u64() {
        Some(0) | None => format!("{what}: kept forever"),
        Some(1) => format!("{what}: 1 day"),
        Some(n) => format!("{what}: {n} days"),
    }
}

#[component]
pub fn RetentionCard() -> impl IntoView {
    let preview = LocalResource::new(|| api::call::<Value>("GET", "/retention", None));
    view! {
        <section class="card settings-wide" aria-labelledby="retention-heading" data-testid="retention">
            <h2 id="retention-heading">"Data retention"</h2>
            // Read in the browser only: the server and the first render
            // both show "Loading", so hydration sees the same page.
            {move || match preview.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(answer) => match answer {
                        Ok(preview) => {
                            let policy = &preview["policy"];
                            let per_workflow = match policy["max_runs_per_workflow"].as_u64() {
                                Some(0) | None => "no limit per workflow".to_owned(),
                                Some(n) => format!("at most the newest {n} per workflow"),
                            };
                            let gone = &preview["would_delete"];
                            let rows = gone["by_workflow"].as_array().cloned().unwrap_or_default();
                            view! {
                                <ul class="retention-policy">
                                    <li>{format!("{}, {per_workflow}", kept(&policy["run_days"], "Finished runs"))}</li>
                                    <li>{kept(&policy["payload_days"], "Whole values of large steps of succeeded runs")}</li>
                                    <li>{kept(&policy["dead_letter_days"], "Dead letters")}</li>
                                    <li>{kept(&policy["audit_days"], "Audit log")}</li>
                                </ul>
                                <p data-testid="would-delete">
                                    {format!(
                                        "The next pass would delete {} runs, {} step values, {} dead letters and {} audit entries of yours.",
                                        gone["runs"], gone["step_payloads"], gone["dead_letters"], gone["audit_entries"]
                                    )}
                                </p>
                                {(!rows.is_empty()).then(|| view! {
                                    <ul class="retention-workflows">
                                        {rows.into_iter().map(|row| {
                                            let id = row["workflow_id"].as_str().unwrap_or_default().to_owned();
                                            view! { <li><A href=format!("/workflows/{id}")>{format!("{} runs of workflow {}", row["runs"], &id[..8.min(id.len())])}</A></li> }
                                        }).collect_view()}
                                    </ul>
                                })}
                                <p class="muted small">"Queued, waiting and running runs are never deleted; the operator sets these in SWITCHYARD_RETENTION_*."</p>
                            }.into_any()
                        }
                        Err(failure) => view! { <p class="alert alert-danger" role="alert">{format!("Retention could not be loaded: {}", failure.describe())}</p> }.into_any(),
                    },
            }}
        </section>
    }
}
