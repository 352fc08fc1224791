//! Secrets written into workflows (webhook signing secrets, inline
//! credentials) are stored sealed, shown masked, and kept when a client
//! sends the mask back unchanged.
//!
//! A sealed value (`sealed:v2:…`) is bound to its workflow, node and field
//! (the AES-GCM associated data), so a value copied from elsewhere does not
//! open. Clients never see sealed text and may not send any: only the mask
//! or the secret itself. `sealed:v1:…` values, stored before the binding,
//! still open, and are bound when their workflow is next saved.

use engine::credentials::SecretSlot;
use model::{Catalogue, WorkflowDefinition};
use serde_json::Value;
use uuid::Uuid;

use crate::{DomainError, FieldProblem, vault::Vault};

/// What clients see instead of a stored secret.
pub const MASK: &str = "••••••";
/// Any sealed value, whatever its version.
const SEALED: &str = "sealed:";
/// Unbound, as sealed before values were bound to their place.
const SEALED_V1: &str = "sealed:v1:";
/// Bound to its workflow, node and field.
const SEALED_V2: &str = "sealed:v2:";

/// `(node index, JSON pointer)` of every secret field in `definition`.
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

/// The associated data of a slot; JSON, so that no two slots share it.
fn bound_to(slot: SecretSlot<'_>) -> Vec<u8> {
    serde_json::to_vec(&[
        "switchyard workflow secret",
        slot.workflow_id,
        slot.node_id,
        slot.pointer,
    ])
    .unwrap_or_default()
}

fn seal_at(text: &str, slot: SecretSlot<'_>, vault: &Vault) -> Result<String, DomainError> {
    Ok(format!(
        "{SEALED_V2}{}",
        vault.seal_bound(text.as_bytes(), &bound_to(slot))?
    ))
}

fn field_problem(node_id: &str, pointer: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        message: message.into(),
        fields: vec![FieldProblem {
            field: format!("nodes.{node_id}.config{}", pointer.replace('/', ".")),
            message: message.into(),
            node_id: Some(node_id.to_owned()),
        }],
    }
}

/// Seals every secret in `definition`, the workflow `workflow_id`. A
/// masked value keeps the secret of the same node in `previous`; sealed
/// text sent by a client is refused.
pub fn seal(
    definition: &mut WorkflowDefinition,
    previous: Option<&WorkflowDefinition>,
    catalogue: &Catalogue,
    vault: &Vault,
    workflow_id: Uuid,
) -> Result<(), DomainError> {
    let workflow_id = workflow_id.to_string();
    for (n, pointer) in secret_pointers(definition, catalogue) {
        let node_id = definition.nodes[n].id.clone();
        let slot = SecretSlot {
            workflow_id: &workflow_id,
            node_id: &node_id,
            pointer: &pointer,
        };
        let Some(Value::String(text)) = definition.nodes[n].config.pointer_mut(&pointer) else {
            continue;
        };
        if text.starts_with(SEALED) {
            return Err(field_problem(
                &node_id,
                &pointer,
                "enter the secret itself: sealed values cannot be pasted",
            ));
        }
        if text.is_empty() || text.contains("{{") {
            continue;
        }
        if text == MASK {
            let kept = previous
                .and_then(|p| p.node(&node_id))
                .and_then(|node| node.config.pointer(&pointer))
                .and_then(Value::as_str)
                .filter(|old| old.starts_with(SEALED));
            *text = match kept {
                Some(old) if old.starts_with(SEALED_V2) => old.to_owned(),
                // Stored before values were bound: bound now.
                Some(old) => seal_at(&unseal(old, slot, vault)?, slot, vault)?,
                None => {
                    return Err(field_problem(
                        &node_id,
                        &pointer,
                        "enter the secret: there is no saved one to keep",
                    ));
                }
            };
            continue;
        }
        *text = seal_at(text, slot, vault)?;
    }
    Ok(())
}

