//! The editor's state: the document being edited, what is selected, the
//! view of the canvas, undo and redo, and the live state of a run. Every
//! change to the document goes through `change` so that it can be undone.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use leptos::prelude::*;
use model::{Catalogue, Edge, KindSpec, Node, Position, Problem, WorkflowDefinition};

/// Undo steps kept.
const HISTORY: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub zoom: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            x: 0.0,
            y: 0.0,
            zoom: 1.0,
        }
    }
}

/// Low enough for "fit to view" to show a graph of several hundred nodes.
pub const MIN_ZOOM: f64 = 0.05;
pub const MAX_ZOOM: f64 = 2.5;

/// A step's state during a run shown on the canvas.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveStep {
    pub status: String,
    pub attempt: u32,
}

/// Nodes being dragged and how far, in graph units. Kept beside the
/// document until the drop: a drag then moves only what is drawn, instead
/// of changing (and validating) the whole document on every pointer move.
#[derive(Clone, Debug, PartialEq)]
pub struct Moving {
    pub nodes: Arc<HashSet<String>>,
    pub dx: f64,
    pub dy: f64,
}

/// What a proposed change does to the document, node by node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    pub added: HashSet<String>,
    pub changed: HashSet<String>,
    /// Drawn as ghosts where they were.
    pub removed: Vec<Node>,
}

impl Diff {
    pub fn between(before: &WorkflowDefinition, after: &WorkflowDefinition) -> Diff {
        let mut diff = Diff::default();
        for node in &after.nodes {
            match before.node(&node.id) {
                None => {
                    diff.added.insert(node.id.clone());
                }
                Some(old)
                    if old.kind != node.kind
                        || old.config != node.config
                        || old.label != node.label =>
                {
                    diff.changed.insert(node.id.clone());
                }
                Some(_) => {}
            }
        }
        diff.removed = before
            .nodes
            .iter()
            .filter(|n| after.node(&n.id).is_none())
            .cloned()
            .collect();
        diff
    }
}

#[derive(Clone, Copy)]
pub struct Editor {
    pub id: StoredValue<String>,
    pub doc: RwSignal<WorkflowDefinition>,
    /// The document as last saved: unsaved changes are the difference.
    pub saved: RwSignal<WorkflowDefinition>,
    pub version: RwSignal<i32>,
    pub status: RwSignal<String>,
    /// Where requests start the workflow, once a webhook trigger is saved.
    pub webhook_url: RwSignal<Option<String>>,
    pub selected: RwSignal<Vec<String>>,
    pub selected_edge: RwSignal<Option<usize>>,
    pub view: RwSignal<Viewport>,
    pub moving: RwSignal<Option<Moving>>,
    pub catalogue: StoredValue<Arc<Catalogue>>,
    pub problems: Memo<Vec<Problem>>,
    pub live: RwSignal<HashMap<String, LiveStep>>,
    /// A proposed change, drawn on the canvas until applied or discarded.
    pub diff: RwSignal<Diff>,
    undo: StoredValue<Vec<WorkflowDefinition>>,
    redo: StoredValue<Vec<WorkflowDefinition>>,
    clipboard: StoredValue<Option<(Vec<Node>, Vec<Edge>)>>,
    /// The field typed into last: typing on in it is one undo step.
    last_edit: StoredValue<Option<String>>,
    pub can_undo: RwSignal<bool>,
    pub can_redo: RwSignal<bool>,
}

impl Editor {
    pub fn new(
        id: String,
        definition: WorkflowDefinition,
        version: i32,
        status: String,
        webhook_url: Option<String>,
        catalogue: Catalogue,
    ) -> Editor {
        let catalogue = Arc::new(catalogue);
        let doc = RwSignal::new(definition.clone());
        let problems = {
            let catalogue = catalogue.clone();
            Memo::new(move |_| doc.with(|d| model::validate(d, &catalogue)))
        };
        Editor {
            id: StoredValue::new(id),
            doc,
            saved: RwSignal::new(definition),
            version: RwSignal::new(version),
            status: RwSignal::new(status),
            webhook_url: RwSignal::new(webhook_url),
            selected: RwSignal::new(Vec::new()),
            selected_edge: RwSignal::new(None),
            view: RwSignal::new(Viewport::default()),
            moving: RwSignal::new(None),
            catalogue: StoredValue::new(catalogue),
            problems,
            live: RwSignal::new(HashMap::new()),
            diff: RwSignal::new(Diff::default()),
            undo: StoredValue::new(Vec::new()),
            redo: StoredValue::new(Vec::new()),
            clipboard: StoredValue::new(None),
            last_edit: StoredValue::new(None),
            can_undo: RwSignal::new(false),
            can_redo: RwSignal::new(false),
        }
    }

