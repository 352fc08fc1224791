//! "Connect": OAuth 2 authorization code with PKCE (RFC 6749 §4.1, RFC
//! 7636 with S256) for `oauth2` connections that have an `authorize_url`.
//!
//! [`Connections::authorize`] draws a `state` and a code verifier, keeps
//! them in `oauth_states` (the state as its SHA-256, the verifier sealed)
//! bound to the user and the session that asked, and answers the
//! provider's authorize URL. [`Connections::complete_authorization`] takes
//! the provider's redirect back: the state must exist, be unexpired,
//! unused and belong to the same session; it is then spent (one
//! conditional update, so two instances cannot both use it), the code is
//! traded at the token URL through the outbound guard, and the tokens are
//! sealed into the connection.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::oauth_state;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{DomainError, audit, connections::Connections, now};

/// How long the user has to approve at the provider.
pub const STATE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Where to send the browser to approve the connection.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Authorization {
    /// The provider's authorize URL with `response_type=code`, `client_id`,
    /// `redirect_uri`, `scope`, `state`, `code_challenge` and
    /// `code_challenge_method=S256`.
    pub url: String,
}

/// What the provider's redirect back carried (`/oauth/callback?...`).
#[derive(Clone, Debug, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's refusal, such as `access_denied`.
    pub error: Option<String>,
}

/// Why a callback stored no tokens: a short code the Connections page
/// explains, and the provider's own error code or the token endpoint's
/// status when there was one. Never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackFailure {
    pub code: &'static str,
    pub reason: Option<String>,
}

impl CallbackFailure {
    fn new(code: &'static str) -> CallbackFailure {
        CallbackFailure { code, reason: None }
    }

    fn because(code: &'static str, reason: impl AsRef<str>) -> CallbackFailure {
        let reason = short(reason.as_ref());
        CallbackFailure {
            code,
            reason: (!reason.is_empty()).then_some(reason),
        }
    }
}

/// Words a provider chose, kept to what is safe to echo into a URL and a page.
fn short(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ','))
        .take(64)
        .collect()
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 256 random bits, URL-safe: a state, or a code verifier (43 characters,
/// as RFC 7636 asks: 43 to 128).
fn random_token() -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 code challenge of a verifier.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn binding(state_hash: &str) -> Vec<u8> {
    format!("oauth_state:{state_hash}:sealed_verifier").into_bytes()
}

fn epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn text<'a>(settings: &'a Value, name: &str) -> Option<&'a str> {
    settings
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