/// Seals the secrets of `definition`, stored for the workflow `from`, anew
/// for the workflow `to` (a copy), where the old values would not open.
pub fn reseal(
    definition: &mut WorkflowDefinition,
    catalogue: &Catalogue,
    vault: &Vault,
    from: Uuid,
    to: Uuid,
) -> Result<(), DomainError> {
    let (from, to) = (from.to_string(), to.to_string());
    for (n, pointer) in secret_pointers(definition, catalogue) {
        let node_id = definition.nodes[n].id.clone();
        if let Some(Value::String(text)) = definition.nodes[n].config.pointer_mut(&pointer)
            && text.starts_with(SEALED)
        {
            let at = |workflow_id| SecretSlot {
                workflow_id,
                node_id: &node_id,
                pointer: &pointer,
            };
            *text = seal_at(&unseal(text, at(&from), vault)?, at(&to), vault)?;
        }
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

/// The plain text of a secret sealed at `slot`; other text as it is.
pub fn unseal(text: &str, slot: SecretSlot<'_>, vault: &Vault) -> Result<String, DomainError> {
    let plain = if let Some(sealed) = text.strip_prefix(SEALED_V2) {
        vault.open_bound(sealed, &bound_to(slot))?
    } else if let Some(sealed) = text.strip_prefix(SEALED_V1) {
        vault.open(sealed)?
    } else if text.starts_with(SEALED) {
        return Err(DomainError::Internal(
            "a sealed secret has an unknown version".into(),
        ));
    } else {
        return Ok(text.to_owned());
    };
    String::from_utf8(plain)
        .map_err(|_| DomainError::Internal("a sealed secret is not text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot<'a>(workflow_id: &'a str, pointer: &'a str) -> SecretSlot<'a> {
        SecretSlot {
            workflow_id,
            node_id: "call",
            pointer,
        }
    }

    #[test]
    fn item9_sealed_values_open_only_in_their_slot_and_v1_still_opens() {
        let vault = Vault::new(&[3; 32], "workflow secrets v1");
        let here = slot("w1", "/auth/token");
        let sealed = seal_at("tok", here, &vault).unwrap();
        assert!(sealed.starts_with(SEALED_V2));
        assert_eq!(unseal(&sealed, here, &vault).unwrap(), "tok");
        for elsewhere in [slot("w2", "/auth/token"), slot("w1", "/auth/password")] {
            assert!(unseal(&sealed, elsewhere, &vault).is_err());
        }
        let old = format!("{SEALED_V1}{}", vault.seal(b"legacy").unwrap());
        assert_eq!(unseal(&old, here, &vault).unwrap(), "legacy");
        assert_eq!(unseal("plain", here, &vault).unwrap(), "plain");
        assert!(unseal("sealed:v9:x", here, &vault).is_err());
    }

    fn with_token(token: &str) -> WorkflowDefinition {
        serde_json::from_value(serde_json::json!({
            "name": "w",
            "nodes": [{"id": "call", "kind": "http_request",
                       "config": {"url": "https://example.com", "auth": {"type": "bearer", "token": token}}}],
            "edges": []
        }))
        .unwrap()
    }

    fn token(definition: &WorkflowDefinition) -> &str {
        definition.nodes[0].config["auth"]["token"]
            .as_str()
            .unwrap()
    }

    #[test]
    fn item9_saving_refuses_sealed_text_and_binds_old_values() {
        let vault = Vault::new(&[3; 32], "workflow secrets v1");
        let registry = engine::Registry::builtin();
        let catalogue = registry.catalogue();
        let id = Uuid::now_v7();
        let old = with_token(&format!("{SEALED_V1}{}", vault.seal(b"legacy").unwrap()));

        let mut pasted = with_token(token(&old));
        let refused = seal(&mut pasted, Some(&old), catalogue, &vault, id).unwrap_err();
        let DomainError::Invalid { fields, .. } = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(fields[0].field, "nodes.call.config.auth.token");

        let mut kept = with_token(MASK);
        seal(&mut kept, Some(&old), catalogue, &vault, id).unwrap();
        assert!(token(&kept).starts_with(SEALED_V2), "bound on save");
        let id = id.to_string();
        let at = slot(&id, "/auth/token");
        assert_eq!(unseal(token(&kept), at, &vault).unwrap(), "legacy");
    }
}
