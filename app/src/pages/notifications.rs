//! `/notifications`: the inbox of alerts, their resolutions and automatic
//! pauses, newest first, unread ones marked, updating live; each links to
//! its workflow.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{account::RequireAccount, api, components::badge::short_time, live};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub workflow_id: Option<String>,
    pub created_at: String,
    pub read: bool,
}

#[server(endpoint = "my_notifications")]
pub async fn my_notifications() -> Result<Vec<NotificationRow>, ServerFnError> {
    use crate::server_context::{ServerContext, fail};
    let context = ServerContext::from_leptos()?;
    let account = context.require_account().await?;
    let entries = domain::alerts::notifications(&context.db, account.id, None, 200)
        .await
        .map_err(fail)?;
    Ok(entries
        .into_iter()
        .map(|n| NotificationRow {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            workflow_id: n.workflow_id.map(|id| id.to_string()),
            created_at: engine::time::to_rfc3339(n.created_at),
            read: n.read,
        })
        .collect())
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    view! {
        <Title text="Notifications" />
        <header class="page-header">
            <h1>"Notifications"</h1>
            <p class="muted">
                "Alerts about your workflows, when they clear, and workflows paused automatically. "
                "Rules and channels (e-mail, Slack, webhook) are under " <A href="/settings">"Settings"</A> "."
            </p>
        </header>
        <RequireAccount>
            <Inbox />
        </RequireAccount>
    }
}

#[component]
fn Inbox() -> impl IntoView {
    let entries = Resource::new(|| (), |_| my_notifications());
    live::follow_named("/api/v1/stream".into(), "notification", move |_| {
        entries.refetch()
    });
    let mark_all = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::call::<Value>("POST", "/notifications/read", Some(&json!({}))).await;
            entries.refetch();
        });
    };
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(rows) if rows.is_empty() => view! {
                        <div class="empty-state" data-testid="notifications-empty">
                            <h2>"Nothing to report"</h2>
                            <p class="muted">"When a workflow keeps failing, is rate limited or misses its schedule, you hear of it here."</p>
                        </div>
                    }.into_any(),
                    Ok(rows) => {
                        let unread = rows.iter().filter(|r| !r.read).count();
                        view! {
                            <div class="toolbar">
                                <span class="muted" data-testid="inbox-unread">{format!("{unread} unread")}</span>
                                <button type="button" class="btn btn-secondary btn-sm" on:click=mark_all disabled=unread == 0>"Mark all read"</button>
                            </div>
                            <ul class="inbox" role="list">
                                {rows.into_iter().map(|row| view! { <Entry row /> }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(error) => view! {
                        <p class="alert alert-danger" role="alert">"Notifications could not be loaded: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Entry(row: NotificationRow) -> impl IntoView {
    let class = if row.read {
        "inbox-entry card"
    } else {
        "inbox-entry card unread"
    };
    let badge = match row.kind.as_str() {
        "alert" => "badge badge-danger",
        "resolved" => "badge badge-success",
        _ => "badge badge-warning",
    };
    let link = row.workflow_id.map(|id| {
        view! { <A href=format!("/workflows/{id}")>"Open the workflow"</A> }
    });
    view! {
        <li class=class data-testid="notification" data-kind=row.kind.clone()>
            <div class="inbox-head">
                <span class=badge>{row.kind.clone()}</span>
                <strong>{row.title}</strong>
                <time class="muted small" datetime=row.created_at.clone()>{short_time(&row.created_at)}</time>
            </div>
            <p class="inbox-body">{row.body}</p>
            {link}
        </li>
    }
}
