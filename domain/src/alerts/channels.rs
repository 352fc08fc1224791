//! Where an account hears of alerts besides the in-app bell: e-mail (over
//! the operator's mail server), a Slack incoming webhook, or any HTTPS
//! endpoint receiving a signed JSON body. Their settings hold secrets (the
//! Slack URL, the signing secret) and are stored sealed; they are shown
//! masked.

use engine::{credentials::Credential, outbound::OutboundClient, store::sql::Sql};
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::{DomainError, FieldProblem, vault::Vault};

/// The header a signed webhook carries: `t=<unix seconds>,v1=<hex HMAC-SHA256
/// of "<t>.<body>" under the channel's secret>`, as Stripe signs.
pub const SIGNATURE_HEADER: &str = "Switchyard-Signature";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Slack,
    Webhook,
}

impl ChannelKind {
    fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
        }
    }

    fn parse(text: &str) -> Option<ChannelKind> {
        [ChannelKind::Email, ChannelKind::Slack, ChannelKind::Webhook]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A new channel, or its new settings.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub kind: ChannelKind,
    pub name: String,
    /// email: `{"to"}`; slack: `{"webhook_url"}`; webhook: `{"url", "secret"}`.
    #[schema(value_type = Object)]
    pub config: Value,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A channel as shown: secrets masked.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    #[schema(value_type = Object)]
    pub config: Value,
    pub enabled: bool,
    pub created_at: i64,
    pub last_delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The operator's mail server, for e-mail channels.
#[derive(Clone, Debug)]
pub struct Mailer {
    pub server: Credential,
}

/// What every channel is told.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    /// `alert.fired`, `alert.resolved`, `workflow.paused`, `test`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub workflow_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub rule: Option<String>,
    /// Where to look: the workflow's page.
    pub link: Option<String>,
    pub created_at: String,
}

const MASK: &str = "••••••";

fn problem(field: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        message: format!("{field} {message}"),
        fields: vec![FieldProblem::new(field, message)],
    }
}

/// Checks `input`'s settings, naming every field that is wrong; returns
/// them trimmed.
fn checked(input: &ChannelInput, mailer: Option<&Mailer>) -> Result<Value, DomainError> {
    let mut problems = Vec::new();
    let mut wrong = |field: &str, message: &str| problems.push(FieldProblem::new(field, message));
    if input.name.trim().is_empty() || input.name.len() > 120 {
        wrong("name", "must be 1 to 120 characters");
    }
    let text = |name: &str| {
        input.config[name]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let url = |name: &str| -> Result<String, &'static str> {
        let value = text(name).ok_or("is required")?;
        let parsed = url::Url::parse(&value).map_err(|_| "is not a URL")?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("must be an http:// or https:// URL");
        }
        Ok(value)
    };
    let config = match input.kind {
        ChannelKind::Email => {
            if mailer.is_none() {
                wrong(
                    "kind",
                    "e-mail needs a mail server: the operator sets SWITCHYARD_SMTP_URL and SWITCHYARD_SMTP_FROM",
                );
            }
            match text("to") {
                None => wrong("config.to", "is required"),
                Some(to) if to.parse::<lettre::message::Mailbox>().is_err() => {
                    wrong("config.to", "is not an email address")
                }
                Some(_) => {}
            }
            json!({ "to": text("to") })
        }
        ChannelKind::Slack => {
            let webhook_url = url("webhook_url")
                .map_err(|message| wrong("config.webhook_url", message))
                .ok();
            json!({ "webhook_url": webhook_url })
        }
        ChannelKind::Webhook => {
            let target = url("url")
                .map_err(|message| wrong("config.url", message))
                .ok();
            match text("secret") {
                None => wrong("config.secret", "is required"),
                Some(secret) if secret.len() < 16 => {
                    wrong("config.secret", "must be at least 16 characters")
                }
                Some(_) => {}
            }
            json!({ "url": target, "secret": text("secret") })
        }
    };
    if let Some(first) = problems.first() {
        return Err(DomainError::Invalid {
            message: format!("{} {}", first.field, first.message),
            fields: problems,
        });
    }
    Ok(config)
}

fn masked(kind: ChannelKind, config: &Value) -> Value {
    match kind {
        ChannelKind::Email => config.clone(),
        ChannelKind::Slack => json!({ "webhook_url": MASK }),
        ChannelKind::Webhook => json!({ "url": config["url"], "secret": MASK }),
    }
}

fn seal(vault: &Vault, id: Uuid, config: &Value) -> Result<String, DomainError> {
    vault
        .seal(config.to_string().as_bytes(), id.as_bytes())
        .map_err(|e| DomainError::Internal(e.to_string()))
}

