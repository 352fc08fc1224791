//! Personal API tokens: `sy_` and 43 random characters, shown once; only
//! their SHA-256 is stored.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::api_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{DomainError, accounts::Account, audit, now};

pub const PREFIX: &str = "sy_";
const MAX_NAME_CHARS: usize = 100;
/// Records a token's use at most this often, to spare a write per request.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    /// The start of the token, to recognise it.
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<api_token::Model> for TokenInfo {
    fn from(token: api_token::Model) -> Self {
        TokenInfo {
            id: token.id,
            name: token.name,
            prefix: token.prefix,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
        }
    }
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a token; the plain token is returned only here.
pub async fn create(
    db: &DatabaseConnection,
    owner: Uuid,
    name: &str,
) -> Result<(TokenInfo, String), DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("give the token a name of 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| DomainError::Internal(e.to_string()))?;
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let model = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(owner),
        name: Set(name.to_owned()),
        token_hash: Set(hash(&token)),
        prefix: Set(token[..PREFIX.len() + 6].to_owned()),
        created_at: Set(now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        owner,
        owner,
        None,
        "token.created",
        serde_json::json!({ "token_id": model.id, "name": model.name }),
    )
    .await?;
    Ok((model.into(), token))
}

pub async fn list(db: &DatabaseConnection, owner: Uuid) -> Result<Vec<TokenInfo>, DomainError> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::OwnerId.eq(owner))
        .filter(api_token::Column::RevokedAt.is_null())
        .order_by_desc(api_token::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(TokenInfo::from)
        .collect())
}

/// Revokes a token of `owner`; it stops working at once.
pub async fn revoke(db: &DatabaseConnection, owner: Uuid, id: Uuid) -> Result<(), DomainError> {
    let token = api_token::Entity::find_by_id(id)
        .filter(api_token::Column::OwnerId.eq(owner))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)?;
    let name = token.name.clone();
    let mut active: api_token::ActiveModel = token.into();
    active.revoked_at = Set(Some(now()));
    active.update(db).await?;
    audit::record(
        db,
        owner,
        owner,
        None,
        "token.revoked",
        serde_json::json!({ "token_id": id, "name": name }),
    )
    .await?;
    Ok(())
}

/// The account a presented token belongs to, if it is valid and not revoked.
pub async fn authenticate(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<Account>, DomainError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let Some(found) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = now();
    if found
        .last_used_at
        .is_none_or(|at| (now - at).num_seconds() >= LAST_USED_GRANULARITY_SECS)
    {
        let owner = found.owner_id;
        let mut active: api_token::ActiveModel = found.into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
        return crate::accounts::find(db, owner).await;
    }
    crate::accounts::find(db, found.owner_id).await
}
