//! The top-level sections reached from the navigation bar. Each starts with
//! its empty state; the features that fill them build on this frame.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::RequireAccount;

#[component]
fn SectionPage(
    title: &'static str,
    lead: &'static str,
    empty_title: &'static str,
    empty_text: &'static str,
) -> impl IntoView {
    view! {
        <Title text=title />
        <header class="page-header">
            <h1>{title}</h1>
            <p class="muted">{lead}</p>
        </header>
        <RequireAccount>
            <div class="empty-state">
                <h2>{empty_title}</h2>
                <p class="muted">{empty_text}</p>
            </div>
        </RequireAccount>
    }
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! {
        <SectionPage
            title="Connections"
            lead="Credentials for the services your workflows call, stored encrypted."
            empty_title="No connections yet"
            empty_text="Connections you add can be used by any HTTP or integration step."
        />
    }
}
