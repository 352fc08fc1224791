//! `/workflows/{id}`: the editor. A palette, the SVG canvas with a minimap,
//! a side panel with the selected node's form, live validation, save with
//! an unsaved-changes guard, versions with restore, and runs watched live.

mod assistant;
mod canvas;
mod minimap;
mod palette;
mod panel;
mod run;
mod state;
mod triggers;

use leptos::{ev, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use model::{Catalogue, WorkflowDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    account::RequireAccount, api, components::badge::StatusBadge, pages::not_found::NotFound,
};
use state::Editor;

/// Everything the editor opens with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditorData {
    pub id: String,
    pub status: String,
    pub version: i32,
    pub webhook_url: Option<String>,
    /// Why it was paused automatically, while paused.
    pub paused_reason: Option<String>,
    pub definition: WorkflowDefinition,
    pub catalogue: Catalogue,
}

#[server(endpoint = "open_workflow")]
pub async fn open_workflow(id: String) -> Result<EditorData, ServerFnError> {
    use crate::server_context::{ServerContext, fail};
    let context = ServerContext::from_leptos()?;
    let owner = context.require_account().await?.id;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| fail(domain::DomainError::NotFound))?;
    let kinds = context
        .engine
        .kinds_for(owner)
        .await
        .map_err(|e| fail(domain::DomainError::from(e)))?;
    let catalogue = kinds.catalogue();
    let mut workflow = domain::workflows::get(&context.db, catalogue, owner, id)
        .await
        .map_err(fail)?;
    // A graph made without positions opens laid out, not as one pile.
    model::layout::arrange_if_stacked(&mut workflow.definition);
    Ok(EditorData {
        id: workflow.id.to_string(),
        status: workflow.status.as_str().to_owned(),
        version: workflow.version,
        webhook_url: workflow
            .webhook_path
            .map(|path| format!("{}{path}", context.public_url)),
        paused_reason: workflow.paused_reason,
        definition: workflow.definition,
        catalogue: catalogue.clone(),
    })
}

#[component]
pub fn WorkflowEditorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, open_workflow);
    view! {
        <RequireAccount>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <EditorView data /> }.into_any(),
                        Err(error) if api::is_not_found(&error) => view! { <NotFound /> }.into_any(),
                        Err(error) => view! {
                            <p class="alert alert-danger" role="alert">"The workflow could not be opened: " {error.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </RequireAccount>
    }
}

