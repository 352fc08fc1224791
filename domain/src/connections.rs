//! Connections: credentials for the services workflows call. Plain fields
//! (user names, URLs) can be read back; secret fields are sealed and never
//! leave the server except into the requests that use them.

use std::sync::Arc;

use engine::{credentials::Credential, outbound::OutboundClient};
use entity::connection;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    DomainError, FieldProblem, audit, now,
    vault::{Keyring, SealError, Vault, purpose},
};

/// The fields of each kind of connection.
struct KindFields {
    kind: String,
    plain: Vec<String>,
    secret: Vec<String>,
    required: Vec<String>,
}

/// Kinds that any HTTP request can use.
const GENERIC: [(&str, &[&str], &[&str], &[&str]); 4] = [
    ("bearer", &[], &["token"], &["token"]),
    (
        "basic",
        &["username"],
        &["password"],
        &["username", "password"],
    ),
    (
        "header",
        &["header_name"],
        &["value"],
        &["header_name", "value"],
    ),
    (
        "oauth2",
        &[
            "authorize_url",
            "token_url",
            "client_id",
            "scope",
            "expires_at",
        ],
        &["client_secret", "access_token", "refresh_token"],
        // `access_token` too, unless `authorize_url` lets "Connect" get one.
        &["token_url", "client_id"],
    ),
];

/// The fields of a generic kind, or of a provider's connections (its own
/// fields, and `base_url` to reach a test, staging or self-hosted API).
async fn kind_fields(
    db: &DatabaseConnection,
    owner: Uuid,
    kind: &str,
) -> Result<KindFields, DomainError> {
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    if let Some((kind, plain, secret, required)) = GENERIC.iter().find(|(k, ..)| *k == kind) {
        return Ok(KindFields {
            kind: kind.to_string(),
            plain: owned(plain),
            secret: owned(secret),
            required: owned(required),
        });
    }
    if let Some(provider) = crate::apis::provider(db, owner, kind).await? {
        let fields = &provider.connection.fields;
        let names = |secret: bool| {
            fields
                .iter()
                .filter(move |f| f.secret == secret)
                .map(|f| f.name.to_string())
        };
        return Ok(KindFields {
            kind: provider.id.to_string(),
            plain: names(false)
                .chain(owned(&["base_url", "rate_per_second", "rate_burst"]))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            secret: names(true).collect(),
            required: fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name.to_string())
                .collect(),
        });
    }
    let kinds: Vec<&str> = GENERIC
        .iter()
        .map(|(k, ..)| *k)
        .chain(engine::providers::builtin().iter().map(|p| p.id.as_ref()))
        .collect();
    Err(DomainError::invalid(
        "kind",
        format!("the kind must be one of: {}", kinds.join(", ")),
    ))
}

/// What a client sends to create a connection.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    pub name: String,
    /// `bearer` (token), `basic` (username, password), `header` (header_name,
    /// value) or `oauth2` (token_url, client_id, client_secret, access_token,
    /// refresh_token, scope, and authorize_url to get the tokens with
    /// "Connect": the authorization-code flow with PKCE).
    pub kind: String,
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// What a client sends to change one; omitted secrets keep their values.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionChange {
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub fields: Option<Map<String, Value>>,
}

/// A connection as it may be shown: no secret values.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    /// The non-secret fields.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Names of the secret fields that are set.
    pub secrets: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What a connection's sealed secrets are bound to: its row and column, so
/// that they open nowhere else.
pub(crate) fn binding(id: Uuid) -> Vec<u8> {
    format!("connection:{id}:sealed_secrets").into_bytes()
}

/// Secrets that do not open (copied from another connection, or sealed
/// under a key this server lacks) are never used: the user enters them again.
fn unreadable(error: SealError) -> DomainError {
    let message =
        format!("the connection's stored secrets cannot be used: {error}; enter them again");
    DomainError::Invalid {
        message: message.clone(),
        fields: vec![FieldProblem::new("secrets", message)],
    }
}

