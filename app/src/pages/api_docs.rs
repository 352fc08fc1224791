//! A browsable page of the REST API, rendered from its OpenAPI document.

use leptos::prelude::*;
use leptos_meta::Title;
use serde_json::Value;

#[server(endpoint = "api_document")]
pub async fn api_document() -> Result<Value, ServerFnError> {
    let context = crate::server_context::ServerContext::from_leptos()?;
    Ok((*context.openapi).clone())
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[component]
pub fn ApiDocsPage() -> impl IntoView {
    let document = Resource::new(|| (), |_| api_document());
    view! {
        <Title text="API" />
        <header class="page-header">
            <h1>"REST API"</h1>
            <p class="muted">
                "Everything the pages do, as JSON under " <code>"/api/v1"</code> ". Authenticate with your session or "
                <code>"Authorization: Bearer <token>"</code> " (tokens are made under Settings). The machine-readable document is "
                <a href="/api/v1/openapi.json">"openapi.json"</a> "."
            </p>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match document.await {
                    Ok(document) => view! { <Operations document /> }.into_any(),
                    Err(_) => view! { <p class="alert alert-danger">"The API description could not be loaded."</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Every operation, grouped by tag in the order the document lists them.
#[component]
fn Operations(document: Value) -> impl IntoView {
    let mut groups: Vec<(String, Vec<(String, String, Value)>)> = Vec::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
                let entry = (method.to_uppercase(), path.clone(), operation.clone());
                match groups.iter_mut().find(|(t, _)| *t == tag) {
                    Some((_, list)) => list.push(entry),
                    None => groups.push((tag, vec![entry])),
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(tag, operations)| {
            view! {
                <section class="api-group">
                    <h2>{tag}</h2>
                    {operations.into_iter().map(|(method, path, operation)| view! { <Operation method path operation /> }).collect_view()}
                </section>
            }
        })
        .collect_view()
}

fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    match schema["type"].as_str() {
        Some("array") => format!("{}[]", schema_name(&schema["items"])),
        Some(kind) => kind.to_owned(),
        None => "JSON".to_owned(),
    }
}

#[component]
fn Operation(method: String, path: String, operation: Value) -> impl IntoView {
    let summary = operation["summary"]
        .as_str()
        .or(operation["description"].as_str())
        .unwrap_or_default()
        .to_owned();
    let method_class = format!("method method-{}", method.to_lowercase());
    let parameters: Vec<(String, String, String)> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let place = p["in"].as_str().unwrap_or_default().to_owned();
            let description = p["description"].as_str().unwrap_or_default().to_owned();
            (name, place, description)
        })
        .collect();
    let body = operation["requestBody"]["content"]["application/json"]["schema"]
        .as_object()
        .map(|s| schema_name(&Value::Object(s.clone())));
    let responses: Vec<(String, String)> = operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, response)| {
            let schema = response["content"]["application/json"]["schema"].clone();
            let shape = if schema.is_null() {
                String::new()
            } else {
                schema_name(&schema)
            };
            (status.clone(), shape)
        })
        .collect();
    let secured = operation.get("security").is_some();
    view! {
        <details class="api-operation card">
            <summary>
                <span class=method_class>{method}</span>
                <code class="api-path">{path}</code>
                <span class="muted">{summary}</span>
                {secured.then(|| view! { <span class="badge">"sign-in"</span> })}
            </summary>
            {(!parameters.is_empty()).then(|| view! {
                <h3>"Parameters"</h3>
                <table class="table">
                    <thead><tr><th>"Name"</th><th>"In"</th><th>"Meaning"</th></tr></thead>
                    <tbody>{parameters.into_iter().map(|(name, place, description)| view! { <tr><td><code>{name}</code></td><td>{place}</td><td>{description}</td></tr> }).collect_view()}</tbody>
                </table>
            })}
            {body.map(|body| view! { <h3>"Body"</h3><p><code>{body}</code></p> })}
            <h3>"Responses"</h3>
            <ul class="api-responses">
                {responses.into_iter().map(|(status, shape)| view! { <li><strong>{status}</strong>" "<code>{shape}</code></li> }).collect_view()}
            </ul>
        </details>
    }
    .into_any()
}
