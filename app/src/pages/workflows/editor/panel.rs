//! The side panel: a form for the selected node, generated from its kind's
//! field specs, with the variables an expression can use at that node.

use leptos::prelude::*;
use model::{FieldSpec, FieldType, OnError};
use serde_json::Value;

use super::{state::Editor, triggers::TriggerDetails};

#[component]
pub fn NodePanel(editor: Editor, notice: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    let single = Memo::new(move |_| {
        let selected = editor.selected.get();
        (selected.len() == 1).then(|| selected[0].clone())
    });
    move || match single.get() {
        Some(id) => view! { <NodeForm editor id notice /> }.into_any(),
        None => {
            let count = editor.selected.with(Vec::len);
            view! {
                <div class="panel-empty muted">
                    {if count > 1 {
                        format!("{count} nodes selected. Drag them together, copy them, or press Delete.")
                    } else {
                        "Select a node to edit it. Drag kinds from the palette; drag from a node's right-hand port to another node to connect them.".to_owned()
                    }}
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn NodeForm(editor: Editor, id: String, notice: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    let node = {
        let id = id.clone();
        Memo::new(move |_| {
            editor
                .doc
                .with(|d| d.nodes.iter().find(|n| n.id == id).cloned())
        })
    };
    let Some(first) = node.get_untracked() else {
        return ().into_any();
    };
    let spec = editor.spec(&first.kind);
    let variables = {
        let id = id.clone();
        Memo::new(move |_| {
            editor
                .catalogue
                .with_value(|catalogue| editor.doc.with(|d| variables_at(d, &id, catalogue)))
        })
    };
    let problems = {
        let id = id.clone();
        Memo::new(move |_| {
            editor.problems.with(|all| {
                all.iter()
                    .filter(|p| p.node_id.as_deref() == Some(id.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    };
    let set_label = {
        let id = id.clone();
        move |ev| {
            let value = event_target_value(&ev);
            editor.edit(&format!("{id}/label"), |d| {
                if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id) {
                    n.label = value;
                }
            });
        }
    };
    let set_on_error = {
        let id = id.clone();
        move |ev| {
            let value = event_target_value(&ev);
            editor.change(|d| {
                if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id) {
                    n.on_error = match value.as_str() {
                        "continue" => Some(OnError::Continue),
                        "route" => Some(OnError::Route),
                        "fail" => Some(OnError::Fail),
                        _ => None,
                    };
                }
            });
        }
    };
    let on_error_value = move || match node.get().and_then(|n| n.on_error) {
        Some(OnError::Continue) => "continue",
        Some(OnError::Route) => "route",
        Some(OnError::Fail) => "fail",
        None => "",
    };
    let fields = spec
        .as_ref()
        .map(|s| s.fields.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|field| view! { <ConfigField editor node_id=id.clone() field variables /> })
        .collect_view();
    let heading = spec
        .as_ref()
        .map(|s| s.label.clone())
        .unwrap_or_else(|| first.kind.clone());
    let description = spec
        .as_ref()
        .map(|s| s.description.clone())
        .unwrap_or_default();
    view! {
        <form class="node-form" on:submit=|ev| ev.prevent_default() data-testid="node-form">
            <h2>{heading}</h2>
            <p class="muted small">{description}</p>
            <div class="field">
                <label for="node-id">"Id"</label>
                <input id="node-id" readonly prop:value=id.clone() />
                <p class="hint">"Expressions refer to this step as " <code>{format!("steps.{id}")}</code></p>
            </div>
            <div class="field">
                <label for="node-label">"Label"</label>
                <input id="node-label" prop:value=move || node.get().map(|n| n.label).unwrap_or_default() on:input=set_label />
            </div>
            {fields}
            <TriggerDetails editor id=id.clone() kind=first.kind.clone() notice />
            <div class="field">
                <label for="node-on-error">"When this step fails"</label>
                <select id="node-on-error" on:change=set_on_error prop:value=on_error_value>
                    <option value="">"Workflow default"</option>
                    <option value="fail">"Fail the run"</option>
                    <option value="continue">"Continue without it"</option>
                    <option value="route">"Take the error port"</option>
                </select>
            </div>
            {move || {
                let list = problems.get();
                (!list.is_empty()).then(|| view! {
                    <ul class="form-problems" role="list">
                        {list.into_iter().map(|p| view! {
                            <li class=if p.severity == model::Severity::Error { "problem-error" } else { "problem-warning" }>
                                {p.field.map(|f| format!("{f}: ")).unwrap_or_default()}{p.message}
                            </li>
                        }).collect_view()}
                    </ul>
                })
            }}
        </form>
    }
    .into_any()
}

/// Trigger fields and upstream step outputs an expression at `id` can use.
pub fn variables_at(
    doc: &model::WorkflowDefinition,
    id: &str,
    catalogue: &model::Catalogue,
) -> Vec<String> {
    let graph = model::graph::Graph::new(doc);
    let mut names = vec![
        "trigger.body".to_owned(),
        "trigger.headers".to_owned(),
        "trigger.query".to_owned(),
    ];
    // Provider triggers say which event came.
    if doc.nodes.iter().any(|n| {
        catalogue
            .get(&n.kind)
            .is_some_and(|k| k.is_trigger() && k.provider.is_some())
    }) {
        names.push("trigger.event".to_owned());
    }
    if let Some(index) = graph.index_of(id) {
        for (i, upstream) in graph.ancestors(index).into_iter().enumerate() {
            let node = &doc.nodes[i];
            let spec = catalogue.get(&node.kind);
            let is_trigger = spec.map_or(node.kind.ends_with("_trigger"), |k| k.is_trigger());
            if upstream && !is_trigger {
                names.push(format!("steps.{}.output", node.id));
                // The fields its kind declares, for the picker.
                for field in spec.map(|k| k.output.as_slice()).unwrap_or_default() {
                    names.push(format!("steps.{}.output.{}", node.id, field.name));
                }
            }
        }
    }
    names
}

#[component]
fn ConfigField(
    editor: Editor,
    node_id: String,
    field: FieldSpec,
    variables: Memo<Vec<String>>,
) -> impl IntoView {
    let input_id = format!("config-{}", field.name);
    let current = {
        let (node_id, name) = (node_id.clone(), field.name.clone());
        Memo::new(move |_| {
            editor.doc.with(|d| {
                d.nodes
                    .iter()
                    .find(|n| n.id == node_id)
                    .and_then(|n| n.config.get(&name).cloned())
            })
        })
    };
    let write = {
        let (node_id, name) = (node_id.clone(), field.name.clone());
        move |value: Option<Value>| {
            editor.edit(&format!("{node_id}/config/{name}"), |d| {
                let Some(node) = d.nodes.iter_mut().find(|n| n.id == node_id) else {
                    return;
                };
                if !node.config.is_object() {
                    node.config = Value::Object(Default::default());
                }
                if let Some(config) = node.config.as_object_mut() {
                    match value {
                        Some(value) => config.insert(name.clone(), value),
                        None => config.remove(&name),
                    };
                }
            });
        }
    };
    let text_value = move || match current.get() {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let write_text = {
        let write = write.clone();
        move |ev: leptos::ev::Event| {
            let text = event_target_value(&ev);
            write((!text.is_empty()).then_some(Value::String(text)));
        }
    };
    let label = format!("{}{}", field.label, if field.required { " *" } else { "" });
    let control = match &field.ty {
        FieldType::Text { multiline: true } => {
            view! { <textarea id=input_id.clone() rows="3" prop:value=text_value on:input=write_text /> }.into_any()
        }
        FieldType::Text { .. } | FieldType::Url | FieldType::Timestamp | FieldType::Expression => {
            let placeholder = match field.ty {
                FieldType::Url => "https://api.example.com/…",
                FieldType::Expression => "{{ steps.… }}",
                _ => "",
            };
            view! { <input id=input_id.clone() placeholder=placeholder prop:value=text_value on:input=write_text /> }.into_any()
        }
        FieldType::Secret => {
            view! { <input id=input_id.clone() type="password" autocomplete="off" prop:value=text_value on:input=write_text /> }.into_any()
        }
        FieldType::Integer { min, max } => {
            let write = write.clone();
            view! {
                <input id=input_id.clone() type="number" min=*min max=*max prop:value=text_value
                    on:input=move |ev| write(event_target_value(&ev).parse::<i64>().ok().map(Value::from)) />
            }
            .into_any()
        }
        FieldType::Boolean => {
            let write = write.clone();
            view! {
                <input id=input_id.clone() type="checkbox" class="checkbox"
                    prop:checked=move || current.get().and_then(|v| v.as_bool()).unwrap_or(false)
                    on:change=move |ev| write(Some(Value::Bool(event_target_checked(&ev)))) />
            }
            .into_any()
        }
        FieldType::Select { options } => {
            view! {
                <select id=input_id.clone() on:change=write_text prop:value=text_value>
                    {(!field.required).then(|| view! { <option value="">"—"</option> })}
                    {options.iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                </select>
            }
            .into_any()
        }
        FieldType::MultiSelect { options } => {
            let chosen = move || -> Vec<String> {
                current
                    .get()
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            };
            view! {
                <div class="checkbox-list" id=input_id.clone() role="group">
                    {options.iter().map(|option| {
                        let (checked_option, toggled_option) = (option.clone(), option.clone());
                        let write = write.clone();
                        view! {
                            <label class="checkbox-option">
                                <input type="checkbox" class="checkbox" value=option.clone()
                                    prop:checked=move || chosen().contains(&checked_option)
                                    on:change=move |ev| {
                                        let mut list = chosen();
                                        list.retain(|o| *o != toggled_option);
                                        if event_target_checked(&ev) {
                                            list.push(toggled_option.clone());
                                        }
                                        write((!list.is_empty()).then(|| Value::from(list)));
                                    } />
                                " " {option.clone()}
                            </label>
                        }
                    }).collect_view()}
                </div>
            }
            .into_any()
        }
        FieldType::Connection { provider } => {
            view! { <ConnectionField id=input_id.clone() provider=provider.clone() current write=write.clone() /> }.into_any()
        }
        _ => view! { <JsonField id=input_id.clone() current write /> }.into_any(),
    };
    let expressions = !matches!(
        field.ty,
        FieldType::Boolean
            | FieldType::Integer { .. }
            | FieldType::Select { .. }
            | FieldType::Secret
            | FieldType::MultiSelect { .. }
            | FieldType::Connection { .. }
    );
    view! {
        <div class="field" data-field=field.name.clone()>
            <label for=input_id>{label}</label>
            {control}
            {(!field.help.is_empty()).then(|| view! { <p class="hint">{field.help.clone()}</p> })}
            {expressions.then(|| view! {
                <p class="variables hint">
                    "Variables: "
                    {move || variables.get().into_iter().map(|v| view! { <code class="variable">{format!("{{{{ {v} }}}}")}</code> " " }).collect_view()}
                </p>
            })}
        </div>
    }
}

/// One of the user's connections for `provider` (or a generic one such as
/// an OAuth 2 token), with a way to add one.
#[component]
fn ConnectionField(
    id: String,
    provider: String,
    current: Memo<Option<Value>>,
    write: impl Fn(Option<Value>) + Clone + 'static,
) -> impl IntoView {
    let connections = LocalResource::new(|| {
        crate::api::call::<Vec<crate::pages::connections::ConnectionRow>>(
            "GET",
            "/connections",
            None,
        )
    });
    let usable = {
        let provider = provider.clone();
        Signal::derive(move || {
            connections
                .get()
                .and_then(|list| list.ok())
                .unwrap_or_default()
                .into_iter()
                .filter(|c| {
                    c.kind == provider
                        || matches!(c.kind.as_str(), "bearer" | "basic" | "header" | "oauth2")
                })
                .collect::<Vec<_>>()
        })
    };
    let selected = move || {
        current
            .get()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let add = format!("/connections?provider={provider}");
    view! {
        <select id=id data-connection-for=provider.clone() prop:value=selected
            on:change=move |ev| {
                let chosen = event_target_value(&ev);
                write((!chosen.is_empty()).then_some(Value::String(chosen)));
            }>
            <option value="">"— choose a connection —"</option>
            {move || usable.get().into_iter().map(|c| {
                let chosen = selected() == c.id;
                view! { <option value=c.id.clone() selected=chosen>{format!("{} ({})", c.name, c.kind)}</option> }
            }).collect_view()}
        </select>
        <p class="hint">
            {move || usable.with(Vec::is_empty).then_some("No connection for this service yet. ")}
            <a href=add target="_blank" rel="noopener">"Add a connection"</a>
        </p>
    }
}

/// Any JSON value, edited as text; applied while it parses.
#[component]
fn JsonField(
    id: String,
    current: Memo<Option<Value>>,
    write: impl Fn(Option<Value>) + Clone + 'static,
) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let text = move || {
        current
            .get()
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
            .unwrap_or_default()
    };
    view! {
        <textarea id=id rows="5" class="mono" prop:value=text
            aria-invalid=move || problem.get().is_some().to_string()
            on:input=move |ev| {
                let typed = event_target_value(&ev);
                if typed.trim().is_empty() {
                    problem.set(None);
                    write(None);
                    return;
                }
                match serde_json::from_str::<Value>(&typed) {
                    Ok(value) => {
                        problem.set(None);
                        write(Some(value));
                    }
                    Err(error) => problem.set(Some(format!("Not valid JSON yet: {error}"))),
                }
            } />
        <p class="field-error" role="alert">{move || problem.get().unwrap_or_default()}</p>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn expressions_see_the_trigger_and_upstream_steps_only() {
        let doc: model::WorkflowDefinition = serde_json::from_value(serde_json::json!({
            "name": "v",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "a", "kind": "transform"},
                {"id": "b", "kind": "transform"},
                {"id": "side", "kind": "transform"}
            ],
            "edges": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "start", "target": "side"}]
        }))
        .unwrap();
        let at_b = super::variables_at(&doc, "b", &model::Catalogue::default());
        assert!(at_b.contains(&"trigger.body".to_owned()));
        assert!(at_b.contains(&"steps.a.output".to_owned()));
        assert!(
            !at_b
                .iter()
                .any(|v| v.contains("side") || v.contains("start"))
        );
    }
}
