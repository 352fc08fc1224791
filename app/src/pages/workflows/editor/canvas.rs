//! The SVG canvas: nodes with their ports, edges as curves, and the
//! gestures on them: select (shift for several), drag, connect a port to a
//! node, pan the background, zoom with the wheel, drop kinds from the
//! palette. Rendered on the server too, so the graph paints before the
//! WASM arrives.

use std::{collections::HashSet, sync::Arc};

use leptos::{ev, prelude::*};
use model::{
    OnError, Position,
    layout::{NODE_HEIGHT, NODE_WIDTH},
};

use super::state::{Editor, Moving, Viewport};
use crate::components::graph::{category_class, curve, port_y, status_caption, truncate};

/// Data type of a node kind dragged from the palette.
pub const KIND_MIME: &str = "application/x-switchyard-kind";

/// What a pointer held down on the canvas is doing.
#[derive(Clone, Debug, Default)]
enum Gesture {
    #[default]
    Idle,
    Pan {
        from: (f64, f64),
        start: Viewport,
    },
    Drag {
        from: (f64, f64),
        nodes: Arc<HashSet<String>>,
    },
    Connect {
        source: String,
        port: String,
    },
}

/// The ports a node fires on, `error` last when it routes errors.
pub fn output_ports(editor: &Editor, node: &model::Node) -> Vec<String> {
    let mut ports = editor
        .spec(&node.kind)
        .map(|s| s.ports(&node.config))
        .unwrap_or_else(|| vec!["out".into()]);
    if node.on_error == Some(OnError::Route) {
        ports.push("error".into());
    }
    ports
}

/// The canvas point under a pointer event (before pan and zoom).
fn local_point(svg: &NodeRef<leptos::svg::Svg>, x: i32, y: i32) -> (f64, f64) {
    svg.get_untracked()
        .map(|el| {
            let rect = el.get_bounding_client_rect();
            (f64::from(x) - rect.left(), f64::from(y) - rect.top())
        })
        .unwrap_or((f64::from(x), f64::from(y)))
}

fn to_graph(view: Viewport, point: (f64, f64)) -> (f64, f64) {
    (
        (point.0 - view.x) / view.zoom,
        (point.1 - view.y) / view.zoom,
    )
}