    pub fn spec(&self, kind: &str) -> Option<KindSpec> {
        self.catalogue.with_value(|c| c.get(kind).cloned())
    }

    pub fn is_dirty(&self) -> bool {
        self.doc.with(|doc| self.saved.with(|saved| doc != saved))
    }

    /// How far node `id` is drawn from its place in the document (a drag
    /// in progress).
    pub fn offset_of(&self, id: &str) -> (f64, f64) {
        self.moving.with(|moving| match moving {
            Some(m) if m.nodes.contains(id) => (m.dx, m.dy),
            _ => (0.0, 0.0),
        })
    }

    /// Ends a drag: the dragged nodes move in the document, as one undo step.
    pub fn finish_move(&self) {
        let Some(Moving { nodes, dx, dy }) = self.moving.get_untracked() else {
            return;
        };
        self.change(|d| {
            for node in d.nodes.iter_mut().filter(|n| nodes.contains(&n.id)) {
                node.position.x += dx;
                node.position.y += dy;
            }
        });
        self.moving.set(None);
    }

    /// Remembers the document as it is, so the next changes can be undone.
    pub fn checkpoint(&self) {
        let current = self.doc.get_untracked();
        self.undo.update_value(|undo| {
            undo.push(current);
            if undo.len() > HISTORY {
                undo.remove(0);
            }
        });
        self.redo.update_value(Vec::clear);
        self.last_edit.set_value(None);
        self.can_undo.set(true);
        self.can_redo.set(false);
    }

    /// Applies one undoable change to the document.
    pub fn change(&self, apply: impl FnOnce(&mut WorkflowDefinition)) {
        self.checkpoint();
        self.doc.update(apply);
    }

    /// A change to the field `key`: successive edits of one field (typing)
    /// make one undo step.
    pub fn edit(&self, key: &str, apply: impl FnOnce(&mut WorkflowDefinition)) {
        if self
            .last_edit
            .with_value(|last| last.as_deref() != Some(key))
        {
            self.checkpoint();
            self.last_edit.set_value(Some(key.to_owned()));
        }
        self.doc.update(apply);
    }

    pub fn undo(&self) {
        self.travel(self.undo, self.redo);
    }

    pub fn redo(&self) {
        self.travel(self.redo, self.undo);
    }

    fn travel(
        &self,
        from: StoredValue<Vec<WorkflowDefinition>>,
        to: StoredValue<Vec<WorkflowDefinition>>,
    ) {
        let Some(previous) = from.try_update_value(Vec::pop).flatten() else {
            return;
        };
        let current = self.doc.get_untracked();
        to.update_value(|stack| stack.push(current));
        self.doc.set(previous);
        self.last_edit.set_value(None);
        self.forget_missing_selection();
        self.can_undo.set(self.undo.with_value(|s| !s.is_empty()));
        self.can_redo.set(self.redo.with_value(|s| !s.is_empty()));
    }

    fn forget_missing_selection(&self) {
        let ids: Vec<String> = self
            .doc
            .with_untracked(|d| d.nodes.iter().map(|n| n.id.clone()).collect());
        self.selected
            .update(|selected| selected.retain(|id| ids.contains(id)));
        self.selected_edge.set(None);
    }

    pub fn select_only(&self, id: &str) {
        self.selected.set(vec![id.to_owned()]);
        self.selected_edge.set(None);
    }

    pub fn toggle_selected(&self, id: &str) {
        self.selected.update(|selected| {
            if let Some(at) = selected.iter().position(|s| s == id) {
                selected.remove(at);
            } else {
                selected.push(id.to_owned());
            }
        });
        self.selected_edge.set(None);
    }

    pub fn is_selected(&self, id: &str) -> bool {
        self.selected.with(|s| s.iter().any(|x| x == id))
    }

