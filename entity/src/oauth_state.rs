//! An OAuth 2 authorization-code attempt in flight, bound to the session
//! that started it; single use, expiring after minutes.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    /// Hex SHA-256 of the `state` sent to the provider.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    pub connection_id: Uuid,
    pub user_id: Uuid,
    /// Hex SHA-256 of the id of the session that started the attempt.
    pub session_hash: String,
    /// The PKCE code verifier, sealed with the connections' key.
    #[sea_orm(column_type = "Text")]
    pub sealed_verifier: String,
    /// The `redirect_uri` sent, which the code exchange must repeat.
    #[sea_orm(column_type = "Text")]
    pub redirect_uri: String,
    /// Epoch milliseconds.
    pub expires_at: i64,
    /// Epoch milliseconds; set once the callback used it.
    pub used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