#[component]
pub fn Canvas(editor: Editor, svg: NodeRef<leptos::svg::Svg>) -> impl IntoView {
    let gesture = StoredValue::new(Gesture::Idle);
    // The loose end of a connection being drawn, in graph coordinates.
    let pending = RwSignal::new(None::<((f64, f64), (f64, f64))>);

    let on_background_down = move |event: ev::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        if !event.shift_key() {
            editor.selected.set(Vec::new());
            editor.selected_edge.set(None);
        }
        gesture.set_value(Gesture::Pan {
            from: (f64::from(event.client_x()), f64::from(event.client_y())),
            start: editor.view.get_untracked(),
        });
    };
    let on_move = move |event: ev::PointerEvent| {
        let here = (f64::from(event.client_x()), f64::from(event.client_y()));
        match gesture.get_value() {
            Gesture::Idle => {}
            Gesture::Pan { from, start } => editor.view.set(Viewport {
                x: start.x + here.0 - from.0,
                y: start.y + here.1 - from.1,
                zoom: start.zoom,
            }),
            Gesture::Drag { from, nodes } => {
                let zoom = editor.view.get_untracked().zoom;
                let (dx, dy) = ((here.0 - from.0) / zoom, (here.1 - from.1) / zoom);
                // A click that wobbles a pixel is not a move.
                if editor.moving.with_untracked(Option::is_none) && dx.abs() + dy.abs() < 2.0 {
                    return;
                }
                editor.moving.set(Some(Moving {
                    nodes,
                    dx: dx.round(),
                    dy: dy.round(),
                }));
            }
            Gesture::Connect { .. } => {
                let point = to_graph(
                    editor.view.get_untracked(),
                    local_point(&svg, event.client_x(), event.client_y()),
                );
                pending.update(|p| {
                    if let Some((_, end)) = p {
                        *end = point;
                    }
                });
            }
        }
    };
    let on_up = move |_: ev::PointerEvent| {
        if matches!(gesture.get_value(), Gesture::Drag { .. }) {
            editor.finish_move();
        }
        gesture.set_value(Gesture::Idle);
        pending.set(None);
    };
    let on_wheel = move |event: ev::WheelEvent| {
        event.prevent_default();
        let (x, y) = local_point(&svg, event.client_x(), event.client_y());
        editor.zoom_at((-event.delta_y() * 0.0015).exp(), x, y);
    };
    let on_drag_over = move |event: ev::DragEvent| event.prevent_default();
    let on_drop = move |event: ev::DragEvent| {
        event.prevent_default();
        let Some(kind) = event
            .data_transfer()
            .and_then(|t| t.get_data(KIND_MIME).ok())
            .filter(|k| !k.is_empty())
        else {
            return;
        };
        let (x, y) = to_graph(
            editor.view.get_untracked(),
            local_point(&svg, event.client_x(), event.client_y()),
        );
        editor.add_node(
            &kind,
            Position {
                x: (x - NODE_WIDTH / 2.0).round(),
                y: (y - NODE_HEIGHT / 2.0).round(),
            },
        );
    };

    let start_drag = move |id: String, event: ev::PointerEvent| {
        if event.shift_key() {
            editor.toggle_selected(&id);
        } else if !editor.is_selected(&id) {
            editor.select_only(&id);
        }
        let nodes = editor.selected.get_untracked().into_iter().collect();
        gesture.set_value(Gesture::Drag {
            from: (f64::from(event.client_x()), f64::from(event.client_y())),
            nodes: Arc::new(nodes),
        });
    };
    let start_connect = move |source: String, port: String, from: (f64, f64)| {
        gesture.set_value(Gesture::Connect { source, port });
        pending.set(Some((from, from)));
    };
    let finish_connect = move |target: String| {
        if let Gesture::Connect { source, port } = gesture.get_value() {
            editor.connect(&source, &port, &target);
        }
    };

    let transform = move || {
        let v = editor.view.get();
        format!("translate({:.1},{:.1}) scale({:.3})", v.x, v.y, v.zoom)
    };
    let edge_keys = move || {
        editor.doc.with(|d| {
            d.edges
                .iter()
                .enumerate()
                .map(|(i, e)| (i, format!("{}|{}|{}", e.source, e.source_port, e.target)))
                .collect::<Vec<_>>()
        })
    };
    let node_ids = move || {
        editor
            .doc
            .with(|d| d.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>())
    };

    view! {
        <svg
            node_ref=svg
            class="canvas"
            role="application"
            aria-label="Workflow canvas"
            tabindex="0"
            data-testid="canvas"
            on:pointerdown=on_background_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:pointerleave=on_up
            on:wheel=on_wheel
            on:dragover=on_drag_over
            on:drop=on_drop
        >
            <defs>
                <pattern id="grid" width="24" height="24" patternUnits="userSpaceOnUse">
                    <circle cx="1" cy="1" r="1" class="grid-dot" />
                </pattern>
                <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" class="edge-arrow" />
                </marker>
            </defs>
            <rect class="canvas-bg" width="100%" height="100%" fill="url(#grid)" />
            <g transform=transform data-testid="viewport">
                <For each=edge_keys key=|(i, key)| (*i, key.clone()) let:((index, _))>
                    <EdgeView editor index />
                </For>
                {move || pending.get().map(|(from, to)| view! { <path class="edge edge-pending" d=curve(from, to) /> })}
                <For each=node_ids key=|id| id.clone() let:id>
                    <NodeView editor id start_drag start_connect finish_connect />
                </For>
                // Nodes a proposed change removes, where they were.
                {move || editor.diff.with(|d| d.removed.iter().map(|node| view! {
                    <g class="node diff-removed" data-testid="ghost-node" data-node-id=node.id.clone()
                        transform=format!("translate({:.1},{:.1})", node.position.x, node.position.y)>
                        <rect class="node-box" width=NODE_WIDTH height=NODE_HEIGHT rx="10" />
                        <text class="node-title" x="18" y="26">{truncate(if node.label.is_empty() { &node.id } else { &node.label }, 22)}</text>
                        <text class="node-kind" x="18" y="46">"removed"</text>
                    </g>
                }).collect_view())}
            </g>
        </svg>
    }
}

