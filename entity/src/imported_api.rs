//! An API a user imported from an OpenAPI document.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "imported_apis")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    /// The prefix of its node kinds (`acme`).
    pub provider_id: String,
    pub name: String,
    /// `engine::providers::openapi::ApiDescription` as JSON.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// 1 on import, one more on every re-import.
    pub revision: i32,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
