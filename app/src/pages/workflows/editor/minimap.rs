//! The minimap: the whole graph in miniature with the part in view
//! outlined; clicking it centres the canvas there.

use leptos::{ev, prelude::*};
use model::layout::{NODE_HEIGHT, NODE_WIDTH};

use super::state::{Editor, Viewport, bounds};

const WIDTH: f64 = 180.0;
const HEIGHT: f64 = 120.0;
const PAD: f64 = 40.0;

#[component]
pub fn Minimap(editor: Editor, svg: NodeRef<leptos::svg::Svg>) -> impl IntoView {
    // Graph extent, and the scale from graph to minimap.
    let frame = Memo::new(move |_| {
        editor.doc.with(|d| bounds(&d.nodes)).map(|(l, t, r, b)| {
            let (l, t, r, b) = (l - PAD, t - PAD, r + PAD, b + PAD);
            let scale = (WIDTH / (r - l)).min(HEIGHT / (b - t));
            (l, t, scale)
        })
    });
    let canvas_size = move || {
        svg.get_untracked()
            .map(|el| {
                let rect = el.get_bounding_client_rect();
                (rect.width(), rect.height())
            })
            .unwrap_or((800.0, 600.0))
    };
    let centre_on = move |event: ev::MouseEvent| {
        let Some((left, top, scale)) = frame.get_untracked() else {
            return;
        };
        let (x, y) = (
            f64::from(event.offset_x()) / scale + left,
            f64::from(event.offset_y()) / scale + top,
        );
        let (width, height) = canvas_size();
        editor.view.update(|v| {
            *v = Viewport {
                x: width / 2.0 - x * v.zoom,
                y: height / 2.0 - y * v.zoom,
                zoom: v.zoom,
            };
        });
    };
    view! {
        <svg class="minimap" width=WIDTH height=HEIGHT aria-hidden="true" data-testid="minimap" on:click=centre_on>
            {move || frame.get().map(|(left, top, scale)| {
                let nodes = editor.doc.with(|d| {
                    d.nodes.iter().map(|n| ((n.position.x - left) * scale, (n.position.y - top) * scale)).collect::<Vec<_>>()
                });
                let view = editor.view.get();
                let (width, height) = canvas_size();
                let seen = (
                    (-view.x / view.zoom - left) * scale,
                    (-view.y / view.zoom - top) * scale,
                    width / view.zoom * scale,
                    height / view.zoom * scale,
                );
                view! {
                    {nodes.into_iter().map(|(x, y)| view! {
                        <rect class="minimap-node" x=x y=y width=NODE_WIDTH * scale height=NODE_HEIGHT * scale rx="1" />
                    }).collect_view()}
                    <rect class="minimap-view" x=seen.0 y=seen.1 width=seen.2 height=seen.3 />
                }
            })}
        </svg>
    }
}