impl Connections {
    /// Starts "Connect" for the session `session_id` of `owner`.
    pub async fn authorize(
        &self,
        owner: Uuid,
        id: Uuid,
        session_id: &str,
        redirect_uri: &str,
    ) -> Result<Authorization, DomainError> {
        let model = self.owned(owner, id).await?;
        if model.kind != "oauth2" {
            return Err(DomainError::invalid(
                "kind",
                format!(
                    "only oauth2 connections connect through the provider; this one is {}",
                    model.kind
                ),
            ));
        }
        let Some(authorize_url) = text(&model.settings, "authorize_url") else {
            return Err(DomainError::invalid(
                "fields.authorize_url",
                "set the connection's authorize_url (the provider's authorization endpoint) to connect",
            ));
        };
        let mut url = reqwest::Url::parse(authorize_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                DomainError::invalid("fields.authorize_url", "must be an http:// or https:// URL")
            })?;
        let client_id = text(&model.settings, "client_id").unwrap_or_default();
        let (state, verifier) = (random_token()?, random_token()?);
        let state_hash = hex_sha256(&state);
        // Attempts nobody finished are dropped as new ones begin.
        oauth_state::Entity::delete_many()
            .filter(oauth_state::Column::ExpiresAt.lt(epoch_ms()))
            .exec(&self.db)
            .await?;
        oauth_state::ActiveModel {
            state_hash: Set(state_hash.clone()),
            connection_id: Set(id),
            user_id: Set(owner),
            session_hash: Set(hex_sha256(session_id)),
            sealed_verifier: Set(self
                .vault
                .seal(verifier.as_bytes(), &binding(&state_hash))?),
            redirect_uri: Set(redirect_uri.to_owned()),
            expires_at: Set(epoch_ms() + STATE_LIFETIME.as_millis() as i64),
            used_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri);
            if let Some(scope) = text(&model.settings, "scope") {
                query.append_pair("scope", scope);
            }
            query
                .append_pair("state", &state)
                .append_pair("code_challenge", &code_challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
        }
        Ok(Authorization { url: url.into() })
    }

    /// Finishes "Connect": checks the state against the session (`user`
    /// and `session_id`, when signed in), trades the code for tokens and
    /// stores them. Answers the connection's id.
    pub async fn complete_authorization(
        &self,
        user: Option<Uuid>,
        session_id: Option<&str>,
        callback: Callback,
    ) -> Result<Uuid, CallbackFailure> {
        let failed = |error: DomainError| {
            tracing::error!(%error, "could not complete an OAuth authorization");
            CallbackFailure::new("failed")
        };
        let Some(state) = callback.state.filter(|s| !s.is_empty() && s.len() <= 200) else {
            return Err(CallbackFailure::new("no_state"));
        };
        let state_hash = hex_sha256(&state);
        let row = oauth_state::Entity::find_by_id(state_hash.clone())
            .one(&self.db)
            .await
            .map_err(|e| failed(e.into()))?
            .ok_or(CallbackFailure::new("unknown_state"))?;
        let same_session = user == Some(row.user_id)
            && session_id.is_some_and(|s| hex_sha256(s) == row.session_hash);
        if !same_session {
            return Err(CallbackFailure::new("other_session"));
        }
        if row.used_at.is_some() {
            return Err(CallbackFailure::new("state_used"));
        }
        let now_ms = epoch_ms();
        if row.expires_at <= now_ms {
            return Err(CallbackFailure::new("state_expired"));
        }
        // Spent before anything else happens: of two callbacks racing on
        // several instances, only one changes the row.
        let spent = oauth_state::Entity::update_many()
            .col_expr(oauth_state::Column::UsedAt, Expr::value(now_ms))
            .filter(oauth_state::Column::StateHash.eq(state_hash.clone()))
            .filter(oauth_state::Column::UsedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(|e| failed(e.into()))?;
        if spent.rows_affected != 1 {
            return Err(CallbackFailure::new("state_used"));
        }
        if let Some(error) = callback.error {
            return Err(CallbackFailure::because("denied", error));
        }
        let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
            return Err(CallbackFailure::new("no_code"));
        };
        let verifier = self
            .vault
            .open(
                &row.sealed_verifier,
                &binding(&state_hash),
                &binding(&state_hash),
            )
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            // Sealed under a key this server no longer has: start again.
            .ok_or(CallbackFailure::new("state_expired"))?;
        let model = match self.owned(row.user_id, row.connection_id).await {
            Ok(model) => model,
            Err(DomainError::NotFound) => return Err(CallbackFailure::new("connection_gone")),
            Err(error) => return Err(failed(error)),
        };
        let mut secret = self.open_secrets(&model).unwrap_or_default();
        let mut plain = model.settings.as_object().cloned().unwrap_or_default();
        let tokens = self
            .exchange_code(&plain, &secret, &code, &verifier, &row.redirect_uri)
            .await?;
        let reconnecting = plain.get("status").and_then(Value::as_str) == Some("reconnect");
        secret.insert("access_token".into(), json!(tokens.access_token));
        match tokens.refresh_token {
            Some(refresh) => {
                secret.insert("refresh_token".into(), json!(refresh));
            }
            // Some providers send a refresh token only on the first consent;
            // the one kept stays unless it is what was refused.
            None if reconnecting => {
                secret.remove("refresh_token");
            }
            None => {}
        }
        match tokens.expires_in {
            Some(seconds) => {
                plain.insert(
                    "expires_at".into(),
                    json!((chrono::Utc::now().timestamp() + seconds).to_string()),
                );
            }
            None => {
                plain.remove("expires_at");
            }
        }
        plain.remove("status");
        plain.remove("status_reason");
        let id = model.id;
        let owner = model.owner_id;
        let sealed = self.seal_secrets(id, &secret).map_err(failed)?;
        let mut active: entity::connection::ActiveModel = model.into();
        active.settings = Set(Value::Object(plain));
        active.sealed_secrets = Set(sealed);
        active.updated_at = Set(now());
        active
            .update(&self.db)
            .await
            .map_err(|e| failed(e.into()))?;
        audit::record(
            &self.db,
            owner,
            owner,
            None,
            "connection.authorized",
            json!({ "connection_id": id, "refresh_token": secret.contains_key("refresh_token") }),
        )
        .await
        .map_err(failed)?;
        Ok(id)
    }

    /// Trades the code at the token URL (form post, client credentials in
    /// the body as refreshing does), never following a redirect.
    async fn exchange_code(
        &self,
        plain: &Map<String, Value>,
        secret: &Map<String, Value>,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, CallbackFailure> {
        let field = |map: &Map<String, Value>, name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let url = field(plain, "token_url")
            .and_then(|u| reqwest::Url::parse(&u).ok())
            .ok_or(CallbackFailure::new("token_url"))?;
        if let Err(refused) = self.http.policy.check_url(&url) {
            tracing::warn!(%refused, "the token URL of a connection is not allowed");
            return Err(CallbackFailure::new("token_url"));
        }
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ];
        if let Some(client_id) = field(plain, "client_id") {
            form.push(("client_id", client_id));
        }
        if let Some(client_secret) = field(secret, "client_secret") {
            form.push(("client_secret", client_secret));
        }
        let response = self
            .http
            .client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|error| {
                // Without the URL: reqwest quotes it, query included.
                tracing::warn!(error = %error.without_url(), "could not reach a token endpoint");
                CallbackFailure::new("token_unreachable")
            })?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match body.get("access_token").and_then(Value::as_str) {
            Some(access_token) if (200..300).contains(&status) && !access_token.is_empty() => {
                Ok(Tokens {
                    access_token: access_token.to_owned(),
                    refresh_token: body
                        .get("refresh_token")
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                    expires_in: body.get("expires_in").and_then(|v| {
                        v.as_i64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    }),
                })
            }
            _ => {
                let code = body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Err(CallbackFailure::because(
                    "token_refused",
                    if code.is_empty() {
                        status.to_string()
                    } else {
                        format!("{status}, {code}")
                    },
                ))
            }
        }
    }
}

/// What the token endpoint granted.
struct Tokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_rfc_7636_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn provider_words_are_kept_short_and_plain() {
        assert_eq!(short("access_denied"), "access_denied");
        assert_eq!(short("<script>x</script>&y=1"), "scriptxscripty1");
        assert_eq!(short(&"a".repeat(500)).len(), 64);
    }

    #[test]
    fn tokens_are_long_and_url_safe() {
        let token = random_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(token, random_token().unwrap());
    }
}
