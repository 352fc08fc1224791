//! A connection: credentials for one service. Plain settings (user names,
//! URLs) are readable; secrets are sealed with the installation's key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    /// `bearer`, `basic`, `header` or `oauth2`.
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Json,
    /// Nonce and ciphertext of the secret fields, base64.
    #[sea_orm(column_type = "Text")]
    pub sealed_secrets: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
