//! The top navigation bar shown on every page.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::theme::{Theme, apply_theme, current_document_theme, theme_from_request};

const SECTIONS: [(&str, &str); 8] = [
    ("/workflows", "Workflows"),
    ("/templates", "Templates"),
    ("/executions", "Executions"),
    ("/events", "Events"),
    ("/connections", "Connections"),
    ("/apis", "APIs"),
    ("/dashboard", "Dashboard"),
    ("/settings", "Settings"),
];

#[component]
pub fn TopNav() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topnav">
            <A href="/" exact=true attr:class="brand" attr:aria-label="Switchyard home">
                <img src="/logo.svg" alt="" width="28" height="28" />
                <span>"Switchyard"</span>
            </A>
            <nav aria-label="Main">
                <ul class="topnav-links">
                    {SECTIONS
                        .into_iter()
                        .map(|(href, label)| view! { <li><A href=href>{label}</A></li> })
                        .collect_view()}
                </ul>
            </nav>
            <div class="topnav-actions">
                <ThemeToggle />
                <AccountMenu />
            </div>
        </header>
    }
}

/// Who is signed in, with the way out; or the way in.
#[component]
fn AccountMenu() -> impl IntoView {
    let account = crate::account::use_account();
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = crate::api::call::<serde_json::Value>("POST", "/auth/logout", None).await;
            crate::api::reload_to("/");
        });
    };
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match account.await.ok().flatten() {
                    Some(account) => view! {
                        <crate::components::bell::NotificationBell />
                        <A href="/settings" attr:class="account-link" attr:data-testid="account-menu">{account.email}</A>
                        <button type="button" class="btn btn-ghost btn-sm" on:click=sign_out>"Sign out"</button>
                    }.into_any(),
                    None => view! { <A href="/login" attr:class="btn btn-primary btn-sm">"Sign in"</A> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Switches between the light and dark theme; works once the page hydrates.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let initial = if cfg!(feature = "hydrate") {
        current_document_theme()
    } else {
        theme_from_request()
    };
    let theme = RwSignal::new(initial);
    let toggle = move |_| {
        let next = theme.get_untracked().toggled();
        apply_theme(next);
        theme.set(next);
    };
    view! {
        <button
            type="button"
            class="btn btn-ghost btn-icon"
            data-testid="theme-toggle"
            aria-pressed=move || (theme.get() == Theme::Dark).to_string()
            aria-label="Dark theme"
            title=move || format!("Switch to the {} theme", theme.get().toggled().as_str())
            on:click=toggle
        >
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path
                    fill="currentColor"
                    d="M12 3a9 9 0 1 0 9 9 7 7 0 0 1-9-9z"
                />
            </svg>
        </button>
    }
}