#[component]
fn EditorView(data: EditorData) -> impl IntoView {
    let paused_reason = data.paused_reason.clone();
    let editor = Editor::new(
        data.id.clone(),
        data.definition,
        data.version,
        data.status,
        data.webhook_url,
        data.catalogue,
    );
    let svg = NodeRef::<leptos::svg::Svg>::new();
    let notice = RwSignal::new(None::<(bool, String)>);
    let versions_open = RwSignal::new(false);
    let alerts_open = RwSignal::new(false);

    let save = Callback::new(move |()| {
        leptos::task::spawn_local(async move {
            save_now(editor, notice).await;
        });
    });
    let lifecycle = move |action: &'static str| {
        move |_| {
            let id = editor.id.get_value();
            leptos::task::spawn_local(async move {
                match api::call::<Value>("POST", &format!("/workflows/{id}/{action}"), None).await {
                    Ok(workflow) => {
                        editor
                            .status
                            .set(workflow["status"].as_str().unwrap_or_default().to_owned());
                        notice.set(Some((
                            true,
                            format!(
                                "The workflow is {}.",
                                workflow["status"].as_str().unwrap_or("")
                            ),
                        )));
                    }
                    Err(error) => notice.set(Some((false, error.describe()))),
                }
            });
        }
    };
    // The saved workflow is exported: unsaved changes are saved first. A
    // step the export cannot translate is named instead of a download.
    let export_code = move |_| {
        leptos::task::spawn_local(async move {
            if editor.is_dirty() && !save_now(editor, notice).await {
                return;
            }
            let id = editor.id.get_value();
            let path = format!("/workflows/{id}/export/typescript");
            match api::call::<Value>("GET", &path, None).await {
                Ok(project) => {
                    let directory = project["directory"]
                        .as_str()
                        .unwrap_or("workflow")
                        .to_owned();
                    let files = project["files"].as_array().map_or(0, Vec::len);
                    crate::browser::download_url(
                        &format!("/api/v1{path}?format=zip"),
                        &format!("{directory}.zip"),
                    );
                    notice.set(Some((
                        true,
                        format!("Exported as a TypeScript project ({files} files): {directory}.zip. Its README lists the environment variables to set."),
                    )));
                }
                Err(error) => notice.set(Some((
                    false,
                    format!("Cannot export as code: {}", error.describe()),
                ))),
            }
        });
    };
    let fit = move || {
        if let Some(el) = svg.get_untracked() {
            let rect = el.get_bounding_client_rect();
            editor.fit(rect.width(), rect.height());
        }
    };
    // Fit once the canvas has its size on the page.
    Effect::new(move |_| {
        if svg.get().is_some() {
            request_animation_frame(fit);
        }
    });
    let zoom_by = move |factor: f64| {
        if let Some(el) = svg.get_untracked() {
            let rect = el.get_bounding_client_rect();
            editor.zoom_at(factor, rect.width() / 2.0, rect.height() / 2.0);
        }
    };

    let keys = window_event_listener(ev::keydown, move |event| {
        if typing_in_a_field(&event) {
            return;
        }
        let command = event.ctrl_key() || event.meta_key();
        match (
            command,
            event.shift_key(),
            event.key().to_lowercase().as_str(),
        ) {
            (_, _, "delete") | (false, _, "backspace") => editor.delete_selection(),
            (true, false, "z") => editor.undo(),
            (true, true, "z") | (true, false, "y") => editor.redo(),
            (true, _, "c") => editor.copy_selection(),
            (true, _, "v") => editor.paste(),
            (true, _, "s") => save.run(()),
            (false, shift, arrow @ ("arrowleft" | "arrowright" | "arrowup" | "arrowdown")) => {
                if editor.selected.with_untracked(Vec::is_empty) {
                    return;
                }
                let step = if shift { 50.0 } else { 10.0 };
                match arrow {
                    "arrowleft" => editor.nudge(-step, 0.0),
                    "arrowright" => editor.nudge(step, 0.0),
                    "arrowup" => editor.nudge(0.0, -step),
                    _ => editor.nudge(0.0, step),
                }
            }
            (true, _, "a") => editor.selected.set(
                editor
                    .doc
                    .with_untracked(|d| d.nodes.iter().map(|n| n.id.clone()).collect()),
            ),
            _ => return,
        }
        event.prevent_default();
    });
    let leaving = window_event_listener(ev::beforeunload, move |event| {
        if editor.is_dirty() {
            event.prevent_default();
            event.set_return_value("You have unsaved changes.");
        }
    });
    on_cleanup(move || {
        keys.remove();
        leaving.remove();
    });
    // Links inside the app change the page without unloading it.
    Effect::new(move |_| {
        let stop =
            send_wrapper::SendWrapper::new(crate::browser::guard_links(move || editor.is_dirty()));
        on_cleanup(move || (stop.take())());
    });

    let error_count = move || {
        editor.problems.with(|p| {
            p.iter()
                .filter(|p| p.severity == model::Severity::Error)
                .count()
        })
    };
    let name = move || editor.doc.with(|d| d.name.clone());
    // leptos_meta reads the title after the render's last await, outside the
    // request's reactive arena: a signal read there can panic ("no Arena is
    // active") when the worker thread last ran nothing reactive. Nothing
    // edits the name during SSR, so the server renders it as plain text.
    let title = if cfg!(feature = "ssr") {
        TextProp::from(name())
    } else {
        TextProp::from(name)
    };
    let activation_hint = move || {
        if error_count() != 0 {
            "Fix the problems first"
        } else if editor.is_dirty() {
            "Save first"
        } else {
            "Start taking triggers"
        }
    };
    let activation_blocked = move || error_count() != 0 || editor.is_dirty();
    view! {
        <Title text=title />
        <div class="editor" data-testid="editor">
            <header class="editor-toolbar">
                <label class="visually-hidden" for="workflow-name">"Workflow name"</label>
                <input id="workflow-name" class="editor-name" prop:value=name
                    on:input=move |e| { let v = event_target_value(&e); editor.edit("name", |d| d.name = v) } />
                <StatusBadge status=editor.status />
                <span class="muted small" data-testid="version">{move || format!("v{}", editor.version.get())}</span>
                <Show when=move || editor.is_dirty()>
                    <span class="badge badge-warning" data-testid="unsaved">"Unsaved changes"</span>
                </Show>
                <div class="toolbar-actions">
                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| editor.undo() disabled=move || !editor.can_undo.get() title="Undo (Ctrl+Z)">"Undo"</button>
                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| editor.redo() disabled=move || !editor.can_redo.get() title="Redo (Ctrl+Shift+Z)">"Redo"</button>
                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| editor.delete_selection() title="Delete (Del)"
                        disabled=move || editor.selected.with(Vec::is_empty) && editor.selected_edge.get().is_none()>"Delete"</button>
                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| { editor.auto_layout(); fit(); }>"Auto-layout"</button>
                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| versions_open.update(|o| *o = !*o)>"Versions"</button>
                    <button type="button" class="btn btn-ghost btn-sm" data-testid="alerts-toggle" on:click=move |_| alerts_open.update(|o| *o = !*o)>"Alerts"</button>
                    <button type="button" class="btn btn-ghost btn-sm" on:click=export_code title="Download the workflow as a standalone TypeScript project">"Export as code"</button>
                    <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| save.run(()) disabled=move || !editor.is_dirty()>"Save"</button>
                    {move || if editor.status.get() == "active" {
                        view! { <button type="button" class="btn btn-secondary btn-sm" on:click=lifecycle("pause")>"Pause"</button> }.into_any()
                    } else {
                        view! { <button type="button" class="btn btn-primary btn-sm" on:click=lifecycle("activate")
                            disabled=activation_blocked title=activation_hint>
                            "Activate"</button> }.into_any()
                    }}
                </div>
            </header>
            {move || {
                let reason = paused_reason.clone().filter(|_| editor.status.get() == "paused")?;
                Some(view! {
                    <p class="alert alert-warning editor-notice paused-reason" role="status" data-testid="paused-reason">
                        {reason} " Its queued runs are held; Activate resumes it and they continue."
                    </p>
                })
            }}
            {move || notice.get().map(|(ok, text)| view! {
                <p class=if ok { "alert alert-success editor-notice" } else { "alert alert-danger editor-notice" } role=if ok { "status" } else { "alert" }>{text}</p>
            })}
            <div class="editor-body">
                <palette::Palette editor svg />
                <div class="canvas-wrap">
                    <canvas::Canvas editor svg />
                    <div class="zoom-controls" role="group" aria-label="Zoom">
                        <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| zoom_by(1.2) aria-label="Zoom in">"+"</button>
                        <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| zoom_by(1.0 / 1.2) aria-label="Zoom out">"−"</button>
                        <button type="button" class="btn btn-secondary btn-sm" on:click=move |_| fit() aria-label="Fit to view">"Fit"</button>
                        <span class="muted small" data-testid="zoom">{move || format!("{:.0}%", editor.view.get().zoom * 100.0)}</span>
                    </div>
                    <minimap::Minimap editor svg />
                </div>
                <aside class="side-panel" aria-label="Details">
                    <panel::NodePanel editor notice />
                    <assistant::SuggestNext editor />
                    <assistant::DescribeChange editor notice fit=Callback::new(move |()| fit()) />
                    <Problems editor />
                    <run::RunPanel editor notice />
                    <Show when=move || versions_open.get()>
                        <Versions editor notice />
                    </Show>
                    <Show when=move || alerts_open.get()>
                        <section class="versions" aria-labelledby="alerts-heading" data-testid="workflow-alerts">
                            <h2 id="alerts-heading">"Alert rules"</h2>
                            <crate::pages::alert_settings::Rules path=format!("/workflows/{}/alerts", editor.id.get_value()) />
                        </section>
                    </Show>
                </aside>
            </div>
        </div>
    }
}

