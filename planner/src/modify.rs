//! "Describe a change": an instruction about an existing workflow becomes
//! patch operations on its stable node ids. Removing, inserting a step
//! before or after another, setting a field, and adding steps (after the
//! last one, or as a new branch with "also"); what it cannot place is
//! reported. The operations are applied to a copy and checked by the same
//! validator as the editor.

use std::sync::LazyLock;

use model::{
    Node, Position, WorkflowDefinition,
    ai::{ConnectionRef, Modification, PlannerKind, is_left_for_user},
    patch::{PatchOp, apply},
};
use regex::Regex;
use serde_json::{Value, json};

use crate::{
    catalog::{Catalog, canon_words},
    draft,
    text::{LiteralKind, markers},
    understand::{Step, TriggerPlan, understand},
};

pub struct ModifyRequest<'a> {
    pub workflow: &'a WorkflowDefinition,
    pub instruction: &'a str,
    pub timezone: &'a str,
    pub connections: &'a [ConnectionRef],
}

pub fn modify(catalog: &Catalog, request: &ModifyRequest) -> Modification {
    let mut unknown = Vec::new();
    let operations = match plan_change(catalog, request, &mut unknown) {
        Ok(ops) => ops,
        Err(message) => {
            unknown.push(message);
            Vec::new()
        }
    };
    result(catalog, request.workflow, operations, unknown)
}

/// The answer for `operations` on `workflow`: the workflow they make and
/// what the validator says of it. Problems that were not there before
/// (and are not for the user to fill in) make it refused.
pub fn result(
    catalog: &Catalog,
    workflow: &WorkflowDefinition,
    operations: Vec<PatchOp>,
    unknown: Vec<String>,
) -> Modification {
    let errors = |def: &WorkflowDefinition| -> Vec<model::Problem> {
        model::validate(def, &catalog.catalogue)
            .into_iter()
            .filter(|p| p.severity == model::Severity::Error)
            .collect()
    };
    let before = errors(workflow);
    let (applied, refused) = match apply(workflow, &operations) {
        Ok(def) => (def, None),
        Err(e) => (
            workflow.clone(),
            Some(format!("operation {}: {}", e.index + 1, e.message)),
        ),
    };
    let problems = errors(&applied);
    let new_problems: Vec<model::Problem> = problems
        .iter()
        .filter(|p| !before.contains(p) && !is_left_for_user(p, &[]) && !is_missing_value(p))
        .cloned()
        .collect();
    Modification {
        planner: PlannerKind::Offline,
        explanation: operations.iter().map(PatchOp::describe).collect(),
        operations,
        workflow: applied,
        problems,
        new_problems,
        refused,
        unknown,
        fallback_reason: None,
    }
}

/// A required value not given yet: incomplete, not broken (activation
/// waits for it; the change is not refused for it).
fn is_missing_value(problem: &model::Problem) -> bool {
    problem.message.ends_with(" is required")
}

static REMOVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:please\s+)?(?:remove|delete|drop|get rid of|take out)\s+(?:the\s+)?(?P<what>.+?)(?:\s+(?:step|node|action|part))?$").expect("remove")
});
static AROUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:please\s+)?(?:put|add|insert|wait|pause)?\s*(?P<what>.+?)\s+(?P<where>before|after)\s+(?:the\s+|sending the\s+|we send the\s+)?(?P<anchor>[a-z0-9_ #§-]+?)(?:\s+(?:step|node|action|one))?$").expect("around")
});
static SET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:please\s+)?(?:change|set|use|make|switch)\s+(?:the\s+)?(?P<field>[a-z_ ]+?)(?:\s+(?:of|in|for)\s+(?:the\s+)?(?P<node>[a-z0-9_ ]+?))?\s+(?:to|=|into)\s+(?P<value>.+)$").expect("set")
});

