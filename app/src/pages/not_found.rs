//! The page for any address Switchyard does not know; answers 404.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="not-found" data-testid="not-found">
            <p class="not-found-code">"404"</p>
            <h1>"This page does not exist"</h1>
            <p class="muted">
                "The address may be mistyped, or what it pointed to was deleted or belongs to someone else."
            </p>
            <A href="/" attr:class="btn btn-primary">"Back to the start"</A>
        </section>
    }
}