/// Reads, seals and opens connections of an account.
#[derive(Clone)]
pub struct Connections {
    pub(crate) db: DatabaseConnection,
    pub(crate) vault: Arc<Vault>,
    /// For testing connections and renewing tokens, through the outbound guard.
    pub(crate) http: OutboundClient,
}

/// What testing a connection found.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionTest {
    /// Whether the provider accepted the credentials.
    pub ok: bool,
    /// What the provider said, in its own words when it refused.
    pub message: String,
    /// The HTTP status of the provider's answer, when there was one.
    pub status: Option<u16>,
}

fn check_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid(
            "name",
            "give the connection a name of 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Splits `fields` into plain settings and secrets, checking every name and value.
fn split_fields(
    spec: &KindFields,
    fields: &Map<String, Value>,
) -> Result<(Map<String, Value>, Map<String, Value>), DomainError> {
    let mut problems = Vec::new();
    let (mut plain, mut secret) = (Map::new(), Map::new());
    for (name, value) in fields {
        let field = format!("fields.{name}");
        let Some(text) = value.as_str() else {
            problems.push(FieldProblem::new(&field, "must be text"));
            continue;
        };
        if spec.plain.contains(name) {
            plain.insert(name.clone(), Value::String(text.to_owned()));
        } else if spec.secret.contains(name) {
            secret.insert(name.clone(), Value::String(text.to_owned()));
        } else {
            let known: Vec<&str> = spec
                .plain
                .iter()
                .chain(&spec.secret)
                .map(String::as_str)
                .collect();
            problems.push(FieldProblem::new(
                &field,
                format!(
                    "{} connections have no `{name}`; their fields: {}",
                    spec.kind,
                    known.join(", ")
                ),
            ));
        }
    }
    for name in ["rate_per_second", "rate_burst"] {
        if let Some(text) = plain.get(name).and_then(Value::as_str)
            && !text.is_empty()
            && text
                .trim()
                .parse::<f64>()
                .map_or(true, |n| !(n > 0.0 && n <= 1_000_000.0))
        {
            problems.push(FieldProblem::new(
                &format!("fields.{name}"),
                "must be a number above 0",
            ));
        }
    }
    for name in ["authorize_url", "token_url", "base_url"] {
        if let Some(url) = plain.get(name).and_then(Value::as_str)
            && !url.is_empty()
            && reqwest::Url::parse(url).map_or(true, |u| {
                !matches!(u.scheme(), "http" | "https") || u.host_str().is_none()
            })
        {
            problems.push(FieldProblem::new(
                &format!("fields.{name}"),
                "must be an http:// or https:// URL",
            ));
        }
    }
    if problems.is_empty() {
        Ok((plain, secret))
    } else {
        let message = problems[0].message.clone();
        Err(DomainError::Invalid {
            message,
            fields: problems,
        })
    }
}

fn check_required(
    spec: &KindFields,
    plain: &Map<String, Value>,
    secret: &Map<String, Value>,
) -> Result<(), DomainError> {
    let filled = |name: &str| {
        plain
            .get(name)
            .or_else(|| secret.get(name))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    // An OAuth 2 connection gets its access token either typed in or from
    // the provider, through "Connect" (which needs the authorize URL).
    let oauth_token =
        (spec.kind == "oauth2" && !filled("access_token") && !filled("authorize_url"))
            .then(|| "access_token".to_owned());
    let missing: Vec<FieldProblem> = spec
        .required
        .iter()
        .chain(oauth_token.iter())
        .filter(|name| !filled(name))
        .map(|name| {
            let message = if name == "access_token" && spec.kind == "oauth2" {
                "oauth2 connections need `access_token`, or `authorize_url` to connect through the provider".to_owned()
            } else {
                format!("{} connections need `{name}`", spec.kind)
            };
            FieldProblem::new(&format!("fields.{name}"), message)
        })
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(DomainError::Invalid {
            message: first.message.clone(),
            fields: missing,
        }),
    }
}

impl Connections {
    pub fn new(db: DatabaseConnection, keys: &Keyring, http: OutboundClient) -> Connections {
        Connections {
            db,
            vault: Arc::new(keys.vault(purpose::CONNECTIONS)),
            http,
        }
    }

    /// The secrets of a stored connection. Values sealed before they were
    /// bound to their connection (no key id) open unbound.
    pub(crate) fn open_secrets(
        &self,
        model: &connection::Model,
    ) -> Result<Map<String, Value>, DomainError> {
        let plain = open_sealed(&self.vault, model).map_err(unreadable)?;
        Ok(serde_json::from_slice(&plain).unwrap_or_default())
    }

    pub(crate) fn seal_secrets(
        &self,
        id: Uuid,
        secret: &Map<String, Value>,
    ) -> Result<String, DomainError> {
        Ok(self.vault.seal(
            &serde_json::to_vec(secret).unwrap_or_default(),
            &binding(id),
        )?)
    }

    /// Calls the provider's cheap test request with the connection.
    pub async fn test(&self, owner: Uuid, id: Uuid) -> Result<ConnectionTest, DomainError> {
        let (model, credential) = self.credential(owner, id).await?;
        let Some(provider) = crate::apis::provider(&self.db, owner, &model.kind).await? else {
            return Err(DomainError::invalid(
                "kind",
                format!(
                    "{} connections belong to no provider and cannot be tested; use them in a step",
                    model.kind
                ),
            ));
        };
        Ok(
            match engine::providers::test_connection(&self.http, &provider, credential).await {
                Ok(_) => ConnectionTest {
                    ok: true,
                    message: format!("{} accepted the connection", provider.name),
                    status: Some(200),
                },
                Err(error) => {
                    let error = error.redacted();
                    ConnectionTest {
                        ok: false,
                        message: error.message,
                        status: error.status,
                    }
                }
            },
        )
    }

    /// The connection as shown. Secrets that do not open are shown as
    /// none set and the connection as needing to be reconnected, so that
    /// it can still be listed and fixed.
    pub(crate) fn view(&self, model: connection::Model) -> Result<ConnectionView, DomainError> {
        let mut settings = model.settings.clone();
        let secrets = match self.open_secrets(&model) {
            Ok(secrets) => secrets,
            Err(error) => {
                if let Some(settings) = settings.as_object_mut() {
                    settings.insert("status".into(), json!("reconnect"));
                    settings.insert("status_reason".into(), json!(error.to_string()));
                }
                Map::new()
            }
        };
        let mut names: Vec<String> = secrets
            .into_iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| !s.is_empty()))
            .map(|(k, _)| k)
            .collect();
        names.sort();
        Ok(ConnectionView {
            id: model.id,
            name: model.name,
            kind: model.kind,
            settings,
            secrets: names,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }

    pub(crate) async fn owned(
        &self,
        owner: Uuid,
        id: Uuid,
    ) -> Result<connection::Model, DomainError> {
        connection::Entity::find_by_id(id)
            .filter(connection::Column::OwnerId.eq(owner))
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound)
    }

    pub async fn list(&self, owner: Uuid) -> Result<Vec<ConnectionView>, DomainError> {
        connection::Entity::find()
            .filter(connection::Column::OwnerId.eq(owner))
            .order_by_asc(connection::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| self.view(m))
            .collect()
    }

    pub async fn get(&self, owner: Uuid, id: Uuid) -> Result<ConnectionView, DomainError> {
        let model = self.owned(owner, id).await?;
        self.view(model)
    }

    pub async fn create(
        &self,
        owner: Uuid,
        new: NewConnection,
    ) -> Result<ConnectionView, DomainError> {
        let name = check_name(&new.name)?;
        let spec = kind_fields(&self.db, owner, &new.kind).await?;
        let (plain, secret) = split_fields(&spec, &new.fields)?;
        check_required(&spec, &plain, &secret)?;
        let now = now();
        let id = Uuid::now_v7();
        let model = connection::ActiveModel {
            id: Set(id),
            owner_id: Set(owner),
            name: Set(name),
            kind: Set(spec.kind.to_owned()),
            settings: Set(Value::Object(plain)),
            sealed_secrets: Set(self.seal_secrets(id, &secret)?),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await?;
        audit::record(
            &self.db,
            owner,
            owner,
            None,
            "connection.created",
            json!({ "connection_id": model.id, "name": model.name, "kind": model.kind }),
        )
        .await?;
        self.view(model)
    }

    pub async fn update(
        &self,
        owner: Uuid,
        id: Uuid,
        change: ConnectionChange,
    ) -> Result<ConnectionView, DomainError> {
        let current = self.owned(owner, id).await?;
        let spec = kind_fields(&self.db, owner, &current.kind).await?;
        let mut plain = current.settings.as_object().cloned().unwrap_or_default();
        let mut secret = match self.open_secrets(&current) {
            Ok(secret) => secret,
            // Secrets that do not open are replaced by those sent, never
            // kept (nor merged with): a change of the name alone is refused.
            Err(_) if change.fields.is_some() => Map::new(),
            Err(error) => return Err(error),
        };
        if let Some(fields) = &change.fields {
            let (new_plain, new_secret) = split_fields(&spec, fields)?;
            plain.extend(new_plain);
            secret.extend(new_secret);
            // New credentials: whatever made it need reconnecting is past.
            plain.remove("status");
            plain.remove("status_reason");
        }
        check_required(&spec, &plain, &secret)?;
        let name = change.name.as_deref().map(check_name).transpose()?;
        let changed: Vec<String> = change
            .fields
            .iter()
            .flat_map(|f| f.keys().cloned())
            .collect();
        let mut active: connection::ActiveModel = current.into();
        if let Some(name) = name {
            active.name = Set(name);
        }
        active.settings = Set(Value::Object(plain));
        active.sealed_secrets = Set(self.seal_secrets(id, &secret)?);
        active.updated_at = Set(now());
        let model = active.update(&self.db).await?;
        audit::record(
            &self.db,
            owner,
            owner,
            None,
            "connection.updated",
            json!({ "connection_id": id, "fields": changed }),
        )
        .await?;
        self.view(model)
    }

    pub async fn delete(&self, owner: Uuid, id: Uuid) -> Result<(), DomainError> {
        let model = self.owned(owner, id).await?;
        connection::Entity::delete_by_id(id).exec(&self.db).await?;
        audit::record(
            &self.db,
            owner,
            owner,
            None,
            "connection.deleted",
            json!({ "connection_id": id, "name": model.name }),
        )
        .await?;
        Ok(())
    }

    /// Everything a step needs to use the connection.
    /// Marks a connection as needing the user (`reconnect`), with why;
    /// steps using it fail at once until its credentials are changed.
    pub(crate) async fn mark_for_reconnection(
        &self,
        id: Uuid,
        reason: &str,
    ) -> Result<(), DomainError> {
        let Some(model) = connection::Entity::find_by_id(id).one(&self.db).await? else {
            return Err(DomainError::NotFound);
        };
        let owner = model.owner_id;
        let mut settings = model.settings.as_object().cloned().unwrap_or_default();
        settings.insert("status".into(), json!("reconnect"));
        settings.insert("status_reason".into(), json!(reason));
        let mut active: connection::ActiveModel = model.into();
        active.settings = Set(Value::Object(settings));
        active.updated_at = Set(now());
        active.update(&self.db).await?;
        audit::record(
            &self.db,
            owner,
            owner,
            None,
            "connection.needs_reconnection",
            json!({ "connection_id": id, "reason": reason }),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn credential(
        &self,
        owner: Uuid,
        id: Uuid,
    ) -> Result<(connection::Model, Credential), DomainError> {
        let model = self.owned(owner, id).await?;
        let secret = self.open_secrets(&model)?;
        let mut fields = model.settings.as_object().cloned().unwrap_or_default();
        fields.extend(secret);
        let credential = Credential {
            kind: model.kind.clone(),
            fields,
        };
        Ok((model, credential))
    }
}

/// Opens a connection's sealed secrets (for use, and for a key rotation).
pub(crate) fn open_sealed(vault: &Vault, model: &connection::Model) -> Result<Vec<u8>, SealError> {
    vault.open(&model.sealed_secrets, &binding(model.id), &[])
}
