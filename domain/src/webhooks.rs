//! Webhook targets: which workflow a webhook token starts, and how the
//! request must be checked (methods, signature, deduplication, reply).

use engine::{credentials::SecretSlot, providers};
use entity::workflow;
use model::{WorkflowDefinition, WorkflowStatus};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::{DomainError, secrets, vault::Vault};

/// How requests to one workflow's webhook are checked and answered.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookTarget {
    pub workflow_id: Uuid,
    pub owner_id: Uuid,
    pub version: i32,
    pub active: bool,
    /// Upper-case methods accepted.
    pub methods: Vec<String>,
    pub signature: Option<Signature>,
    /// Header naming each delivery; repeats start no new run.
    pub dedupe_header: Option<String>,
    /// Reply with the run's output instead of at once.
    pub respond_with_output: bool,
    /// For a provider's trigger: the provider's id (how deliveries are
    /// typed) and the event types that start a run.
    pub provider: Option<&'static str>,
    pub events: Vec<String>,
}

/// A signature check, with the secret in plain text (kept in memory only).
#[derive(Clone, PartialEq)]
pub struct Signature {
    /// `stripe`, `github`, `slack`, `linear`, `twilio` or `hmac`.
    pub scheme: String,
    pub secret: String,
    pub header: Option<String>,
    /// `sha256` or `sha1`.
    pub algorithm: String,
    pub prefix: String,
    /// `hex` or `base64`.
    pub encoding: String,
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signature")
            .field("scheme", &self.scheme)
            .field("secret", &"<hidden>")
            .finish()
    }
}

fn text(config: &Value, name: &str) -> Option<String> {
    config
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The target behind a token, if any workflow has it.
pub async fn find(
    db: &DatabaseConnection,
    vault: &Vault,
    token: &str,
) -> Result<Option<WebhookTarget>, DomainError> {
    let Some(model) = workflow::Entity::find()
        .filter(workflow::Column::WebhookToken.eq(token))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Ok(definition) = serde_json::from_value::<WorkflowDefinition>(model.definition.clone())
    else {
        return Ok(None);
    };
    let Some(node) = definition
        .nodes
        .iter()
        .find(|n| providers::receives_webhooks(&n.kind))
    else {
        return Ok(None);
    };
    let config = &node.config;
    let active = WorkflowStatus::parse(&model.status) == Some(WorkflowStatus::Active);
    let unseal = |pointer: &str, text: Option<String>| {
        secrets::unseal(
            &text.unwrap_or_default(),
            SecretSlot {
                workflow_id: &model.id.to_string(),
                node_id: &node.id,
                pointer,
            },
            vault,
        )
    };
    if let Some(provider) = providers::trigger_provider(&node.kind) {
        let scheme = provider.trigger.as_ref().map_or("hmac", |t| t.scheme);
        let mut secret = unseal("/secret", text(config, "secret"))?;
        if secret.is_empty() {
            // Registered with the provider on activation, which chose it.
            secret = crate::webhook_registrations::secret(db, vault, model.id)
                .await?
                .unwrap_or_default();
        }
        return Ok(Some(WebhookTarget {
            workflow_id: model.id,
            owner_id: model.owner_id,
            version: model.version,
            active,
            methods: vec!["POST".to_owned()],
            // A trigger without its secret accepts nothing rather than anything.
            signature: Some(Signature {
                scheme: scheme.to_owned(),
                secret,
                header: None,
                algorithm: "sha256".into(),
                prefix: String::new(),
                encoding: "hex".into(),
            }),
            dedupe_header: None,
            respond_with_output: false,
            provider: Some(provider.id.as_ref()),
            events: config
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        }));
    }
    let methods = match config.get("methods").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_uppercase)
            .collect(),
        _ => vec!["POST".to_owned()],
    };
    let signature = match config.get("signature").filter(|s| s.is_object()) {
        Some(signature) => Some(Signature {
            scheme: text(signature, "scheme").unwrap_or_else(|| "hmac".into()),
            secret: unseal("/signature/secret", text(signature, "secret"))?,
            header: text(signature, "header"),
            algorithm: text(signature, "algorithm").unwrap_or_else(|| "sha256".into()),
            prefix: text(signature, "prefix").unwrap_or_default(),
            encoding: text(signature, "encoding").unwrap_or_else(|| "hex".into()),
        }),
        None => None,
    };
    Ok(Some(WebhookTarget {
        workflow_id: model.id,
        owner_id: model.owner_id,
        version: model.version,
        active,
        methods,
        signature,
        dedupe_header: text(config, "dedupe_header"),
        respond_with_output: text(config, "respond").as_deref() == Some("output"),
        provider: None,
        events: Vec::new(),
    }))
}
