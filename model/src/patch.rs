//! Typed changes to a workflow on stable node ids, as the AI builder
//! proposes them and the editor shows them: add or remove a node, set a
//! config field, connect, disconnect, and insert a node between two
//! connected ones (which rewires the old edge, so no stale direct edge is
//! left). Applying is all or nothing; the validator checks the result.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Edge, Node, WorkflowDefinition, definition::DEFAULT_PORT};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PatchOp {
    AddNode {
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        node: Node,
    },
    /// Removes the node and its edges; what led into it is connected to
    /// what came after it, so a chain stays a chain.
    RemoveNode { id: String },
    /// Sets one field of the node's config (`null` removes it).
    SetConfig {
        id: String,
        field: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        value: Value,
    },
    Connect {
        source: String,
        #[serde(default = "default_port")]
        source_port: String,
        target: String,
    },
    Disconnect {
        source: String,
        #[serde(default = "default_port")]
        source_port: String,
        target: String,
    },
    /// `source → target` becomes `source → node → target`.
    InsertBetween {
        source: String,
        #[serde(default = "default_port")]
        source_port: String,
        target: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        node: Node,
    },
}

fn default_port() -> String {
    DEFAULT_PORT.to_owned()
}

/// Why a patch could not be applied: the operation and what is wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchError {
    /// The position of the operation in the patch.
    pub index: usize,
    pub message: String,
}

impl PatchOp {
    /// A line for people: "add node `delay`", "connect trigger → email".
    pub fn describe(&self) -> String {
        match self {
            PatchOp::AddNode { node } => format!("add {} `{}`", node.kind, node.id),
            PatchOp::RemoveNode { id } => format!("remove `{id}`"),
            PatchOp::SetConfig { id, field, value } => format!("set `{id}`.{field} to {value}"),
            PatchOp::Connect {
                source,
                source_port,
                target,
            } => {
                format!("connect `{source}` ({source_port}) → `{target}`")
            }
            PatchOp::Disconnect {
                source,
                source_port,
                target,
            } => {
                format!("disconnect `{source}` ({source_port}) → `{target}`")
            }
            PatchOp::InsertBetween {
                source,
                target,
                node,
                ..
            } => {
                format!(
                    "insert {} `{}` between `{source}` and `{target}`",
                    node.kind, node.id
                )
            }
        }
    }
}

/// Applies `ops` in order to a copy of `def`; the first that cannot apply
/// refuses the whole patch.
pub fn apply(def: &WorkflowDefinition, ops: &[PatchOp]) -> Result<WorkflowDefinition, PatchError> {
    let mut out = def.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_one(&mut out, op).map_err(|message| PatchError { index, message })?;
    }
    Ok(out)
}

fn apply_one(def: &mut WorkflowDefinition, op: &PatchOp) -> Result<(), String> {
    let exists = |def: &WorkflowDefinition, id: &str| def.nodes.iter().any(|n| n.id == id);
    let need = |def: &WorkflowDefinition, id: &str| {
        if exists(def, id) {
            Ok(())
        } else {
            Err(format!("there is no node `{id}`"))
        }
    };
    match op {
        PatchOp::AddNode { node } => {
            if exists(def, &node.id) {
                return Err(format!("a node `{}` exists already", node.id));
            }
            def.nodes.push(node.clone());
        }
        PatchOp::RemoveNode { id } => {
            need(def, id)?;
            let incoming: Vec<(String, String)> = def
                .edges
                .iter()
                .filter(|e| &e.target == id)
                .map(|e| (e.source.clone(), e.source_port.clone()))
                .collect();
            let outgoing: Vec<String> = def
                .edges
                .iter()
                .filter(|e| &e.source == id)
                .map(|e| e.target.clone())
                .collect();
            def.nodes.retain(|n| &n.id != id);
            def.edges.retain(|e| &e.source != id && &e.target != id);
            for (source, port) in &incoming {
                for target in &outgoing {
                    add_edge(def, source, port, target);
                }
            }
        }
        PatchOp::SetConfig { id, field, value } => {
            need(def, id)?;
            if field.is_empty() {
                return Err("the field name is empty".into());
            }
            let node = def.nodes.iter_mut().find(|n| &n.id == id).expect("checked");
            if !node.config.is_object() {
                node.config = Value::Object(Default::default());
            }
            let config = node.config.as_object_mut().expect("an object");
            if value.is_null() {
                config.remove(field);
            } else {
                config.insert(field.clone(), value.clone());
            }
        }
        PatchOp::Connect {
            source,
            source_port,
            target,
        } => {
            need(def, source)?;
            need(def, target)?;
            if !add_edge(def, source, source_port, target) {
                return Err(format!(
                    "`{source}` ({source_port}) is already connected to `{target}`"
                ));
            }
        }
        PatchOp::Disconnect {
            source,
            source_port,
            target,
        } => {
            let before = def.edges.len();
            def.edges
                .retain(|e| !is_edge(e, source, source_port, target));
            if def.edges.len() == before {
                return Err(format!(
                    "`{source}` ({source_port}) is not connected to `{target}`"
                ));
            }
        }
        PatchOp::InsertBetween {
            source,
            source_port,
            target,
            node,
        } => {
            let before = def.edges.len();
            def.edges
                .retain(|e| !is_edge(e, source, source_port, target));
            if def.edges.len() == before {
                return Err(format!(
                    "`{source}` ({source_port}) is not connected to `{target}`"
                ));
            }
            if exists(def, &node.id) {
                return Err(format!("a node `{}` exists already", node.id));
            }
            def.nodes.push(node.clone());
            add_edge(def, source, source_port, &node.id);
            add_edge(def, &node.id, DEFAULT_PORT, target);
        }
    }
    Ok(())
}

