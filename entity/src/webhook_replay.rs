//! A signed webhook delivery seen recently: its content may not start a
//! second run of the workflow until the row expires.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_replays")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    /// Hex SHA-256 of what the signature covers.
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    /// The delivery's idempotency key, when the workflow names a delivery
    /// header: a redelivery under the same key is not a replay.
    pub delivery: Option<String>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
