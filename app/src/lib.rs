//! Switchyard's user interface: the same components render on the server
//! (feature `ssr`) and hydrate in the browser (feature `hydrate`).

// Views nest deeply in their types; the default limit is too low for them.
#![recursion_limit = "256"]

pub mod account;
pub mod api;
pub mod browser;
pub mod components;
pub mod live;
pub mod pages;
pub mod status;
pub mod theme;

#[cfg(feature = "ssr")]
pub mod server_context;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use components::nav::TopNav;
use pages::{
    api_docs::ApiDocsPage,
    apis::ApisPage,
    connections::ConnectionsPage,
    dashboard::DashboardPage,
    events::EventsPage,
    executions::{detail::ExecutionPage, list::ExecutionsPage},
    home::HomePage,
    login::{LoginPage, RegisterPage},
    not_found::NotFound,
    notifications::NotificationsPage,
    settings::SettingsPage,
    templates::TemplatesPage,
    workflows::{editor::WorkflowEditorPage, list::WorkflowsPage},
};

/// The HTML document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = theme::theme_from_request();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: navigation around the routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    account::provide_account();

    view! {
        <Stylesheet id="switchyard" href="/pkg/switchyard.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Switchyard: API workflows you can watch run." />
        <Title formatter=|page: String| {
            if page.is_empty() { "Switchyard".to_owned() } else { format!("{page} · Switchyard") }
        } />
        <Router>
            <TopNav />
            <main id="main" class="page">
                <Routes fallback=NotFound>
                    // Async: the HTML is complete before any script runs, and
                    // a sign-in redirect is a real 302.
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/workflows") view=WorkflowsPage ssr=SsrMode::Async />
                    <Route path=path!("/workflows/:id") view=WorkflowEditorPage ssr=SsrMode::Async />
                    <Route path=path!("/executions") view=ExecutionsPage ssr=SsrMode::Async />
                    <Route path=path!("/executions/:id") view=ExecutionPage ssr=SsrMode::Async />
                    <Route path=path!("/events") view=EventsPage ssr=SsrMode::Async />
                    <Route path=path!("/connections") view=ConnectionsPage ssr=SsrMode::Async />
                    <Route path=path!("/apis") view=ApisPage ssr=SsrMode::Async />
                    <Route path=path!("/dashboard") view=DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/templates") view=TemplatesPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/register") view=RegisterPage />
                    <Route path=path!("/api-docs") view=ApiDocsPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