fn is_edge(edge: &Edge, source: &str, port: &str, target: &str) -> bool {
    edge.source == source && edge.source_port == port && edge.target == target
}

/// Adds an edge unless it is there already; says whether it added one.
fn add_edge(def: &mut WorkflowDefinition, source: &str, port: &str, target: &str) -> bool {
    if def.edges.iter().any(|e| is_edge(e, source, port, target)) {
        return false;
    }
    def.edges.push(Edge {
        source: source.to_owned(),
        source_port: port.to_owned(),
        target: target.to_owned(),
    });
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chain() -> WorkflowDefinition {
        serde_json::from_value(json!({
            "name": "w",
            "nodes": [
                {"id": "trigger", "kind": "manual_trigger"},
                {"id": "mail", "kind": "smtp.send_email"},
                {"id": "slack", "kind": "slack.post_message", "config": {"channel": "#a"}}
            ],
            "edges": [
                {"source": "trigger", "target": "mail"},
                {"source": "mail", "target": "slack"}
            ]
        }))
        .unwrap()
    }

    fn node(id: &str, kind: &str) -> Node {
        serde_json::from_value(json!({"id": id, "kind": kind})).unwrap()
    }

    fn edges(def: &WorkflowDefinition) -> Vec<(String, String)> {
        def.edges
            .iter()
            .map(|e| (e.source.clone(), e.target.clone()))
            .collect()
    }

    #[test]
    fn insert_between_rewires_the_old_edge() {
        let out = apply(
            &chain(),
            &[PatchOp::InsertBetween {
                source: "trigger".into(),
                source_port: "out".into(),
                target: "mail".into(),
                node: node("wait", "delay"),
            }],
        )
        .unwrap();
        let edges = edges(&out);
        assert!(
            !edges.contains(&("trigger".into(), "mail".into())),
            "no stale direct edge"
        );
        assert!(edges.contains(&("trigger".into(), "wait".into())));
        assert!(edges.contains(&("wait".into(), "mail".into())));
    }

    #[test]
    fn removing_a_middle_node_keeps_the_chain() {
        let out = apply(&chain(), &[PatchOp::RemoveNode { id: "mail".into() }]).unwrap();
        assert_eq!(
            edges(&out),
            vec![("trigger".to_owned(), "slack".to_owned())]
        );
        assert_eq!(out.nodes.len(), 2);
    }

    #[test]
    fn set_config_connect_and_disconnect() {
        let out = apply(
            &chain(),
            &[
                PatchOp::SetConfig {
                    id: "slack".into(),
                    field: "channel".into(),
                    value: json!("#b"),
                },
                PatchOp::Disconnect {
                    source: "mail".into(),
                    source_port: "out".into(),
                    target: "slack".into(),
                },
                PatchOp::Connect {
                    source: "trigger".into(),
                    source_port: "out".into(),
                    target: "slack".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(out.node("slack").unwrap().config["channel"], "#b");
        assert_eq!(
            edges(&out),
            vec![
                ("trigger".to_owned(), "mail".to_owned()),
                ("trigger".to_owned(), "slack".to_owned())
            ]
        );
    }

    #[test]
    fn a_failing_operation_refuses_the_whole_patch() {
        let def = chain();
        let error = apply(
            &def,
            &[
                PatchOp::RemoveNode { id: "slack".into() },
                PatchOp::Connect {
                    source: "mail".into(),
                    source_port: "out".into(),
                    target: "nowhere".into(),
                },
            ],
        )
        .unwrap_err();
        assert_eq!(error.index, 1);
        assert!(error.message.contains("nowhere"));
        assert_eq!(def, chain(), "the original is untouched");
        assert!(
            apply(
                &def,
                &[PatchOp::AddNode {
                    node: node("mail", "delay")
                }]
            )
            .is_err()
        );
        assert!(
            apply(
                &def,
                &[PatchOp::InsertBetween {
                    source: "trigger".into(),
                    source_port: "out".into(),
                    target: "slack".into(),
                    node: node("x", "delay")
                }]
            )
            .is_err(),
            "insert needs an existing edge"
        );
    }
}
