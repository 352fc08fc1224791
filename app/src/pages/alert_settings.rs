//! The alerts part of Settings: where alerts go (e-mail, Slack, a signed
//! webhook), each with a test button, and the rules every workflow without
//! rules of its own follows, auto-pause included. Read and saved through
//! the REST API from the browser.

use leptos::prelude::*;
use serde_json::{Value, json};

use crate::{
    api::{self, ApiError},
    components::field::{Field, FormMessage},
};

#[component]
pub fn AlertsCard() -> impl IntoView {
    view! {
        <section class="card settings-wide" aria-labelledby="channels-heading">
            <h2 id="channels-heading">"Alert channels"</h2>
            <p class="muted">
                "Besides the bell, alerts go to these. Webhooks carry a "
                <code>"Switchyard-Signature: t=…,v1=…"</code>
                " header: HMAC-SHA256 of " <code>"t.body"</code> " under the secret."
            </p>
            <Channels />
        </section>
        <section class="card settings-wide" aria-labelledby="rules-heading">
            <h2 id="rules-heading">"Alert rules"</h2>
            <p class="muted">"For every workflow that has no rules of its own. Empty turns a rule off."</p>
            <Rules path="/alerts/settings".into() />
        </section>
    }
}

#[component]
fn Channels() -> impl IntoView {
    let channels =
        LocalResource::new(|| api::call::<Vec<Value>>("GET", "/notification-channels", None));
    let kind = RwSignal::new("slack".to_owned());
    let name = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let tested = RwSignal::new(None::<(String, String)>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind_now = kind.get_untracked();
        let config = match kind_now.as_str() {
            "email" => json!({ "to": target.get_untracked() }),
            "slack" => json!({ "webhook_url": target.get_untracked() }),
            _ => json!({ "url": target.get_untracked(), "secret": secret.get_untracked() }),
        };
        let body = json!({ "kind": kind_now, "name": name.get_untracked(), "config": config });
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", "/notification-channels", Some(&body)).await {
                Ok(_) => {
                    error.set(None);
                    name.set(String::new());
                    target.set(String::new());
                    secret.set(String::new());
                    channels.refetch();
                }
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let test = move |id: String| {
        leptos::task::spawn_local(async move {
            let path = format!("/notification-channels/{id}/test");
            let outcome = match api::call::<Value>("POST", &path, None).await {
                Ok(result) if result["delivered"] == true => "Delivered.".to_owned(),
                Ok(result) => format!("Not delivered: {}", result["error"].as_str().unwrap_or("?")),
                Err(failure) => failure.describe(),
            };
            tested.set(Some((id, outcome)));
            channels.refetch();
        });
    };
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            let path = format!("/notification-channels/{id}");
            match api::call::<Value>("DELETE", &path, None).await {
                Ok(_) => channels.refetch(),
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let field =
        move |name: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(name)));
    // Field errors show beside their field; the rest (and `kind`) above.
    let general = Signal::derive(move || {
        error.get().and_then(|e| {
            if e.fields.is_empty() {
                Some(e.message)
            } else {
                e.fields
                    .iter()
                    .find(|f| f.field == "kind")
                    .map(|f| f.message.clone())
            }
        })
    });
    let target_label = move || match kind.get().as_str() {
        "email" => "Send to (address)",
        "slack" => "Slack incoming webhook URL",
        _ => "Webhook URL",
    };
    view! {
        // Read in the browser only: the server and the first render both
        // show "Loading", so hydration sees the same page.
        {move || match channels.get() {
                    None => view! { <p class="muted">"Loading channels…"</p> }.into_any(),
                    Some(answer) => match answer {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-channels">"No channels yet: alerts show in the bell only."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="channels">
                            <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Last delivery"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|channel| {
                                    let id = channel["id"].as_str().unwrap_or_default().to_owned();
                                    let (test_id, remove_id, shown_id) = (id.clone(), id.clone(), id);
                                    let last = match (channel["last_error"].as_str(), channel["last_delivered_at"].as_i64()) {
                                        (Some(error), _) => format!("failed: {error}"),
                                        (None, Some(_)) => "delivered".to_owned(),
                                        _ => "none yet".to_owned(),
                                    };
                                    let name = channel["name"].as_str().unwrap_or_default().to_owned();
                                    view! {
                                        <tr data-testid="channel">
                                            <td>{name.clone()}</td>
                                            <td>{channel["kind"].as_str().unwrap_or_default().to_owned()}</td>
                                            <td>
                                                <span>{last}</span>
                                                {move || tested.get().filter(|(id, _)| *id == shown_id).map(|(_, outcome)| view! {
                                                    <span class="muted small" role="status" data-testid="test-outcome">{format!(" — test: {outcome}")}</span>
                                                })}
                                            </td>
                                            <td class="row-actions">
                                                <button type="button" class="btn btn-secondary btn-sm" aria-label=format!("Send a test to {name}") on:click=move |_| test(test_id.clone())>"Send test"</button>
                                                <button type="button" class="btn btn-danger btn-sm" aria-label=format!("Remove {name}") on:click=move |_| remove(remove_id.clone())>"Remove"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(failure) => view! { <p class="alert alert-danger" role="alert">{format!("Channels could not be loaded: {}", failure.describe())}</p> }.into_any(),
                    },
        }}
        <form class="channel-form" on:submit=add novalidate>
            <FormMessage message=general />
            <div class="field">
                <label for="channel-kind">"Kind"</label>
                <select id="channel-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="slack">"Slack"</option>
                    <option value="webhook">"Webhook (signed)"</option>
                    <option value="email">"E-mail"</option>
                </select>
            </div>
            <Field label="Name" name="channel_name" value=name error=field("name") hint="E.g. “#ops alerts”." />
            <div class="field">
                <label for="channel-target">{target_label}</label>
                <input id="channel-target" prop:value=move || target.get() on:input=move |ev| target.set(event_target_value(&ev)) />
                <p class="field-error" role="alert">{move || field("config.to").get().or_else(|| field("config.webhook_url").get()).or_else(|| field("config.url").get()).unwrap_or_default()}</p>
            </div>
            <Show when=move || kind.get() == "webhook">
                <Field label="Signing secret" name="channel_secret" value=secret error=field("config.secret") hint="16 characters or more; the receiver checks signatures with it." />
            </Show>
            <button type="submit" class="btn btn-primary">"Add channel"</button>
        </form>
    }
}

/// The number in `value` at `path`, as text for an input ("" when off).
fn number(value: &Value, path: &[&str]) -> String {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    match at.as_f64() {
        // 10.0 reads as 10.
        Some(n) if n.fract() == 0.0 => format!("{}", n as i64),
        Some(n) => n.to_string(),
        None => String::new(),
    }
}

fn parsed(text: &str) -> Value {
    text.trim()
        .parse::<f64>()
        .map(|n| {
            if n.fract() == 0.0 {
                json!(n as i64)
            } else {
                json!(n)
            }
        })
        .unwrap_or(Value::Null)
}

/// The rules at `path`: the account's default (`/alerts/settings`), or a
/// workflow's (`/workflows/{id}/alerts`, which answers `{settings,
/// inherited}` and, deleted, falls back to the account's).
#[component]
pub fn Rules(path: String) -> impl IntoView {
    let per_workflow = path.starts_with("/workflows/");
    let rules = {
        let path = path.clone();
        LocalResource::new(move || {
            let path = path.clone();
            async move {
                api::call::<Value>("GET", &path, None).await.map(|answer| {
                    if per_workflow {
                        answer["settings"].clone()
                    } else {
                        answer
                    }
                })
            }
        })
    };
    let inherited = RwSignal::new(false);
    let in_a_row = RwSignal::new(String::new());
    let percent = RwSignal::new(String::new());
    let window = RwSignal::new(String::new());
    let min_runs = RwSignal::new(String::new());
    let pause_after = RwSignal::new(String::new());
    let flags: [(&'static str, &'static str, RwSignal<bool>); 4] = [
        (
            "rate_limited",
            "A provider answers 429 (rate limited)",
            RwSignal::new(true),
        ),
        (
            "dead_letter",
            "A run goes to the dead-letter queue",
            RwSignal::new(true),
        ),
        (
            "connection_refused",
            "A connection's credentials are refused",
            RwSignal::new(true),
        ),
        (
            "missed_schedule",
            "A schedule misses its time",
            RwSignal::new(true),
        ),
    ];
    let loaded = RwSignal::new(None::<Value>);
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(current)) = rules.get() {
            in_a_row.set(number(&current, &["consecutive_failures"]));
            percent.set(number(&current, &["error_rate", "percent"]));
            window.set(number(&current, &["error_rate", "window_minutes"]));
            min_runs.set(number(&current, &["error_rate", "min_runs"]));
            pause_after.set(number(&current, &["auto_pause", "after_failures"]));
            for (key, _, flag) in flags {
                flag.set(current[key].as_bool().unwrap_or(true));
            }
            loaded.set(Some(current));
        }
    });
    if per_workflow {
        let path = path.clone();
        leptos::task::spawn_local(async move {
            if let Ok(answer) = api::call::<Value>("GET", &path, None).await {
                inherited.set(answer["inherited"] == true);
            }
        });
    }
    let save_path = path.clone();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let path = save_path.clone();
        let mut body = loaded.get_untracked().unwrap_or_else(|| json!({}));
        body["consecutive_failures"] = parsed(&in_a_row.get_untracked());
        body["error_rate"] = if percent.get_untracked().trim().is_empty() {
            Value::Null
        } else {
            json!({
                "percent": parsed(&percent.get_untracked()),
                "window_minutes": parsed(&window.get_untracked()),
                "min_runs": parsed(&min_runs.get_untracked()),
            })
        };
        body["auto_pause"]["after_failures"] = parsed(&pause_after.get_untracked());
        for (key, _, flag) in flags {
            body[key] = json!(flag.get_untracked());
        }
        leptos::task::spawn_local(async move {
            match api::call::<Value>("PUT", &path, Some(&body)).await {
                Ok(current) => {
                    error.set(None);
                    saved.set(true);
                    inherited.set(false);
                    loaded.set(Some(if per_workflow {
                        current["settings"].clone()
                    } else {
                        current
                    }));
                }
                Err(failure) => {
                    saved.set(false);
                    error.set(Some(failure));
                }
            }
        });
    };
    let field =
        move |name: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(name)));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.fields.is_empty())
            .map(|e| e.message)
    });
    view! {
        <form class="rules-form" on:submit=save novalidate data-testid="alert-rules">
            <FormMessage message=general />
            <Field label="Alert after this many failed runs in a row" name="consecutive_failures" value=in_a_row error=field("consecutive_failures") kind="number" />
            <div class="rules-row">
                <Field label="Failure rate over (%)" name="error_percent" value=percent error=field("error_rate.percent") kind="number" />
                <Field label="in the last (minutes)" name="error_window" value=window error=field("error_rate.window_minutes") kind="number" />
                <Field label="once at least (runs) ended" name="error_min_runs" value=min_runs error=field("error_rate.min_runs") kind="number" />
            </div>
            <fieldset class="rules-flags">
                <legend>"Also alert when"</legend>
                {flags.into_iter().map(|(key, label, flag)| view! {
                    <label class="checkbox">
                        <input type="checkbox" name=key prop:checked=move || flag.get() on:change=move |ev| flag.set(event_target_checked(&ev)) />
                        <span>{label}</span>
                    </label>
                }).collect_view()}
            </fieldset>
            <Field label="Pause a workflow after this many failed runs in a row" name="auto_pause" value=pause_after error=field("auto_pause.after_failures") kind="number"
                hint="Its queued runs are held and continue when you resume it. Empty: never." />
            <Show when=move || per_workflow>
                <p class="muted small" data-testid="rules-source">
                    {move || if inherited.get() { "These are your account's rules; saving gives this workflow its own." } else { "This workflow has rules of its own." }}
                </p>
            </Show>
            <button type="submit" class="btn btn-primary">"Save rules"</button>
            <Show when=move || saved.get()>
                <span class="muted small" role="status">" Saved."</span>
            </Show>
        </form>
    }
}