    /// Adds a node of `kind` at `position` and selects it.
    pub fn add_node(&self, kind: &str, position: Position) {
        let Some(spec) = self.spec(kind) else { return };
        let id = self.doc.with_untracked(|d| fresh_id(d, base_id(kind)));
        let config = default_config(&spec);
        let node = Node {
            id: id.clone(),
            kind: kind.to_owned(),
            label: spec.label.clone(),
            position,
            config,
            retry: None,
            on_error: None,
        };
        self.change(|d| d.nodes.push(node));
        self.select_only(&id);
    }

    /// Connects `source`'s `port` to `target`, unless that edge exists or
    /// would connect a node to itself.
    pub fn connect(&self, source: &str, port: &str, target: &str) {
        if source == target {
            return;
        }
        let exists = self.doc.with_untracked(|d| {
            d.edges
                .iter()
                .any(|e| e.source == source && e.source_port == port && e.target == target)
        });
        if exists {
            return;
        }
        self.change(|d| {
            d.edges.push(Edge {
                source: source.to_owned(),
                source_port: port.to_owned(),
                target: target.to_owned(),
            })
        });
    }

    /// Deletes the selected nodes (with their edges) or the selected edge.
    /// Moves the selected nodes by (dx, dy); a run of nudges is one undo
    /// step, like typing in a field.
    pub fn nudge(&self, dx: f64, dy: f64) {
        let selected = self.selected.get_untracked();
        if selected.is_empty() {
            return;
        }
        self.edit(&format!("nudge:{}", selected.join(",")), |d| {
            for node in d.nodes.iter_mut().filter(|n| selected.contains(&n.id)) {
                node.position.x += dx;
                node.position.y += dy;
            }
        });
    }

    pub fn delete_selection(&self) {
        let nodes = self.selected.get_untracked();
        if !nodes.is_empty() {
            self.change(|d| {
                d.nodes.retain(|n| !nodes.contains(&n.id));
                d.edges
                    .retain(|e| !nodes.contains(&e.source) && !nodes.contains(&e.target));
            });
            self.selected.set(Vec::new());
        } else if let Some(edge) = self.selected_edge.get_untracked() {
            self.change(|d| {
                if edge < d.edges.len() {
                    d.edges.remove(edge);
                }
            });
            self.selected_edge.set(None);
        }
    }

    pub fn copy_selection(&self) {
        let selected = self.selected.get_untracked();
        if selected.is_empty() {
            return;
        }
        let copied = self.doc.with_untracked(|d| {
            let nodes: Vec<Node> = d
                .nodes
                .iter()
                .filter(|n| selected.contains(&n.id))
                .cloned()
                .collect();
            let edges: Vec<Edge> = d
                .edges
                .iter()
                .filter(|e| selected.contains(&e.source) && selected.contains(&e.target))
                .cloned()
                .collect();
            (nodes, edges)
        });
        self.clipboard.set_value(Some(copied));
    }

    /// Adds copies of the copied nodes, offset, with new ids, and selects them.
    pub fn paste(&self) {
        let Some((nodes, edges)) = self.clipboard.get_value() else {
            return;
        };
        let mut renamed: HashMap<String, String> = HashMap::new();
        let mut copies = Vec::new();
        self.doc.with_untracked(|d| {
            let mut taken = d.clone();
            for node in &nodes {
                let id = fresh_id(&taken, base_id(&node.kind));
                let mut copy = node.clone();
                copy.id = id.clone();
                copy.position = Position {
                    x: node.position.x + 40.0,
                    y: node.position.y + 40.0,
                };
                renamed.insert(node.id.clone(), id);
                taken.nodes.push(copy.clone());
                copies.push(copy);
            }
        });
        let new_edges: Vec<Edge> = edges
            .iter()
            .map(|e| Edge {
                source: renamed[&e.source].clone(),
                source_port: e.source_port.clone(),
                target: renamed[&e.target].clone(),
            })
            .collect();
        let ids: Vec<String> = copies.iter().map(|n| n.id.clone()).collect();
        self.change(|d| {
            d.nodes.extend(copies);
            d.edges.extend(new_edges);
        });
        self.selected.set(ids);
    }

    /// Lays out the whole graph left to right.
    pub fn auto_layout(&self) {
        let positions = self.doc.with_untracked(model::layout::layered);
        self.change(|d| {
            for node in &mut d.nodes {
                if let Some(position) = positions.get(&node.id) {
                    node.position = position.clone();
                }
            }
        });
    }