#[component]
fn EdgeView(editor: Editor, index: usize) -> impl IntoView {
    let geometry = Memo::new(move |_| {
        editor.doc.with(|d| {
            let edge = d.edges.get(index)?;
            let source = d.nodes.iter().find(|n| n.id == edge.source)?;
            let target = d.nodes.iter().find(|n| n.id == edge.target)?;
            let ports = output_ports(&editor, source);
            let at = ports
                .iter()
                .position(|p| *p == edge.source_port)
                .unwrap_or(0);
            let from = (
                source.position.x + NODE_WIDTH,
                source.position.y + port_y(at, ports.len().max(1)),
            );
            let to = (target.position.x, target.position.y + NODE_HEIGHT / 2.0);
            Some((
                from,
                to,
                edge.source_port.clone(),
                edge.source.clone(),
                edge.target.clone(),
            ))
        })
    });
    // What the edge joins: its drawing is rebuilt only when that changes;
    // a drag merely moves the ends of the curve.
    let ends = Memo::new(move |_| {
        geometry
            .get()
            .map(|(_, _, port, source, target)| (port, source, target))
    });
    let line = Memo::new(move |_| {
        geometry.get().map(|(from, to, _, source, target)| {
            let (sx, sy) = editor.offset_of(&source);
            let (tx, ty) = editor.offset_of(&target);
            ((from.0 + sx, from.1 + sy), (to.0 + tx, to.1 + ty))
        })
    });
    let d = move || {
        line.get()
            .map(|(from, to)| curve(from, to))
            .unwrap_or_default()
    };
    let label_at = move || {
        line.get()
            .map_or((0.0, 0.0), |(from, _)| (from.0 + 10.0, from.1 - 6.0))
    };
    let select = move |event: ev::PointerEvent| {
        event.stop_propagation();
        editor.selected.set(Vec::new());
        editor.selected_edge.set(Some(index));
    };
    move || {
        ends.get().map(|(port, source, target)| {
            let selected = move || editor.selected_edge.get() == Some(index);
            let label = (port != "out").then(|| {
                view! { <text class="edge-label" x=move || label_at().0 y=move || label_at().1>{port.clone()}</text> }
            });
            view! {
                <g class="edge-group" class:selected=selected data-testid="edge" data-source=source data-target=target data-port=port.clone()>
                    <path class="edge-hit" d=d on:pointerdown=select />
                    <path class="edge" d=d marker-end="url(#arrow)" />
                    {label}
                </g>
            }
        })
    }
}

