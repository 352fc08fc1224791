//! The start page: what Switchyard does, how to begin, and system status.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::status_card::StatusCard;

const STEPS: [(&str, &str, &str); 3] = [
    (
        "Describe or draw a workflow",
        "Chain triggers, HTTP calls, transforms, conditions and delays on a canvas.",
        "/workflows",
    ),
    (
        "Connect your accounts",
        "Store API keys and tokens once, encrypted, and reuse them in any step.",
        "/connections",
    ),
    (
        "Activate and watch",
        "Runs start from webhooks, schedules or events; every step streams live.",
        "/executions",
    ),
];

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"API workflows you can watch run"</h1>
            <p class="lead">
                "Switchyard connects the services you use: when something happens in one, "
                "it calls the others, retries what fails and shows you every step."
            </p>
        </section>
        <div class="home-grid">
            <section class="card" aria-labelledby="start-heading">
                <h2 id="start-heading">"Get started"</h2>
                <ol class="steps">
                    {STEPS
                        .into_iter()
                        .map(|(title, text, href)| {
                            view! {
                                <li>
                                    <A href=href><strong>{title}</strong></A>
                                    <p class="muted">{text}</p>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </section>
            <StatusCard />
        </div>
    }
}