fn plan_change(
    catalog: &Catalog,
    request: &ModifyRequest,
    unknown: &mut Vec<String>,
) -> Result<Vec<PatchOp>, String> {
    let def = request.workflow;
    let lifted = crate::text::lift(request.instruction.trim());
    let text = lifted.text.trim().trim_end_matches(['.', '!']).to_owned();
    let literal = |clause: &str| -> Option<Value> {
        markers(clause).first().map(|&i| {
            let l = &lifted.literals[i];
            match l.kind {
                LiteralKind::Phone => json!(l.value.replace([' ', '(', ')', '-', '.'], "")),
                _ => json!(l.value),
            }
        })
    };
    if let Some(c) = REMOVE.captures(&text) {
        let id = find_node(catalog, def, &c["what"])
            .ok_or_else(|| format!("no step matches “{}”", &c["what"]))?;
        return Ok(vec![PatchOp::RemoveNode { id }]);
    }
    if let Some(c) = SET.captures(&text) {
        let field = c["field"].trim().replace(' ', "_");
        let value = literal(&c["value"]).unwrap_or_else(|| json!(c["value"].trim()));
        let id = match c.name("node") {
            Some(node) => find_node(catalog, def, node.as_str()),
            None => def
                .nodes
                .iter()
                .find(|n| has_field(catalog, n, &field))
                .map(|n| n.id.clone()),
        }
        .ok_or_else(|| format!("no step has a field “{}”", c["field"].trim()))?;
        let node = def.node(&id).expect("found");
        let field = field_named(catalog, node, &field)
            .ok_or_else(|| format!("`{id}` has no field “{}”", c["field"].trim()))?;
        return Ok(vec![PatchOp::SetConfig { id, field, value }]);
    }
    if let Some(c) = AROUND.captures(&text)
        && let Some(anchor) = find_node(catalog, def, &c["anchor"])
    {
        let new = new_nodes(catalog, request, &lifted.restore(&c["what"]), unknown)?;
        let Some(first) = new.nodes.first() else {
            return Err(format!("nothing to add in “{}”", &c["what"]));
        };
        let mut ops: Vec<PatchOp> = Vec::new();
        if new.nodes.len() == 1 {
            let node = first.clone();
            let edge = if &c["where"] == "before" {
                def.edges.iter().find(|e| e.target == anchor)
            } else {
                def.edges.iter().find(|e| e.source == anchor)
            };
            match edge {
                Some(edge) => ops.push(PatchOp::InsertBetween {
                    source: edge.source.clone(),
                    source_port: edge.source_port.clone(),
                    target: edge.target.clone(),
                    node: between(def, &edge.source, &edge.target, node),
                }),
                None if &c["where"] == "after" => {
                    ops.push(PatchOp::AddNode { node: node.clone() });
                    ops.push(PatchOp::Connect {
                        source: anchor,
                        source_port: "out".into(),
                        target: node.id,
                    });
                }
                None => return Err(format!("nothing leads into `{anchor}` to insert before it")),
            }
            return Ok(ops);
        }
        return Err("insert one step at a time before or after another".into());
    }
    // Anything else adds steps: as a new branch from the trigger with
    // "also", else after the last step.
    let new = new_nodes(catalog, request, &lifted.restore(&text), unknown)?;
    if new.nodes.is_empty() {
        return Err(format!(
            "nothing to add in “{}”",
            request.instruction.trim()
        ));
    }
    let trigger = def
        .nodes
        .iter()
        .find(|n| catalog.kind(&n.kind).is_some_and(|s| s.is_trigger()))
        .map(|n| n.id.clone());
    let branch = text.starts_with("also ") || text.contains(" also ") || new.conditional;
    let attach = match (&trigger, branch) {
        (Some(trigger), true) => (trigger.clone(), "out".to_owned()),
        _ => (
            last_step(def).unwrap_or_else(|| trigger.clone().unwrap_or_default()),
            "out".to_owned(),
        ),
    };
    if attach.0.is_empty() {
        return Err("the workflow has no step to add after".into());
    }
    let mut ops: Vec<PatchOp> = new
        .nodes
        .into_iter()
        .map(|node| PatchOp::AddNode { node })
        .collect();
    for (source, port, target) in new.edges {
        let (source, port) = if source.is_empty() {
            attach.clone()
        } else {
            (source, port)
        };
        ops.push(PatchOp::Connect {
            source,
            source_port: port,
            target,
        });
    }
    Ok(ops)
}

