//! "Suggest next": for a node of a workflow, the steps likely to follow
//! it, ranked by how much of their input the steps before can fill (the
//! mapping each would get comes with it) and by what usually follows: a
//! list is looped over, a change is announced, an address is mailed.

use model::{WorkflowDefinition, ai::Suggestion};
use serde_json::{Value, json};

use crate::{
    catalog::{Catalog, applies_to},
    mapping::{Source, fill},
};

/// At most this many suggestions.
pub const MAX_SUGGESTIONS: usize = 8;

pub fn suggest_next(
    catalog: &Catalog,
    def: &WorkflowDefinition,
    node_id: &str,
) -> Option<Vec<Suggestion>> {
    let node = def.node(node_id)?;
    let sources = sources_before(catalog, def, node_id);
    let used: Vec<&str> = def.nodes.iter().map(|n| n.kind.as_str()).collect();
    let mut out: Vec<Suggestion> = Vec::new();
    let list_output = catalog
        .kind(&node.kind)
        .and_then(|s| s.output.iter().find(|f| f.ty == "array"))
        .map(|f| f.name.clone());
    if let Some(items) = &list_output {
        out.push(Suggestion {
            kind: "loop".into(),
            label: "For each".into(),
            score: 1.0,
            config: json!({ "items": format!("{{{{ steps.{node_id}.output.{items} }}}}") }),
            why: format!("goes through the {items} one by one"),
        });
    }
    for entry in catalog.actions.iter().filter(|a| !a.custom_call) {
        let spec = catalog.spec(entry.kind);
        if spec.kind == node.kind {
            continue;
        }
        let filled = fill(spec, "", &[], &[], &sources);
        let required: Vec<&str> = spec
            .fields
            .iter()
            .filter(|f| f.required && !matches!(f.ty, model::FieldType::Connection { .. }))
            .map(|f| f.name.as_str())
            .collect();
        let covered = required
            .iter()
            .filter(|f| filled.config.contains_key(**f))
            .count();
        let coverage = if required.is_empty() {
            0.5
        } else {
            covered as f32 / required.len() as f32
        };
        // What people usually do next: tell someone, mail someone, record it.
        let habit = match spec.kind.rsplit('.').next().unwrap_or_default() {
            "post_message" => 0.5,
            "send_email" | "add_member" => 0.35,
            "send_sms" | "create_issue" => 0.25,
            "http_request" => 0.15,
            name if name.starts_with("list") || name.starts_with("retrieve") => 0.05,
            _ => 0.1,
        };
        let repeat = if used.contains(&spec.kind.as_str()) {
            0.2
        } else {
            0.0
        };
        let score = (0.4 * coverage + habit - repeat).clamp(0.0, 1.0);
        if filled.mapped.is_empty() && coverage < 0.5 {
            continue;
        }
        let why = filled
            .described()
            .unwrap_or_else(|| "needs its fields filled in".to_owned());
        out.push(Suggestion {
            kind: spec.kind.clone(),
            label: spec.label.clone(),
            score,
            config: Value::Object(filled.config),
            why,
        });
    }
    for (kind, label, config, why, score) in [
        (
            "condition",
            "If",
            json!({}),
            "only go on when something holds",
            0.3,
        ),
        (
            "delay",
            "Wait",
            json!({"duration_ms": 3_600_000}),
            "wait before the next step",
            0.2,
        ),
    ] {
        out.push(Suggestion {
            kind: kind.into(),
            label: label.into(),
            score,
            config,
            why: why.into(),
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.kind.cmp(&b.kind)));
    out.truncate(MAX_SUGGESTIONS);
    Some(out)
}

/// What a step after `node_id` can read: the steps leading to it (nearest
/// first, the node itself included), then the trigger.
pub(crate) fn sources_before(
    catalog: &Catalog,
    def: &WorkflowDefinition,
    node_id: &str,
) -> Vec<Source> {
    let mut order = vec![node_id.to_owned()];
    let mut i = 0;
    while i < order.len() && order.len() <= def.nodes.len() {
        let current = order[i].clone();
        for edge in def.edges.iter().filter(|e| e.target == current) {
            if !order.contains(&edge.source) {
                order.push(edge.source.clone());
            }
        }
        i += 1;
    }
    let mut sources = Vec::new();
    for id in order {
        let Some(node) = def.node(&id) else { continue };
        let Some(spec) = catalog.kind(&node.kind) else {
            continue;
        };
        if spec.is_trigger() {
            let events: Vec<String> = node.config["events"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let output: Vec<_> = spec
                .output
                .iter()
                .filter(|f| f.name.starts_with("body.") && applies_to(f, &events))
                .collect();
            let provider = catalog
                .provider_of_kind(spec)
                .map_or("", |p| p.name.as_str());
            let webhook = node.kind == "webhook_trigger";
            sources.push(Source {
                prefix: if webhook { "trigger.body" } else { "trigger" }.into(),
                fields: output
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect(),
                headline: format!(
                    "{provider} {}",
                    events
                        .first()
                        .map_or(String::new(), |e| e.replace(['.', '_'], " "))
                )
                .trim()
                .to_owned(),
                open: webhook,
                described: output
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone(), f.description.clone()))
                    .collect(),
            });
        } else if !spec.output.is_empty() {
            sources.push(Source {
                prefix: format!("steps.{id}.output"),
                fields: spec
                    .output
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect(),
                headline: spec.label.clone(),
                open: false,
                described: Vec::new(),
            });
        }
    }
    // The trigger is read last: nearest steps first.
    sources.sort_by_key(|s| s.prefix.starts_with("trigger"));
    sources
}
