//! One run of a workflow. Times are epoch milliseconds.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "executions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub owner_id: Uuid,
    /// The saved version (in `workflow_versions`) the run follows.
    pub workflow_version: i32,
    pub status: String,
    /// `{"kind": "manual" | "webhook" | …, "payload": …}`
    #[sea_orm(column_type = "JsonBinary")]
    pub trigger: Json,
    pub idempotency_key: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub error: Option<Json>,
    /// When a worker may next pick the run up.
    pub run_after: i64,
    pub lease_owner: Option<String>,
    pub lease_token: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub cancel_requested: bool,
    /// How many times the run was started again after failing.
    pub run_count: i32,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::step_run::Entity")]
    StepRun,
}

impl Related<super::step_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StepRun.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