    /// Zooms and pans so the whole graph fits a `width` × `height` canvas.
    pub fn fit(&self, width: f64, height: f64) {
        if width < 100.0 || height < 100.0 {
            return; // not laid out yet
        }
        let bounds = self.doc.with_untracked(|d| bounds(&d.nodes));
        let Some((left, top, right, bottom)) = bounds else {
            self.view.set(Viewport::default());
            return;
        };
        let margin = 40.0;
        let zoom = ((width - 2.0 * margin) / (right - left))
            .min((height - 2.0 * margin) / (bottom - top))
            .clamp(MIN_ZOOM, 1.0);
        self.view.set(Viewport {
            x: (width - (right - left) * zoom) / 2.0 - left * zoom,
            y: (height - (bottom - top) * zoom) / 2.0 - top * zoom,
            zoom,
        });
    }

    /// Zooms by `factor` keeping the canvas point (`cx`, `cy`) in place.
    pub fn zoom_at(&self, factor: f64, cx: f64, cy: f64) {
        self.view.update(|v| {
            let zoom = (v.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
            let applied = zoom / v.zoom;
            v.x = cx - (cx - v.x) * applied;
            v.y = cy - (cy - v.y) * applied;
            v.zoom = zoom;
        });
    }
}

/// The extent of the nodes: left, top, right, bottom.
pub fn bounds(nodes: &[Node]) -> Option<(f64, f64, f64, f64)> {
    use model::layout::{NODE_HEIGHT, NODE_WIDTH};
    nodes.iter().fold(None, |acc, n| {
        let (l, t, r, b) = (
            n.position.x,
            n.position.y,
            n.position.x + NODE_WIDTH,
            n.position.y + NODE_HEIGHT,
        );
        Some(match acc {
            None => (l, t, r, b),
            Some((al, at, ar, ab)) => (al.min(l), at.min(t), ar.max(r), ab.max(b)),
        })
    })
}

/// `slack.post_message` → `post_message`: ids are identifiers.
fn base_id(kind: &str) -> &str {
    match kind.split_once('.') {
        // `stripe.trigger` is the Stripe trigger; `stripe.create_customer` an action.
        Some((provider, "trigger")) => provider,
        Some((_, action)) => action,
        None => kind.trim_end_matches("_trigger"),
    }
}

/// `base`, or `base_2`, `base_3`, … whichever is free.
pub fn fresh_id(doc: &WorkflowDefinition, base: &str) -> String {
    let taken = |id: &str| doc.nodes.iter().any(|n| n.id == id);
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|id| !taken(id))
        .unwrap_or_default()
}

/// A new node's config: every field's default.
fn default_config(spec: &KindSpec) -> serde_json::Value {
    let mut config = serde_json::Map::new();
    for field in &spec.fields {
        if let Some(default) = &field.default {
            config.insert(field.name.clone(), default.clone());
        }
    }
    serde_json::Value::Object(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(ids: &[&str]) -> WorkflowDefinition {
        serde_json::from_value(serde_json::json!({
            "name": "t",
            "nodes": ids.iter().map(|id| serde_json::json!({"id": id, "kind": "transform"})).collect::<Vec<_>>(),
            "edges": []
        }))
        .unwrap()
    }

    #[test]
    fn new_ids_do_not_collide() {
        assert_eq!(fresh_id(&doc(&[]), "http_request"), "http_request");
        assert_eq!(
            fresh_id(&doc(&["transform", "transform_2"]), "transform"),
            "transform_3"
        );
        assert_eq!(base_id("slack.post_message"), "post_message");
        assert_eq!(base_id("manual_trigger"), "manual");
        assert_eq!(base_id("stripe.trigger"), "stripe");
    }

    #[test]
    fn bounds_cover_every_node() {
        let mut d = doc(&["a", "b"]);
        d.nodes[1].position = Position { x: 300.0, y: -50.0 };
        let (l, t, r, b) = bounds(&d.nodes).unwrap();
        assert_eq!((l, t), (0.0, -50.0));
        assert_eq!(r, 300.0 + model::layout::NODE_WIDTH);
        assert_eq!(b, model::layout::NODE_HEIGHT);
    }
}
