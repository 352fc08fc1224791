//! The node palette: every kind of the catalogue grouped by category, and
//! integrations in a folded group per provider, with a search. Drag a kind onto the canvas, or press Enter on it (or
//! double-click it) to add it beside the selected node, or in the middle of
//! the view, in free space either way.

use leptos::{ev, prelude::*};
use model::{Category, Position};

use super::{canvas::KIND_MIME, state::Editor};

const GROUPS: [(Category, &str); 3] = [
    (Category::Trigger, "Triggers"),
    (Category::Action, "Actions"),
    (Category::Logic, "Logic"),
];

#[component]
pub fn Palette(editor: Editor, svg: NodeRef<leptos::svg::Svg>) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let add_in_view = move |kind: String| {
        let view = editor.view.get_untracked();
        let (width, height) = svg
            .get_untracked()
            .map(|el| {
                let rect = el.get_bounding_client_rect();
                (rect.width(), rect.height())
            })
            .unwrap_or((800.0, 600.0));
        let x = (width / 2.0 - view.x) / view.zoom - model::layout::NODE_WIDTH / 2.0;
        let y = (height / 2.0 - view.y) / view.zoom - model::layout::NODE_HEIGHT / 2.0;
        let selected = editor.selected.with_untracked(|s| s.last().cloned());
        let position = editor.doc.with_untracked(|d| {
            // Beside the selected node, else in the middle of the view; in
            // either case clear of every other node.
            let preferred = selected
                .and_then(|id| model::layout::beside(d, &id))
                .unwrap_or(Position {
                    x: x.round(),
                    y: y.round(),
                });
            model::layout::free_spot(d, preferred)
        });
        editor.add_node(&kind, position);
    };
    // Built-in kinds by category, then one folded group per provider (its
    // trigger and actions), opened while a search is typed: dozens of
    // integration steps would otherwise bury the rest, and every item is a
    // stop for the Tab key.
    let groups = move || {
        let needle = search.get().to_lowercase();
        editor.catalogue.with_value(|catalogue| {
            let matches = |k: &&model::KindSpec| {
                needle.is_empty()
                    || k.label.to_lowercase().contains(&needle)
                    || k.kind.contains(&needle)
                    || k.description.to_lowercase().contains(&needle)
            };
            let item =
                |k: &model::KindSpec| (k.kind.clone(), k.label.clone(), k.description.clone());
            let mut groups: Vec<(String, bool, Vec<(String, String, String)>)> = GROUPS
                .iter()
                .map(|(category, title)| {
                    let kinds = catalogue
                        .kinds
                        .iter()
                        .filter(|k| k.category == *category && k.provider.is_none())
                        .filter(matches)
                        .map(item)
                        .collect();
                    (title.to_string(), false, kinds)
                })
                .collect();
            for k in catalogue
                .kinds
                .iter()
                .filter(|k| k.provider.is_some())
                .filter(matches)
            {
                let provider = k.label.split_once(": ").map_or("Integrations", |(p, _)| p);
                let entry = item(k);
                match groups
                    .iter_mut()
                    .find(|(title, folded, _)| *folded && title == provider)
                {
                    Some((_, _, kinds)) => kinds.push(entry),
                    None => groups.push((provider.to_owned(), true, vec![entry])),
                }
            }
            groups.retain(|(_, _, kinds)| !kinds.is_empty());
            groups
        })
    };
    view! {
        <aside class="palette" aria-label="Node palette">
            <label class="visually-hidden" for="palette-search">"Search node kinds"</label>
            <input id="palette-search" type="search" placeholder="Search steps" prop:value=move || search.get()
                on:input=move |e| search.set(event_target_value(&e)) />
            {move || groups().into_iter().map(|(title, folded, kinds)| {
                let list = view! {
                <ul class="palette-list" role="list">
                    {kinds.into_iter().map(|(kind, label, description)| {
                        let dragged = kind.clone();
                        let added = kind.clone();
                        let on_key = move |e: ev::KeyboardEvent| {
                            if e.key() == "Enter" || e.key() == " " {
                                e.prevent_default();
                                add_in_view(added.clone());
                            }
                        };
                        let clicked = kind.clone();
                        view! {
                            <li class="palette-item" draggable="true" tabindex="0" role="button"
                                title=description data-kind=kind.clone()
                                aria-label=format!("Add {label}")
                                on:dragstart=move |e: ev::DragEvent| {
                                    if let Some(transfer) = e.data_transfer() {
                                        let _ = transfer.set_data(KIND_MIME, &dragged);
                                        transfer.set_effect_allowed("copy");
                                    }
                                }
                                on:dblclick=move |_| add_in_view(clicked.clone())
                                on:keydown=on_key>
                                // In a provider's group its name need not be repeated.
                                {label.split_once(": ").map_or(label.clone(), |(_, action)| action.to_owned())}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                };
                if folded {
                    let provider = title.clone();
                    view! {
                        <details class="palette-provider" data-provider=provider open=move || !search.get().is_empty()>
                            <summary class="palette-group">{title}</summary>
                            {list}
                        </details>
                    }
                    .into_any()
                } else {
                    view! { <h3 class="palette-group">{title}</h3> {list} }.into_any()
                }
            }).collect_view()}
        </aside>
    }
}
