//! When an active scheduled workflow fires next.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    pub owner_id: Uuid,
    pub cron: String,
    pub timezone: String,
    /// What to do about fire times missed while nothing ran: `skip` or `run_once`.
    pub missed: String,
    /// Epoch milliseconds.
    pub next_fire_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
