//! The log of everything that happened to an execution, in order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "execution_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub execution_id: Uuid,
    pub owner_id: Uuid,
    /// 1, 2, 3, … within the execution, without gaps.
    pub seq: i32,
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
