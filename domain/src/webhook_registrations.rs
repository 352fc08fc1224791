//! Provider webhooks registered for a workflow: on activation, a provider
//! trigger that names a connection (instead of a pasted secret) has its
//! webhook created with the provider, whose signing secret is kept sealed
//! here; on pause or delete the webhook is removed again.

use engine::providers;
use entity::webhook_registration;
use model::Node;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::{DomainError, connections::Connections, vault::Vault};

/// What registering needs from the server.
pub struct Hooks<'a> {
    pub db: &'a DatabaseConnection,
    pub connections: &'a Connections,
    /// Seals the signing secrets (the workflow secrets' vault).
    pub vault: &'a Vault,
    /// Switchyard's public URL, without a trailing slash.
    pub public_url: &'a str,
}

/// What a sealed secret is bound to: its row (keyed by the workflow) and column.
fn binding(workflow_id: Uuid) -> Vec<u8> {
    format!("webhook_registration:{workflow_id}:sealed_secret").into_bytes()
}

/// What secrets sealed before key ids were bound to.
fn legacy_binding(workflow_id: Uuid) -> Vec<u8> {
    format!("webhook registration {workflow_id}").into_bytes()
}

/// Opens a registration's sealed signing secret (for use, and for a key rotation).
pub(crate) fn open_sealed(
    vault: &Vault,
    row: &webhook_registration::Model,
) -> Result<Vec<u8>, crate::vault::SealError> {
    vault.open(
        &row.sealed_secret,
        &binding(row.workflow_id),
        &legacy_binding(row.workflow_id),
    )
}

/// Seals a registration's signing secret for its row (bound to it).
pub fn seal(
    vault: &Vault,
    workflow_id: Uuid,
    secret: &[u8],
) -> Result<String, crate::vault::SealError> {
    vault.seal(secret, &binding(workflow_id))
}

fn text(config: &Value, name: &str) -> Option<String> {
    config
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The workflow's provider trigger, if it has one.
fn provider_trigger(nodes: &[Node]) -> Option<(&Node, &'static providers::Provider)> {
    nodes
        .iter()
        .find_map(|node| providers::trigger_provider(&node.kind).map(|p| (node, p)))
}

impl Hooks<'_> {
    /// Registers the workflow's webhook with its provider if its trigger
    /// asks for that and it is not registered (at this URL) yet; a trigger
    /// with neither a secret nor a connection cannot be activated.
    pub async fn activate(&self, owner: Uuid, workflow_id: Uuid) -> Result<(), DomainError> {
        let model = crate::workflows::owned(self.db, owner, workflow_id).await?;
        let definition = crate::workflows::definition_of(&model)?;
        let Some((node, provider)) = provider_trigger(&definition.nodes) else {
            return Ok(());
        };
        let config = &node.config;
        let field = |name: &str| format!("nodes.{}.config.{name}", node.id);
        let Some(connection) = text(config, "connection") else {
            if text(config, "secret").is_none() {
                return Err(DomainError::invalid(
                    &field("secret"),
                    format!(
                        "give {}'s signing secret, or a connection to register the webhook with",
                        provider.name
                    ),
                ));
            }
            return Ok(());
        };
        let connection = Uuid::parse_str(&connection)
            .map_err(|_| DomainError::invalid(&field("connection"), "not a connection id"))?;
        let token = model.webhook_token.clone().unwrap_or_default();
        let url = format!("{}/webhooks/{token}", self.public_url);
        let existing = webhook_registration::Entity::find_by_id(workflow_id)
            .one(self.db)
            .await?;
        if let Some(row) = &existing {
            if row.url == url && row.connection_id == connection {
                return Ok(());
            }
            self.remove(owner, row.clone()).await;
        }
        let (_, credential) = self
            .connections
            .credential(owner, connection)
            .await
            .map_err(|error| match error {
                DomainError::NotFound => {
                    DomainError::invalid(&field("connection"), "no such connection")
                }
                other => other,
            })?;
        let events: Vec<String> = config
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let fields = config.as_object().cloned().unwrap_or_default();
        let registered = providers::registration::register(
            &self.connections.http,
            provider,
            credential,
            &url,
            &events,
            &fields,
        )
        .await
        .map_err(|error| {
            DomainError::invalid(
                &field("connection"),
                format!(
                    "{} did not register the webhook: {}",
                    provider.name,
                    error.redacted().message
                ),
            )
        })?;
        webhook_registration::ActiveModel {
            workflow_id: Set(workflow_id),
            provider: Set(provider.id.to_string()),
            connection_id: Set(connection),
            remote_id: Set(registered.remote_id),
            url: Set(url),
            sealed_secret: Set(seal(self.vault, workflow_id, registered.secret.as_bytes())?),
            created_at: Set(chrono::Utc::now().timestamp_millis()),
        }
        .insert(self.db)
        .await?;
        Ok(())
    }

    /// Removes the workflow's registered webhook, if any (on pause and
    /// before delete). A provider that cannot be reached is logged: the
    /// workflow stops either way, and a hook left behind only delivers to
    /// a URL that answers 409 or 404.
    pub async fn deactivate(&self, owner: Uuid, workflow_id: Uuid) -> Result<(), DomainError> {
        if let Some(row) = webhook_registration::Entity::find_by_id(workflow_id)
            .one(self.db)
            .await?
        {
            self.remove(owner, row).await;
        }
        Ok(())
    }

    async fn remove(&self, owner: Uuid, row: webhook_registration::Model) {
        let workflow_id = row.workflow_id;
        let removed = async {
            let provider = providers::find(&row.provider).ok_or(DomainError::NotFound)?;
            let model = crate::workflows::owned(self.db, owner, workflow_id).await?;
            let definition = crate::workflows::definition_of(&model)?;
            let fields = provider_trigger(&definition.nodes)
                .and_then(|(node, _)| node.config.as_object().cloned())
                .unwrap_or_default();
            let (_, credential) = self
                .connections
                .credential(owner, row.connection_id)
                .await?;
            providers::registration::unregister(
                &self.connections.http,
                provider,
                credential,
                &row.remote_id,
                &fields,
            )
            .await
            .map_err(|e| DomainError::Internal(e.redacted().message))
        }
        .await;
        if let Err(error) = removed {
            tracing::warn!(%workflow_id, %error, "could not remove the webhook registered with the provider");
        }
        if let Err(error) = webhook_registration::Entity::delete_by_id(workflow_id)
            .exec(self.db)
            .await
        {
            tracing::error!(%workflow_id, %error, "could not forget the registered webhook");
        }
    }
}

/// The signing secret of the workflow's registered webhook, if it has one.
pub async fn secret(
    db: &DatabaseConnection,
    vault: &Vault,
    workflow_id: Uuid,
) -> Result<Option<String>, DomainError> {
    let Some(row) = webhook_registration::Entity::find_by_id(workflow_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let plain = open_sealed(vault, &row)?;
    Ok(Some(
        String::from_utf8(plain).map_err(|e| DomainError::Internal(e.to_string()))?,
    ))
}
