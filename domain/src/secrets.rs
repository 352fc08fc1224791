//! Secrets written into workflows (webhook signing secrets, inline
//! credentials) are stored sealed, shown masked, and kept when a client
//! sends the mask back unchanged.

use model::{Catalogue, WorkflowDefinition};
use serde_json::Value;

use crate::{DomainError, FieldProblem, vault::Vault};

/// What clients see instead of a stored secret.
pub const MASK: &str = "••••••";
const SEALED: &str = "sealed:v1:";

fn secret_pointers(definition: &WorkflowDefinition, catalogue: &Catalogue) -> Vec<(usize, String)> {
    definition
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| {
            catalogue
                .get(&node.kind)
                .map(|spec| spec.secret_paths())
                .unwrap_or_default()
                .into_iter()
                .map(move |path| {
                    (
                        n,
                        path.iter()
                            .map(|part| format!("/{part}"))
                            .collect::<String>(),
                    )
                })
        })
        .collect()
}

/// Seals every secret in `definition`. A masked value keeps the secret of
/// the same node in `previous`.
pub fn seal(
    definition: &mut WorkflowDefinition,
    previous: Option<&WorkflowDefinition>,
    catalogue: &Catalogue,
    vault: &Vault,
) -> Result<(), DomainError> {
    for (n, pointer) in secret_pointers(definition, catalogue) {
        let node_id = definition.nodes[n].id.clone();
        let Some(Value::String(text)) = definition.nodes[n].config.pointer_mut(&pointer) else {
            continue;
        };
        if text.starts_with(SEALED) || text.is_empty() || text.contains("{{") {
            continue;
        }
        if text == MASK {
            let kept = previous
                .and_then(|p| p.node(&node_id))
                .and_then(|node| node.config.pointer(&pointer))
                .and_then(Value::as_str)
                .filter(|old| old.starts_with(SEALED));
            match kept {
                Some(old) => *text = old.to_owned(),
                None => {
                    let field = format!("nodes.{node_id}.config{}", pointer.replace('/', "."));
                    let message = "enter the secret: there is no saved one to keep";
                    return Err(DomainError::Invalid {
                        message: message.into(),
                        fields: vec![FieldProblem {
                            field,
                            message: message.into(),
                            node_id: Some(node_id),
                        }],
                    });
                }
            }
            continue;
        }
        *text = format!("{SEALED}{}", vault.seal(text.as_bytes())?);
    }
    Ok(())
}

/// Replaces sealed secrets with the mask, for showing.
pub fn mask(definition: &mut WorkflowDefinition, catalogue: &Catalogue) {
    for (n, pointer) in secret_pointers(definition, catalogue) {
        if let Some(Value::String(text)) = definition.nodes[n].config.pointer_mut(&pointer)
            && text.starts_with(SEALED)
        {
            *text = MASK.to_owned();
        }
    }
}

/// The plain text of a sealed secret; other text as it is.
pub fn unseal(text: &str, vault: &Vault) -> Result<String, DomainError> {
    match text.strip_prefix(SEALED) {
        Some(sealed) => String::from_utf8(vault.open(sealed)?)
            .map_err(|_| DomainError::Internal("a sealed secret is not text".into())),
        None => Ok(text.to_owned()),
    }
}