fn open(vault: &Vault, id: Uuid, sealed: &str) -> Result<Value, DomainError> {
    let bytes = vault
        .open(sealed, id.as_bytes(), id.as_bytes())
        .map_err(|e| DomainError::Internal(format!("a channel's settings do not open: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| DomainError::Internal(e.to_string()))
}

/// A stored channel with its settings opened.
pub(super) struct Stored {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    pub config: Value,
    pub enabled: bool,
    pub created_at: i64,
    pub last_delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

impl Stored {
    fn shown(&self) -> Channel {
        Channel {
            id: self.id,
            kind: self.kind,
            name: self.name.clone(),
            config: masked(self.kind, &self.config),
            enabled: self.enabled,
            created_at: self.created_at,
            last_delivered_at: self.last_delivered_at,
            last_error: self.last_error.clone(),
        }
    }
}

fn stored(row: &QueryResult, vault: &Vault) -> Result<Stored, DomainError> {
    let id: Uuid = row.try_get("", "id")?;
    let kind: String = row.try_get("", "kind")?;
    let sealed: String = row.try_get("", "config")?;
    Ok(Stored {
        id,
        kind: ChannelKind::parse(&kind)
            .ok_or_else(|| DomainError::Internal(format!("unknown channel kind {kind}")))?,
        name: row.try_get("", "name")?,
        config: open(vault, id, &sealed)?,
        enabled: row.try_get("", "enabled")?,
        created_at: row.try_get("", "created_at")?,
        last_delivered_at: row.try_get("", "last_delivered_at")?,
        last_error: row.try_get("", "last_error")?,
    })
}

const COLUMNS: &str = "id, kind, name, config, enabled, created_at, last_delivered_at, last_error";

/// `owner`'s channels (only the enabled ones when `enabled_only`), oldest first.
pub(super) async fn stored_channels(
    db: &DatabaseConnection,
    vault: &Vault,
    owner: Uuid,
    enabled_only: bool,
) -> Result<Vec<Stored>, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!(
        "SELECT {COLUMNS} FROM notification_channels WHERE owner_id = "
    ))
    .bind(owner);
    if enabled_only {
        sql.push(" AND enabled = ").bind(true);
    }
    sql.push(" ORDER BY created_at, id");
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| stored(row, vault))
        .collect()
}

pub async fn list(
    db: &DatabaseConnection,
    vault: &Vault,
    owner: Uuid,
) -> Result<Vec<Channel>, DomainError> {
    Ok(stored_channels(db, vault, owner, false)
        .await?
        .iter()
        .map(Stored::shown)
        .collect())
}

async fn one(
    db: &DatabaseConnection,
    vault: &Vault,
    owner: Uuid,
    id: Uuid,
) -> Result<Stored, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!(
        "SELECT {COLUMNS} FROM notification_channels WHERE id = "
    ))
    .bind(id)
    .push(" AND owner_id = ")
    .bind(owner);
    let row = db
        .query_one_raw(sql.build())
        .await?
        .ok_or(DomainError::NotFound)?;
    stored(&row, vault)
}

pub async fn create(
    db: &DatabaseConnection,
    vault: &Vault,
    mailer: Option<&Mailer>,
    owner: Uuid,
    input: &ChannelInput,
) -> Result<Channel, DomainError> {
    let config = checked(input, mailer)?;
    let id = Uuid::new_v4();
    let now = chrono::Utc::now().timestamp_millis();
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("INSERT INTO notification_channels (id, owner_id, kind, name, config, enabled, created_at) VALUES (")
        .bind(id)
        .push(", ")
        .bind(owner)
        .push(", ")
        .bind(input.kind.as_str())
        .push(", ")
        .bind(input.name.trim())
        .push(", ")
        .bind(seal(vault, id, &config)?)
        .push(", ")
        .bind(input.enabled)
        .push(", ")
        .bind(now)
        .push(")");
    db.execute_raw(sql.build()).await?;
    Ok(one(db, vault, owner, id).await?.shown())
}

/// Replaces a channel's settings; secrets sent back masked keep their value.
pub async fn update(
    db: &DatabaseConnection,
    vault: &Vault,
    mailer: Option<&Mailer>,
    owner: Uuid,
    id: Uuid,
    input: &ChannelInput,
) -> Result<Channel, DomainError> {
    let current = one(db, vault, owner, id).await?;
    if current.kind != input.kind {
        return Err(problem("kind", "cannot change; create another channel"));
    }
    let mut input = input.clone();
    if let Value::Object(fields) = &mut input.config {
        for (name, value) in fields.iter_mut() {
            if value == MASK {
                *value = current.config[name].clone();
            }
        }
    }
    let config = checked(&input, mailer)?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE notification_channels SET name = ")
        .bind(input.name.trim())
        .push(", config = ")
        .bind(seal(vault, id, &config)?)
        .push(", enabled = ")
        .bind(input.enabled)
        .push(" WHERE id = ")
        .bind(id);
    db.execute_raw(sql.build()).await?;
    Ok(one(db, vault, owner, id).await?.shown())
}

pub async fn remove(db: &DatabaseConnection, owner: Uuid, id: Uuid) -> Result<(), DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("DELETE FROM notification_channels WHERE id = ")
        .bind(id)
        .push(" AND owner_id = ")
        .bind(owner);
    match db.execute_raw(sql.build()).await?.rows_affected() {
        0 => Err(DomainError::NotFound),
        _ => Ok(()),
    }
}

