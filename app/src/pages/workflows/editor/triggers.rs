//! What trigger nodes show beside their form: a webhook trigger's URL with
//! copy and regenerate, and a schedule's next five fire times in its time
//! zone, or what is wrong with its expression, as it is typed.

use std::time::Duration;

use leptos::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::Editor;
use crate::{api, browser, live};

/// The extra part of the panel for node `id`, if its kind has one.
#[component]
pub fn TriggerDetails(
    editor: Editor,
    id: String,
    kind: String,
    notice: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    match kind.as_str() {
        // Provider triggers receive the provider's deliveries at the same URL.
        "webhook_trigger" => view! { <WebhookAddress editor notice /> }.into_any(),
        provider if provider.ends_with(".trigger") => {
            view! { <WebhookAddress editor notice /> }.into_any()
        }
        "schedule_trigger" => view! { <FireTimes editor id /> }.into_any(),
        _ => ().into_any(),
    }
}

#[component]
fn WebhookAddress(editor: Editor, notice: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let regenerate = move |_| {
        let id = editor.id.get_value();
        confirming.set(false);
        leptos::task::spawn_local(async move {
            let path = format!("/workflows/{id}/webhook/regenerate");
            match api::call::<Value>("POST", &path, None).await {
                Ok(workflow) => {
                    editor
                        .webhook_url
                        .set(workflow["webhook_url"].as_str().map(str::to_owned));
                    notice.set(Some((
                        true,
                        "The webhook has a new URL; the old one no longer starts runs.".into(),
                    )));
                }
                Err(error) => notice.set(Some((false, error.describe()))),
            }
        });
    };
    view! {
        <section class="trigger-details" aria-labelledby="webhook-heading">
            <h3 id="webhook-heading">"Webhook URL"</h3>
            {move || match editor.webhook_url.get() {
                None => view! {
                    <p class="muted small" data-testid="webhook-unsaved">"Save the workflow to get its URL."</p>
                }.into_any(),
                Some(url) => {
                    let copied = url.clone();
                    view! {
                        <p class="webhook-url"><code data-testid="webhook-url">{url}</code></p>
                        <div class="inline-actions">
                            <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| browser::copy_text(&copied)>"Copy"</button>
                            <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| confirming.set(true)
                                disabled=move || confirming.get()>"New URL…"</button>
                        </div>
                    }.into_any()
                }
            }}
            <Show when=move || confirming.get()>
                <div class="confirm-inline" role="alertdialog" aria-labelledby="regenerate-text">
                    <p id="regenerate-text" class="small">"Senders using the current URL will get 404 from now on."</p>
                    <div class="inline-actions">
                        <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| confirming.set(false)>"Keep it"</button>
                        <button type="button" class="btn btn-danger btn-sm" on:click=regenerate>"Make a new URL"</button>
                    </div>
                </div>
            </Show>
        </section>
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ScheduleTimes {
    next: Vec<String>,
}

#[component]
fn FireTimes(editor: Editor, id: String) -> impl IntoView {
    let schedule = Memo::new(move |_| {
        editor.doc.with(|d| {
            let node = d.nodes.iter().find(|n| n.id == id)?;
            let text = |name: &str| {
                node.config
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            Some((
                text("cron").unwrap_or_default(),
                text("timezone").unwrap_or_else(|| "UTC".into()),
            ))
        })
    });
    let answer = RwSignal::new(None::<Result<Vec<String>, String>>);
    let ask = live::coalesce(
        move || {
            let Some((cron, timezone)) = schedule.get_untracked() else {
                return;
            };
            if cron.trim().is_empty() {
                answer.set(Some(Err(
                    "Enter a cron expression to see when it fires.".into()
                )));
                return;
            }
            leptos::task::spawn_local(async move {
                let body = json!({"cron": cron, "timezone": timezone});
                let reply =
                    api::call::<ScheduleTimes>("POST", "/schedules/preview", Some(&body)).await;
                // An answer for what is no longer typed would mislead.
                if schedule.get_untracked() == Some((cron, timezone)) {
                    answer.set(Some(reply.map(|t| t.next).map_err(|e| explain(&e))));
                }
            });
        },
        Duration::from_millis(250),
    );
    Effect::new(move |_| {
        schedule.track();
        ask();
    });
    view! {
        <section class="trigger-details" aria-labelledby="fires-heading" aria-live="polite">
            <h3 id="fires-heading">"Next runs"</h3>
            {move || match answer.get() {
                None => view! { <p class="muted small">"Working out the next runs…"</p> }.into_any(),
                Some(Err(message)) => view! { <p class="field-error" data-testid="cron-problem">{message}</p> }.into_any(),
                Some(Ok(times)) if times.is_empty() => view! {
                    <p class="muted small" data-testid="cron-problem">"This expression never fires."</p>
                }.into_any(),
                Some(Ok(times)) => view! {
                    <ol class="fire-times" data-testid="fire-times">
                        {times.iter().map(|t| view! { <li><time datetime=t.clone()>{fire_time_text(t)}</time></li> }).collect_view()}
                    </ol>
                }.into_any(),
            }}
        </section>
    }
}

/// The field's own message when the API names one: it says what is wrong.
fn explain(error: &api::ApiError) -> String {
    error
        .fields
        .first()
        .map(|f| f.message.clone())
        .unwrap_or_else(|| error.describe())
}

/// `2026-03-29T03:00:00+02:00` as `2026-03-29 03:00:00 +02:00`.
fn fire_time_text(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19), rfc3339.get(19..)) {
        (Some(date), Some(time), Some(offset)) => format!("{date} {time} {offset}"),
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fire_times_read_as_date_time_and_offset() {
        assert_eq!(
            super::fire_time_text("2026-03-29T03:00:00+02:00"),
            "2026-03-29 03:00:00 +02:00"
        );
        assert_eq!(super::fire_time_text("garbage"), "garbage");
    }
}