struct NewPart {
    nodes: Vec<Node>,
    /// Edges; an empty source is the attachment point.
    edges: Vec<(String, String, String)>,
    conditional: bool,
}

/// The steps a phrase describes, built as a draft under the workflow's own
/// trigger and renamed so that no id clashes with the workflow's.
fn new_nodes(
    catalog: &Catalog,
    request: &ModifyRequest,
    phrase: &str,
    unknown: &mut Vec<String>,
) -> Result<NewPart, String> {
    // "a delay of 2 days" is a wait like any other.
    let phrase = phrase
        .replace("a delay of", "wait")
        .replace("a wait of", "wait")
        .replace("a pause of", "wait");
    let mut understanding = understand(catalog, &phrase);
    if matches!(understanding.trigger, TriggerPlan::Manual) {
        understanding.trigger = trigger_plan(catalog, request.workflow);
    }
    unknown.extend(
        understanding
            .unknown
            .iter()
            .map(|u| format!("{u}: no integration of that name")),
    );
    let conditional = understanding
        .steps
        .iter()
        .any(|s| matches!(s, Step::Condition { .. }));
    let built = draft::build(
        catalog,
        &understanding,
        "change",
        request.timezone,
        request.connections,
    );
    let trigger_id = "trigger";
    let taken: Vec<&str> = request
        .workflow
        .nodes
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    let mut renames: Vec<(String, String)> = Vec::new();
    for node in built.workflow.nodes.iter().filter(|n| n.id != trigger_id) {
        let mut id = node.id.clone();
        let mut n = 2;
        while taken.contains(&id.as_str()) || renames.iter().any(|(_, new)| *new == id) {
            id = format!("{}_{n}", node.id);
            n += 1;
        }
        renames.push((node.id.clone(), id));
    }
    let rename = |id: &str| {
        renames
            .iter()
            .find(|(old, _)| old == id)
            .map_or(id.to_owned(), |(_, new)| new.clone())
    };
    let anchor =
        request
            .workflow
            .nodes
            .iter()
            .map(|n| n.position)
            .fold(Position::default(), |a, p| Position {
                x: a.x.max(p.x),
                y: a.y.max(p.y),
            });
    let nodes = built
        .workflow
        .nodes
        .iter()
        .filter(|n| n.id != trigger_id)
        .map(|n| {
            let mut node = n.clone();
            node.id = rename(&n.id);
            // References to the new steps follow their new ids.
            let mut config = serde_json::to_string(&node.config).unwrap_or_default();
            for (old, new) in &renames {
                config = config.replace(&format!("steps.{old}."), &format!("steps.{new}."));
            }
            node.config = serde_json::from_str(&config).unwrap_or(node.config);
            node.position = model::layout::free_spot(
                request.workflow,
                Position {
                    x: anchor.x + n.position.x,
                    y: anchor.y + 120.0,
                },
            );
            node
        })
        .collect();
    let edges = built
        .workflow
        .edges
        .iter()
        .map(|e| {
            let source = if e.source == trigger_id {
                String::new()
            } else {
                rename(&e.source)
            };
            (source, e.source_port.clone(), rename(&e.target))
        })
        .collect();
    Ok(NewPart {
        nodes,
        edges,
        conditional,
    })
}