#[component]
fn NodeView(
    editor: Editor,
    id: String,
    start_drag: impl Fn(String, ev::PointerEvent) + Copy + Send + Sync + 'static,
    start_connect: impl Fn(String, String, (f64, f64)) + Copy + Send + Sync + 'static,
    finish_connect: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let node = {
        let id = id.clone();
        Memo::new(move |_| {
            editor
                .doc
                .with(|d| d.nodes.iter().find(|n| n.id == id).cloned())
        })
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| editor.is_selected(&id))
    };
    let error_count = {
        let id = id.clone();
        Memo::new(move |_| {
            editor.problems.with(|problems| {
                problems
                    .iter()
                    .filter(|p| {
                        p.node_id.as_deref() == Some(id.as_str())
                            && p.severity == model::Severity::Error
                    })
                    .count()
            })
        })
    };
    // Said in words on the node: the step cannot run until an account is chosen.
    let needs_connection = {
        let id = id.clone();
        Memo::new(move |_| {
            editor.problems.with(|problems| {
                problems.iter().any(|p| {
                    p.node_id.as_deref() == Some(id.as_str())
                        && p.field.as_deref() == Some("config.connection")
                })
            })
        })
    };
    let live = {
        let id = id.clone();
        Memo::new(move |_| editor.live.with(|live| live.get(&id).cloned()))
    };
    let on_down = {
        let id = id.clone();
        move |event: ev::PointerEvent| {
            if event.button() != 0 {
                return;
            }
            event.stop_propagation();
            start_drag(id.clone(), event);
        }
    };
    let on_up = {
        let id = id.clone();
        move |_: ev::PointerEvent| finish_connect(id.clone())
    };
    // Keyboard users select with Enter or Space (Shift adds to the selection).
    let on_key = {
        let id = id.clone();
        move |event: ev::KeyboardEvent| {
            if event.key() != "Enter" && event.key() != " " {
                return;
            }
            event.prevent_default();
            if event.shift_key() {
                editor.toggle_selected(&id);
            } else {
                editor.select_only(&id);
            }
        }
    };
    move || {
        let Some(node) = node.get() else {
            return ().into_any();
        };
        let spec = editor.spec(&node.kind);
        let is_trigger = spec.as_ref().is_some_and(|s| s.is_trigger());
        let kind_label = spec
            .as_ref()
            .map(|s| s.label.clone())
            .unwrap_or_else(|| node.kind.clone());
        let ports = output_ports(&editor, &node);
        let count = ports.len();
        let (x, y) = (node.position.x, node.position.y);
        let title = if node.label.is_empty() {
            node.id.clone()
        } else {
            node.label.clone()
        };
        let status = live.get().map(|l| l.status).unwrap_or_default();
        let attempt = live.get().map(|l| l.attempt).unwrap_or(0);
        let errors = error_count.get();
        let unconnected = needs_connection.get();
        let port_views = ports
            .into_iter()
            .enumerate()
            .map(|(i, port)| {
                let py = port_y(i, count);
                let (source, name) = (node.id.clone(), port.clone());
                let begin = move |event: ev::PointerEvent| {
                    event.stop_propagation();
                    start_connect(source.clone(), name.clone(), (x + NODE_WIDTH, y + py));
                };
                let label = (count > 1 || port != "out").then(|| {
                    view! { <text class="port-label" x=NODE_WIDTH - 10.0 y=py + 4.0 text-anchor="end">{port.clone()}</text> }
                });
                view! {
                    <circle class="port port-out" class:port-error={port == "error"} cx=NODE_WIDTH cy=py r="7"
                        data-port=port.clone() on:pointerdown=begin>
                        <title>{format!("Drag to connect “{port}”")}</title>
                    </circle>
                    {label}
                }
            })
            .collect_view();
        let place = {
            let id = node.id.clone();
            move || {
                let (dx, dy) = editor.offset_of(&id);
                format!("translate({:.1},{:.1})", x + dx, y + dy)
            }
        };
        view! {
            <g
                class="node"
                class:selected=move || selected.get()
                class:invalid={errors > 0}
                class:diff-added={
                    let id = node.id.clone();
                    move || editor.diff.with(|d| d.added.contains(&id))
                }
                class:diff-changed={
                    let id = node.id.clone();
                    move || editor.diff.with(|d| d.changed.contains(&id))
                }
                transform=place
                data-testid="node"
                data-node-id=node.id.clone()
                data-kind=node.kind.clone()
                data-status=status.clone()
                tabindex="0"
                role="button"
                aria-label=format!("{title}, {kind_label}")
                aria-pressed=move || selected.get().to_string()
                on:pointerdown=on_down.clone()
                on:pointerup=on_up.clone()
                on:keydown=on_key.clone()
            >
                <rect class="node-box" width=NODE_WIDTH height=NODE_HEIGHT rx="10" />
                <rect class=format!("node-accent accent-{}", category_class(spec.as_ref().map(|s| s.category))) width="6" height=NODE_HEIGHT rx="3" />
                <text class="node-title" x="18" y="26">{truncate(&title, 22)}</text>
                <text class="node-kind" x="18" y="46">{truncate(&kind_label, 26)}</text>
                {(!is_trigger).then(|| view! { <circle class="port port-in" cx="0" cy=NODE_HEIGHT / 2.0 r="7" /> })}
                {port_views}
                {(errors > 0).then(|| view! {
                    <g class="node-problem" transform=format!("translate({},-8)", NODE_WIDTH - 24.0) data-testid="node-problem">
                        <circle r="10" cx="10" cy="10" />
                        <text x="10" y="14" text-anchor="middle">{errors}</text>
                        <title>{format!("{errors} problem(s)")}</title>
                    </g>
                })}
                {(unconnected && status.is_empty()).then(|| view! {
                    <text class="node-warning" x="4" y=NODE_HEIGHT + 16.0 data-testid="node-needs-connection">"Needs a connection"</text>
                })}
                {(!status.is_empty()).then(|| view! {
                    <text class="node-status" x="4" y="-8" data-testid="node-status">
                        {status_caption(&status, i64::from(attempt))}
                    </text>
                })}
            </g>
        }
        .into_any()
    }
}
