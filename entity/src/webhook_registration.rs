//! A webhook registered with a provider for a workflow's trigger.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_registrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    /// `stripe`, `github`.
    pub provider: String,
    /// The connection it was registered with (and is removed with).
    pub connection_id: Uuid,
    /// The provider's id for the hook.
    pub remote_id: String,
    /// The webhook URL registered.
    pub url: String,
    /// The signing secret, sealed.
    pub sealed_secret: String,
    /// Epoch milliseconds.
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