/// The workflow's trigger as the planner understands triggers.
fn trigger_plan(catalog: &Catalog, def: &WorkflowDefinition) -> TriggerPlan {
    let Some(node) = def
        .nodes
        .iter()
        .find(|n| catalog.kind(&n.kind).is_some_and(|s| s.is_trigger()))
    else {
        return TriggerPlan::Manual;
    };
    match node.kind.as_str() {
        "schedule_trigger" => TriggerPlan::Schedule {
            cron: node.config["cron"]
                .as_str()
                .unwrap_or("0 9 * * *")
                .to_owned(),
            phrase: String::new(),
            time_given: true,
        },
        "webhook_trigger" => TriggerPlan::Webhook {
            phrase: String::new(),
        },
        kind => match catalog
            .catalogue
            .kinds
            .iter()
            .position(|s| s.kind == kind && s.provider.is_some())
        {
            Some(index) => TriggerPlan::Provider {
                kind: index,
                events: node.config["events"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                phrase: String::new(),
                confidence: 1.0,
            },
            None => TriggerPlan::Manual,
        },
    }
}

/// The last step of the main chain: from the trigger, follow `out` edges.
fn last_step(def: &WorkflowDefinition) -> Option<String> {
    let mut current = def.nodes.first()?.id.clone();
    for _ in 0..def.nodes.len() {
        match def.edges.iter().find(|e| e.source == current) {
            Some(edge) => current = edge.target.clone(),
            None => break,
        }
    }
    Some(current)
}

/// The node a phrase names: its id, its label, its kind or its provider.
fn find_node(catalog: &Catalog, def: &WorkflowDefinition, phrase: &str) -> Option<String> {
    let phrase = phrase.trim();
    if let Some(node) = def.nodes.iter().find(|n| n.id == phrase.replace(' ', "_")) {
        return Some(node.id.clone());
    }
    let wanted = canon_words(phrase);
    let mut best: Option<(usize, &Node)> = None;
    for node in &def.nodes {
        let mut words = canon_words(&node.kind);
        words.extend(canon_words(&node.label));
        words.extend(canon_words(&node.id));
        if let Some(provider) = catalog
            .kind(&node.kind)
            .and_then(|s| catalog.provider_of_kind(s))
        {
            words.extend(canon_words(&provider.name));
            for synonym in &provider.synonyms {
                words.extend(canon_words(synonym));
            }
        }
        if node.kind == "delay" {
            words.extend(["wait", "delay", "pause"].map(str::to_owned));
        }
        if node.kind == "condition" {
            words.extend(["condition", "check", "if"].map(str::to_owned));
        }
        let hits = wanted.iter().filter(|w| words.contains(w)).count();
        if hits > 0 && best.is_none_or(|(h, _)| hits > h) {
            best = Some((hits, node));
        }
    }
    best.map(|(_, n)| n.id.clone())
}

fn has_field(catalog: &Catalog, node: &Node, field: &str) -> bool {
    field_named(catalog, node, field).is_some()
}

/// The kind's field a word names: `channel`, `list` → `list_id`, …
fn field_named(catalog: &Catalog, node: &Node, field: &str) -> Option<String> {
    let spec = catalog.kind(&node.kind)?;
    let field = field.trim_matches('_');
    spec.fields
        .iter()
        .find(|f| f.name == field || f.label.to_lowercase() == field.replace('_', " "))
        .or_else(|| {
            spec.fields.iter().find(|f| {
                f.name.starts_with(&format!("{field}_")) || f.name.ends_with(&format!("_{field}"))
            })
        })
        .map(|f| f.name.clone())
}

/// A node placed between two others on the canvas (below them when the
/// gap is too narrow), so an insertion shows where it goes.
fn between(
    def: &WorkflowDefinition,
    source: &str,
    target: &str,
    mut node: model::Node,
) -> model::Node {
    if let (Some(s), Some(t)) = (def.node(source), def.node(target)) {
        node.position = model::layout::free_spot(
            def,
            Position {
                x: (s.position.x + t.position.x) / 2.0,
                y: (s.position.y + t.position.y) / 2.0,
            },
        );
    }
    node
}
