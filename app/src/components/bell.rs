//! The bell in the top bar: how many notifications are unread, kept up to
//! date while the page is open (the user's live stream sends each new one),
//! linking to the inbox.

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::Value;

#[component]
pub fn NotificationBell() -> impl IntoView {
    let unread = RwSignal::new(0u64);
    // Read once the page runs in the browser, then followed live.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(inbox) =
                crate::api::call::<Value>("GET", "/notifications?limit=1", None).await
            {
                unread.set(inbox["unread"].as_u64().unwrap_or(0));
            }
        });
        crate::live::follow_named("/api/v1/stream".into(), "notification", move |data| {
            if let Some(count) = data["unread"].as_u64() {
                unread.set(count);
            }
        });
    });
    let label = move || match unread.get() {
        0 => "Notifications".to_owned(),
        1 => "Notifications: 1 unread".to_owned(),
        n => format!("Notifications: {n} unread"),
    };
    view! {
        <A href="/notifications" attr:class="btn btn-ghost btn-icon bell" attr:data-testid="notification-bell" attr:aria-label=label attr:title=label>
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
            </svg>
            <Show when=move || { unread.get() > 0 }>
                <span class="bell-count" data-testid="unread-count">{move || unread.get().to_string()}</span>
            </Show>
        </A>
    }
}