/// Saves the document over the version it was opened or last saved as;
/// true when it was saved.
pub(crate) async fn save_now(editor: Editor, notice: RwSignal<Option<(bool, String)>>) -> bool {
    let id = editor.id.get_value();
    let snapshot = editor.doc.get_untracked();
    let document = serde_json::to_value(&snapshot).unwrap_or(Value::Null);
    let version = editor.version.get_untracked();
    match api::call_if_match::<Value>("PUT", &format!("/workflows/{id}"), &document, version).await
    {
        Ok(saved) => {
            editor
                .version
                .set(saved["version"].as_i64().unwrap_or(0) as i32);
            if let Some(status) = saved["status"].as_str() {
                editor.status.set(status.to_owned());
            }
            editor
                .webhook_url
                .set(saved["webhook_url"].as_str().map(str::to_owned));
            editor.saved.set(snapshot);
            notice.set(Some((
                true,
                format!("Saved as version {}.", saved["version"]),
            )));
            true
        }
        Err(error) => {
            notice.set(Some((false, format!("Not saved: {}", error.describe()))));
            false
        }
    }
}

/// Every problem of the document; clicking one selects its node.
#[component]
fn Problems(editor: Editor) -> impl IntoView {
    view! {
        <section class="problems" aria-labelledby="problems-heading">
            <h2 id="problems-heading">"Problems " <span class="badge">{move || editor.problems.with(Vec::len)}</span></h2>
            {move || {
                let problems = editor.problems.get();
                if problems.is_empty() {
                    return view! { <p class="muted small" data-testid="no-problems">"No problems: this workflow can be activated."</p> }.into_any();
                }
                view! {
                    <ul class="problem-list" role="list" data-testid="problems">
                        {problems.into_iter().map(|p| {
                            let node = p.node_id.clone();
                            let class = if p.severity == model::Severity::Error { "problem-error" } else { "problem-warning" };
                            view! {
                                <li class=class>
                                    <button type="button" class="link-button" on:click=move |_| {
                                        if let Some(node) = &node { editor.select_only(node) }
                                    }>
                                        {p.node_id.clone().map(|n| format!("{n}: ")).unwrap_or_default()}
                                        {p.field.clone().map(|f| format!("{f} — ")).unwrap_or_default()}
                                        {p.message.clone()}
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct VersionInfo {
    version: i32,
    created_at: String,
}

/// Saved versions, newest first; restoring one loads it into the editor as
/// an unsaved change.
#[component]
fn Versions(editor: Editor, notice: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    let list = RwSignal::new(Vec::<VersionInfo>::new());
    let id = editor.id.get_value();
    {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            if let Ok(mut versions) =
                api::call::<Vec<VersionInfo>>("GET", &format!("/workflows/{id}/versions"), None)
                    .await
            {
                versions.sort_by(|a, b| b.version.cmp(&a.version));
                list.set(versions);
            }
        });
    }
    let restore = move |version: i32| {
        let id = editor.id.get_value();
        leptos::task::spawn_local(async move {
            match api::call::<WorkflowDefinition>(
                "GET",
                &format!("/workflows/{id}/versions/{version}"),
                None,
            )
            .await
            {
                Ok(definition) => {
                    editor.change(|d| *d = definition);
                    notice.set(Some((
                        true,
                        format!("Version {version} restored; save to keep it."),
                    )));
                }
                Err(error) => notice.set(Some((false, error.describe()))),
            }
        });
    };
    view! {
        <section class="versions" aria-labelledby="versions-heading">
            <h2 id="versions-heading">"Versions"</h2>
            <ul class="version-list" role="list">
                {move || list.get().into_iter().map(|v| view! {
                    <li>
                        <span>{format!("v{}", v.version)}</span>
                        <span class="muted small">{crate::components::badge::short_time(&v.created_at)}</span>
                        <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| restore(v.version)>"Restore"</button>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Keys typed into a form field are not editor shortcuts.
fn typing_in_a_field(event: &ev::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| {
            matches!(
                el.tag_name().to_lowercase().as_str(),
                "input" | "textarea" | "select"
            )
        })
}
