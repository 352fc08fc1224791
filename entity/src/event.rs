//! An event posted to `/api/v1/events`, with the runs it started.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub source: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    /// Ids of the runs the event started.
    #[sea_orm(column_type = "JsonBinary")]
    pub execution_ids: Json,
    /// Epoch milliseconds.
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