/// Sends a test message now; the answer says whether it was delivered.
pub async fn test(
    db: &DatabaseConnection,
    vault: &Vault,
    delivery: &Delivery,
    owner: Uuid,
    id: Uuid,
) -> Result<Result<(), String>, DomainError> {
    let channel = one(db, vault, owner, id).await?;
    let message = Message {
        kind: "test".into(),
        title: format!("Test message from Switchyard to “{}”", channel.name),
        body: "If you can read this, alerts reach you here.".into(),
        workflow_id: None,
        incident_id: None,
        rule: None,
        link: None,
        created_at: chrono::Utc::now().to_rfc3339(),
    };
    let result = delivery.send(&channel, &message).await;
    record(db, id, &result).await?;
    Ok(result)
}

/// Notes how the last delivery to a channel went.
pub(super) async fn record(
    db: &DatabaseConnection,
    id: Uuid,
    result: &Result<(), String>,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    match result {
        Ok(()) => sql
            .push("UPDATE notification_channels SET last_error = NULL, last_delivered_at = ")
            .bind(chrono::Utc::now().timestamp_millis()),
        Err(error) => sql
            .push("UPDATE notification_channels SET last_error = ")
            .bind(error.clone()),
    };
    sql.push(" WHERE id = ").bind(id);
    db.execute_raw(sql.build()).await.map(|_| ())
}

/// Sends messages to channels.
#[derive(Clone)]
pub struct Delivery {
    /// User-given URLs go through the outbound guard like any step's call.
    pub http: OutboundClient,
    pub mailer: Option<Mailer>,
}

impl Delivery {
    pub(super) async fn send(&self, channel: &Stored, message: &Message) -> Result<(), String> {
        match channel.kind {
            ChannelKind::Email => self.email(channel, message).await,
            ChannelKind::Slack => {
                let mut text = format!("*{}*\n{}", message.title, message.body);
                if let Some(link) = &message.link {
                    text.push_str(&format!("\n<{link}|Open in Switchyard>"));
                }
                let body = serde_json::to_vec(&json!({ "text": text })).unwrap_or_default();
                let url = channel.config["webhook_url"].as_str().unwrap_or_default();
                self.post(url, body, None).await
            }
            ChannelKind::Webhook => {
                let body = serde_json::to_vec(message).unwrap_or_default();
                let secret = channel.config["secret"].as_str().unwrap_or_default();
                let signature = signature(secret, chrono::Utc::now().timestamp(), &body);
                let url = channel.config["url"].as_str().unwrap_or_default();
                self.post(url, body, Some(signature)).await
            }
        }
    }

    async fn email(&self, channel: &Stored, message: &Message) -> Result<(), String> {
        let mailer = self
            .mailer
            .as_ref()
            .ok_or("no mail server is configured (SWITCHYARD_SMTP_URL)")?;
        let mut text = format!("{}\n\n{}", message.title, message.body);
        if let Some(link) = &message.link {
            text.push_str(&format!("\n\n{link}\n"));
        }
        let to = channel.config["to"].as_str().unwrap_or_default();
        // The operator's own server: not held to the outbound guard.
        let anywhere =
            engine::outbound::OutboundPolicy::parse("0.0.0.0/0, ::/0").expect("the networks parse");
        engine::providers::smtp::send_notice(&anywhere, &mailer.server, to, &message.title, &text)
            .await
            .map_err(|e| e.message)
    }

    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> Result<(), String> {
        let url = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        self.http
            .policy
            .check_url(&url)
            .map_err(|refused| refused.to_string())?;
        let mut request = self
            .http
            .client
            .post(url)
            .timeout(std::time::Duration::from_secs(10))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let request = request.build().map_err(|e| e.to_string())?;
        let response = self.http.send(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the endpoint answered {}", status.as_u16()))
        }
    }
}

/// Delivery attempts per channel and message, and the waits between them.
const DELIVERY_WAITS: [std::time::Duration; 2] = [
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(10),
];

/// Sends `message` to each of `targets` in the background, trying each
/// three times, and notes how it went on the channel.
pub(super) fn deliver_in_background(
    db: &DatabaseConnection,
    delivery: &Delivery,
    targets: Vec<Stored>,
    message: Message,
) {
    for channel in targets {
        let (db, delivery, message) = (db.clone(), delivery.clone(), message.clone());
        tokio::spawn(async move {
            let mut result = delivery.send(&channel, &message).await;
            for wait in DELIVERY_WAITS {
                if result.is_ok() {
                    break;
                }
                tokio::time::sleep(wait).await;
                result = delivery.send(&channel, &message).await;
            }
            if let Err(error) = &result {
                tracing::warn!(channel_id = %channel.id, %error, "an alert did not reach its channel");
            }
            let _ = record(&db, channel.id, &result).await;
        });
    }
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={digest}")
}
