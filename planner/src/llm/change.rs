//! A model's answer to a described change: patch operations, held to the
//! same allow-list as a draft (kinds of the catalogue, connections of the
//! account) and applied as the offline planner's are — all or nothing,
//! and refused when the result would be broken, which goes back for repair.

use model::{
    WorkflowDefinition,
    ai::{ConnectionRef, Modification, PlannerKind},
    patch::PatchOp,
};
use serde::Deserialize;

use super::reply::{allowed, described, parse};
use crate::{accounting::Accounting, catalog::Catalog, modify};

#[derive(Deserialize)]
struct ChangeReply {
    operations: Vec<PatchOp>,
    #[serde(default)]
    unknown: Vec<String>,
}

/// The change the reply makes to `workflow`, or what is wrong with it.
pub fn check_change(
    catalog: &Catalog,
    connections: &[ConnectionRef],
    workflow: &WorkflowDefinition,
    text: &str,
) -> Result<Modification, Vec<String>> {
    let mut reply: ChangeReply = parse(text)?;
    if reply.operations.is_empty() && reply.unknown.is_empty() {
        return Err(vec![
            "`operations` is empty: give the operations, or say in `unknown` what cannot be done"
                .into(),
        ]);
    }
    let mut problems = Vec::new();
    for op in &mut reply.operations {
        match op {
            PatchOp::AddNode { node } | PatchOp::InsertBetween { node, .. } => {
                allowed(
                    catalog,
                    connections,
                    &node.id,
                    &node.kind,
                    Some(&node.config),
                    &mut problems,
                );
                // A new step acts as the account's connection, if it has one.
                Accounting::default().node(
                    catalog,
                    connections,
                    &node.id,
                    &node.kind,
                    &mut node.config,
                );
            }
            PatchOp::SetConfig { id, field, value } => {
                if let Some(node) = workflow.node(id) {
                    let config = serde_json::json!({ field.as_str(): value.clone() });
                    allowed(
                        catalog,
                        connections,
                        id,
                        &node.kind,
                        Some(&config),
                        &mut problems,
                    );
                }
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut answer = modify::result(catalog, workflow, reply.operations, reply.unknown);
    if let Some(refused) = &answer.refused {
        return Err(vec![format!("the operations do not apply: {refused}")]);
    }
    if !answer.new_problems.is_empty() {
        return Err(answer.new_problems.iter().map(described).collect());
    }
    answer.planner = PlannerKind::Llm;
    Ok(answer)
}
