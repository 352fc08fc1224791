//! Connections as steps use them: decrypted for the run's owner, and OAuth
//! 2 tokens kept fresh. A token is renewed shortly before it expires (from
//! the `expires_in` it came with) and after the service refuses it, one
//! renewal at a time per connection however many runs need it, rotated
//! refresh tokens are kept, and a refused refresh token (`invalid_grant`)
//! marks the connection as needing to be reconnected.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use engine::{
    StepError,
    credentials::{Credential, CredentialFuture, CredentialStore, SecretSlot},
    error::ErrorClass,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    DomainError,
    connections::{ConnectionChange, Connections},
    vault::Vault,
};

/// Tokens this close to their expiry are renewed before use.
const RENEW_AHEAD: Duration = Duration::from_secs(60);
/// A renewal this recent answers for everyone who waited for it.
const FRESH_FOR: Duration = Duration::from_secs(10);

/// The engine's view of connections.
pub struct ConnectionCredentials {
    pub connections: Connections,
    /// Opens secrets stored sealed in workflows.
    pub workflow_secrets: Arc<Vault>,
    /// Per connection: a turn at renewing, and when it was last renewed.
    renewals: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

impl ConnectionCredentials {
    pub fn new(connections: Connections, workflow_secrets: Arc<Vault>) -> ConnectionCredentials {
        ConnectionCredentials {
            connections,
            workflow_secrets,
            renewals: Mutex::default(),
        }
    }

    async fn current(&self, owner: Uuid, id: Uuid) -> Result<Credential, StepError> {
        let (_, credential) = self
            .connections
            .credential(owner, id)
            .await
            .map_err(step_error)?;
        if credential.field("status") == Some("reconnect") {
            let reason = credential
                .field("status_reason")
                .unwrap_or("its token was refused");
            return Err(StepError::new(
                ErrorClass::Auth,
                format!(
                    "the connection needs to be reconnected ({reason}): enter new credentials under Connections"
                ),
            ));
        }
        // Added with an authorize URL but never connected: no token yet.
        if credential.kind == "oauth2"
            && !credential.refreshable()
            && credential
                .field("access_token")
                .is_none_or(|t| t.is_empty())
        {
            return Err(StepError::new(
                ErrorClass::Auth,
                "the connection has no access token yet: press Connect under Connections",
            ));
        }
        Ok(credential)
    }

    /// Renews the connection's token unless someone just did.
    async fn renew(&self, owner: Uuid, id: Uuid) -> Result<Credential, StepError> {
        let turn = self
            .renewals
            .lock()
            .expect("renewals")
            .entry(id)
            .or_default()
            .clone();
        let mut last = turn.lock().await;
        let credential = self.current(owner, id).await?;
        if !credential.refreshable() || last.is_some_and(|at| at.elapsed() < FRESH_FOR) {
            return Ok(credential);
        }
        let renewed = self.exchange(id, &credential).await?;
        *last = Some(Instant::now());
        self.connections
            .update(
                owner,
                id,
                ConnectionChange {
                    name: None,
                    fields: Some(renewed),
                },
            )
            .await
            .map_err(step_error)?;
        self.current(owner, id).await
    }

    /// Trades the refresh token for a new access token at the token URL.
    async fn exchange(
        &self,
        id: Uuid,
        credential: &Credential,
    ) -> Result<Map<String, Value>, StepError> {
        let http = &self.connections.http;
        let token_url = credential.field("token_url").unwrap_or_default();
        let url = reqwest::Url::parse(token_url).map_err(|e| {
            StepError::validation(format!("the connection's token_url is not valid: {e}"))
        })?;
        http.policy
            .check_url(&url)
            .map_err(|refused| StepError::validation(refused.to_string()))?;
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            (
                "refresh_token",
                credential
                    .field("refresh_token")
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ];
        for name in ["client_id", "client_secret", "scope"] {
            if let Some(value) = credential.field(name).filter(|v| !v.is_empty()) {
                form.push((name, value.to_owned()));
            }
        }
        let response = http
            .client
            .post(url)
            .form(&form)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| {
                // reqwest quotes the URL, query keys included.
                StepError::transient(format!(
                    "could not reach the token endpoint: {}",
                    e.without_url()
                ))
            })?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if let Some(access_token) = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|_| status < 400)
        {
            let mut fields = Map::new();
            fields.insert("access_token".into(), json!(access_token));
            // Services that rotate refresh tokens send a new one each time.
            if let Some(refresh) = body.get("refresh_token").and_then(Value::as_str) {
                fields.insert("refresh_token".into(), json!(refresh));
            }
            if let Some(seconds) = body.get("expires_in").and_then(Value::as_i64) {
                fields.insert(
                    "expires_at".into(),
                    json!((chrono::Utc::now().timestamp() + seconds).to_string()),
                );
            }
            return Ok(fields);
        }
        let code = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if code == "invalid_grant" {
            let reason = "the service refused its refresh token (invalid_grant)";
            if let Err(error) = self.connections.mark_for_reconnection(id, reason).await {
                tracing::error!(%error, connection_id = %id, "could not mark the connection for reconnection");
            }
            return Err(StepError::new(
                ErrorClass::Auth,
                format!("the connection needs to be reconnected: {reason}"),
            )
            .with_status(status));
        }
        let class = if status >= 500 || status == 429 {
            ErrorClass::Transient
        } else {
            ErrorClass::Auth
        };
        Err(StepError::new(
            class,
            format!(
                "the token endpoint refused to renew the connection's token ({status}{})",
                if code.is_empty() {
                    String::new()
                } else {
                    format!(", {code}")
                }
            ),
        )
        .with_status(status))
    }
}

/// Whether an OAuth 2 token expires within [`RENEW_AHEAD`].
fn expiring(credential: &Credential) -> bool {
    credential.refreshable()
        && credential
            .field("expires_at")
            .and_then(|at| at.trim().parse::<i64>().ok())
            .is_some_and(|at| at <= chrono::Utc::now().timestamp() + RENEW_AHEAD.as_secs() as i64)
}

fn step_error(error: DomainError) -> StepError {
    match error {
        DomainError::NotFound => {
            StepError::validation("the connection does not exist (or belongs to someone else)")
        }
        // Such as stored secrets that do not open: said as it is, not retried.
        DomainError::Invalid { message, .. } => StepError::validation(message),
        other => StepError::internal(other.to_string()),
    }
}

impl CredentialStore for ConnectionCredentials {
    fn unseal(&self, text: &str, slot: SecretSlot<'_>) -> Result<String, StepError> {
        crate::secrets::unseal(text, slot, &self.workflow_secrets)
            .map_err(|e| StepError::internal(e.to_string()))
    }

    fn load(&self, owner: Uuid, id: Uuid) -> CredentialFuture<'_, Credential> {
        Box::pin(async move {
            let credential = self.current(owner, id).await?;
            if expiring(&credential) {
                return self.renew(owner, id).await;
            }
            Ok(credential)
        })
    }

    fn refresh(&self, owner: Uuid, id: Uuid) -> CredentialFuture<'_, Credential> {
        Box::pin(self.renew(owner, id))
    }
}
