//! Secrets written into workflows (webhook signing secrets, inline
//! credentials) are stored sealed, shown masked, and kept when a client
//! sends the mask back unchanged.
//!
//! A sealed value (`sealed:v3:<key id>:…`, the vault's format behind
//! `sealed:`) is bound to its workflow, node and field (the AES-GCM
//! associated data), so a value copied from elsewhere does not open.
//! Clients never see sealed text and may not send any: only the mask or the
//! secret itself. Older values still open: `sealed:v2:…` (bound, without a
//! key id) and `sealed:v1:…` (stored before the binding); they are sealed
//! anew when their workflow is next saved, and by a key rotation.

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
/// Bound to its workflow, node and field, but without a key id.
const SEALED_V2: &str = "sealed:v2:";
/// Bound, with the id of the key it was sealed under.
const SEALED_V3: &str = "sealed:v3:";

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
        "{SEALED}{}",
        vault.seal(text.as_bytes(), &bound_to(slot))?
    ))
}

/// Whether a stored sealed value is as new sealing would make it: bound
/// and under the vault's current key.
fn is_current(text: &str, vault: &Vault) -> bool {
    text.strip_prefix(SEALED)
        .is_some_and(|sealed| sealed.starts_with("v3:") && vault.is_current(sealed))
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
                Some(old) if is_current(old, vault) => old.to_owned(),
                // Stored unbound, or under a previous key: sealed anew.
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

/// Seals anew, under the vault's current key, every secret of the stored
/// definition of workflow `workflow_id` (a workflow's or a saved
/// version's) that is not sealed under it yet; returns how many. Works on
/// the stored JSON so that nothing else in it changes.
pub fn rotate(
    stored: &mut Value,
    catalogue: &Catalogue,
    vault: &Vault,
    workflow_id: Uuid,
) -> Result<usize, DomainError> {
    let definition: WorkflowDefinition = serde_json::from_value(stored.clone())
        .map_err(|e| DomainError::Internal(format!("a stored workflow does not read: {e}")))?;
    let workflow_id = workflow_id.to_string();
    let mut resealed = 0;
    for (n, pointer) in secret_pointers(&definition, catalogue) {
        let slot = SecretSlot {
            workflow_id: &workflow_id,
            node_id: &definition.nodes[n].id,
            pointer: &pointer,
        };
        let at = format!("/nodes/{n}/config{pointer}");
        if let Some(Value::String(text)) = stored.pointer_mut(&at)
            && text.starts_with(SEALED)
            && !is_current(text, vault)
        {
            *text = seal_at(&unseal(text, slot, vault)?, slot, vault)?;
            resealed += 1;
        }
    }
    Ok(resealed)
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
    let bound = bound_to(slot);
    let plain = if text.starts_with(SEALED_V3) {
        vault.open(&text[SEALED.len()..], &bound, &[])?
    } else if let Some(sealed) = text.strip_prefix(SEALED_V2) {
        legacy(sealed, vault, &bound)?
    } else if let Some(sealed) = text.strip_prefix(SEALED_V1) {
        legacy(sealed, vault, &[])?
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

/// Opens a value stored without a key id, with the associated data it
/// was sealed with (a key id in it would be a forgery: refused).
fn legacy(sealed: &str, vault: &Vault, bound_to: &[u8]) -> Result<Vec<u8>, DomainError> {
    if sealed.contains(':') {
        return Err(DomainError::Internal(
            "a sealed secret has an unknown version".into(),
        ));
    }
    Ok(vault.open(sealed, &[], bound_to)?)
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
        assert!(
            sealed.starts_with(&format!("{SEALED_V3}{}:", vault.key_id())),
            "{sealed}"
        );
        assert_eq!(unseal(&sealed, here, &vault).unwrap(), "tok");
        for elsewhere in [slot("w2", "/auth/token"), slot("w1", "/auth/password")] {
            assert!(unseal(&sealed, elsewhere, &vault).is_err());
        }
        let old = format!("{SEALED_V1}{}", vault.seal_legacy(b"legacy", b""));
        assert_eq!(unseal(&old, here, &vault).unwrap(), "legacy");
        let v2 = format!(
            "{SEALED_V2}{}",
            vault.seal_legacy(b"bound", &bound_to(here))
        );
        assert_eq!(unseal(&v2, here, &vault).unwrap(), "bound");
        assert!(unseal(&v2, slot("w2", "/auth/token"), &vault).is_err());
        let forged = format!("{SEALED_V2}{}", &sealed[SEALED_V3.len()..]);
        assert!(unseal(&forged, here, &vault).is_err());
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
        let old = with_token(&format!("{SEALED_V1}{}", vault.seal_legacy(b"legacy", b"")));

        let mut pasted = with_token(token(&old));
        let refused = seal(&mut pasted, Some(&old), catalogue, &vault, id).unwrap_err();
        let DomainError::Invalid { fields, .. } = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(fields[0].field, "nodes.call.config.auth.token");

        let mut kept = with_token(MASK);
        seal(&mut kept, Some(&old), catalogue, &vault, id).unwrap();
        assert!(is_current(token(&kept), &vault), "bound on save");
        let id = id.to_string();
        let at = slot(&id, "/auth/token");
        assert_eq!(unseal(token(&kept), at, &vault).unwrap(), "legacy");
    }

    #[test]
    fn item14_rotation_reseals_only_what_is_not_under_the_current_key() {
        let registry = engine::Registry::builtin();
        let catalogue = registry.catalogue();
        let id = Uuid::now_v7();
        let (a, b) = ([3; 32], [4; 32]);
        let old = Vault::new(&a, "workflow secrets v1");
        let mut definition = with_token("tok");
        seal(&mut definition, None, catalogue, &old, id).unwrap();
        let mut stored = serde_json::to_value(&definition).unwrap();
        let before = stored.clone();

        let new = Vault::with_previous(&b, &[a], "workflow secrets v1");
        assert_eq!(rotate(&mut stored, catalogue, &new, id).unwrap(), 1);
        let rotated: WorkflowDefinition = serde_json::from_value(stored.clone()).unwrap();
        assert!(is_current(token(&rotated), &new));
        assert_ne!(stored, before);
        let at_id = id.to_string();
        let at = slot(&at_id, "/auth/token");
        let only_b = Vault::new(&b, "workflow secrets v1");
        assert_eq!(unseal(token(&rotated), at, &only_b).unwrap(), "tok");
        assert!(unseal(token(&rotated), at, &old).is_err());

        let again = stored.clone();
        assert_eq!(rotate(&mut stored, catalogue, &new, id).unwrap(), 0);
        assert_eq!(stored, again, "a second rotation changes nothing");
    }
}
