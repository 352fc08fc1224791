//! `/templates`: the gallery of ready workflows. Each card says what the
//! workflow does and which connections it needs; "Use this template" asks
//! for its few values (a channel, a URL), makes a draft and opens it in
//! the editor, where anything still missing is marked.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};
use model::templates::{Template, TemplateInput, TemplateUsed, UseTemplate};
use serde_json::Value;

use crate::{account::RequireAccount, api};

/// A template and the names of the services it connects to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GalleryEntry {
    pub template: Template,
    pub services: Vec<String>,
}

#[server(endpoint = "template_gallery")]
pub async fn template_gallery() -> Result<Vec<GalleryEntry>, ServerFnError> {
    use crate::server_context::ServerContext;
    let context = ServerContext::from_leptos()?;
    context.require_account().await?;
    Ok(domain::templates::all()
        .iter()
        .map(|template| GalleryEntry {
            services: template
                .summary
                .connections
                .iter()
                .map(|id| {
                    engine::providers::find(id).map_or_else(|| id.clone(), |p| p.name.to_string())
                })
                .collect(),
            template: template.clone(),
        })
        .collect())
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    view! {
        <Title text="Templates" />
        <header class="page-header">
            <h1>"Templates"</h1>
            <p class="muted">
                "Ready workflows for common API jobs. Using one makes a draft of your own: steps use your "
                <A href="/connections">"connections"</A>
                " where you have them, and the editor marks what is still missing."
            </p>
        </header>
        <RequireAccount>
            <Gallery />
        </RequireAccount>
    }
}

#[component]
fn Gallery() -> impl IntoView {
    let templates = Resource::new(|| (), |_| template_gallery());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match templates.await {
                    Ok(list) => view! {
                        <ul class="template-grid" role="list" data-testid="template-gallery">
                            {list.into_iter().map(|entry| view! { <TemplateCard template=entry.template services=entry.services /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! {
                        <p class="alert alert-danger" role="alert">"Templates could not be loaded: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TemplateCard(template: Template, services: Vec<String>) -> impl IntoView {
    let open = RwSignal::new(false);
    let summary = template.summary.clone();
    let needs = if services.is_empty() {
        "No connections needed".to_owned()
    } else {
        format!("Connects to {}", services.join(", "))
    };
    let heading_id = format!("template-title-{}", summary.id);
    let labelled_by = heading_id.clone();
    view! {
        <li class="card template-card" data-testid=format!("template-{}", summary.id) aria-labelledby=labelled_by>
            <span class="badge">{summary.category.clone()}</span>
            <h2 id=heading_id>{summary.name.clone()}</h2>
            <p>{summary.description.clone()}</p>
            <p class="muted template-needs">{needs}</p>
            <Show
                when=move || open.get()
                fallback=move || view! {
                    <button type="button" class="btn btn-primary btn-sm" on:click=move |_| open.set(true)>
                        "Use this template"
                    </button>
                }
            >
                <UseForm template=template.clone() open />
            </Show>
        </li>
    }
}

/// The template's inputs, prefilled with its examples, and the button
/// that makes the draft.
#[component]
fn UseForm(template: Template, open: RwSignal<bool>) -> impl IntoView {
    let values: Vec<(TemplateInput, RwSignal<String>)> = template
        .inputs
        .iter()
        .map(|input| (input.clone(), RwSignal::new(as_text(&input.example))))
        .collect();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let id = template.summary.id.clone();
    let fields = values.clone();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut inputs = BTreeMap::new();
        for (input, value) in &values {
            inputs.insert(
                input.key.clone(),
                from_text(&value.get_untracked(), &input.example),
            );
        }
        let request = UseTemplate { name: None, inputs };
        let path = format!("/templates/{id}/use");
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = serde_json::to_value(&request).unwrap_or_default();
            match api::call::<TemplateUsed>("POST", &path, Some(&body)).await {
                Ok(used) => navigate(
                    &format!("/workflows/{}", used.workflow_id),
                    Default::default(),
                ),
                Err(failure) => {
                    busy.set(false);
                    error.set(Some(failure.describe()));
                }
            }
        });
    };
    let form_id = template.summary.id.clone();
    view! {
        <form class="template-use" on:submit=create>
            {fields.into_iter().map(|(input, value)| {
                let input_id = format!("{form_id}-{}", input.key);
                view! {
                    <div class="field">
                        <label for=input_id.clone()>{input.label.clone()}</label>
                        <input id=input_id type="text" prop:value=move || value.get()
                            on:input=move |ev| value.set(event_target_value(&ev)) />
                        {(!input.help.is_empty()).then(|| view! { <p class="hint">{input.help.clone()}</p> })}
                    </div>
                }
            }).collect_view()}
            {move || error.get().map(|text| view! { <p class="alert alert-danger" role="alert">{text}</p> })}
            <div class="form-actions">
                <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| open.set(false)>"Cancel"</button>
                <button type="submit" class="btn btn-primary btn-sm" disabled=move || busy.get()>"Create draft"</button>
            </div>
        </form>
    }
}

/// How an input's value is edited: text as it is, anything else as JSON.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The value to send: text where the example is text, else the JSON it
/// reads as (text when it is not JSON).
fn from_text(text: &str, example: &Value) -> Value {
    if example.is_string() {
        return Value::String(text.to_owned());
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}
