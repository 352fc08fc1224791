//! Indexes for pruning finished runs: by when they ended (the retention
//! age) and by workflow and when they ended (the newest N per workflow),
//! both partial, holding finished runs only, so that the queue's hot rows
//! never update them twice.

use sea_orm_migration::prelude::*;

use crate::m20261122_000004_create_executions::Executions;

#[derive(DeriveMigrationName)]
pub struct Migration;

const FINISHED: &str = "idx_executions_finished";
const WORKFLOW_FINISHED: &str = "idx_executions_workflow_finished";

fn finished() -> SimpleExpr {
    Expr::col(Executions::Status).is_in(["succeeded", "failed", "cancelled"])
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(FINISHED)
                    .table(Executions::Table)
                    .col(Executions::FinishedAt)
                    .and_where(finished())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(WORKFLOW_FINISHED)
                    .table(Executions::Table)
                    .col(Executions::WorkflowId)
                    .col(Executions::FinishedAt)
                    .and_where(finished())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [WORKFLOW_FINISHED, FINISHED] {
            manager
                .drop_index(Index::drop().name(name).table(Executions::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}
