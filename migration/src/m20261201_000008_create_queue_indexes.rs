//! The queue's indexes hold only the rows a worker looks for: runs that
//! are due (queued or waiting, by `run_after`) and runs under a lease (by
//! when it expires). The index they replace, on (status, run_after),
//! could not serve `status IN ('queued', 'waiting') ORDER BY run_after`
//! in order, so every claim read and sorted the whole backlog.

use sea_orm_migration::prelude::*;

use crate::m20261122_000004_create_executions::Executions;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DUE: &str = "idx_executions_due";
const LEASED: &str = "idx_executions_leased";
const CLAIM: &str = "idx_executions_claim";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(DUE)
                    .table(Executions::Table)
                    .col(Executions::RunAfter)
                    .and_where(Expr::col(Executions::Status).is_in(["queued", "waiting"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(LEASED)
                    .table(Executions::Table)
                    .col(Executions::LeaseExpiresAt)
                    .and_where(Expr::col(Executions::Status).eq("running"))
                    .to_owned(),
            )
            .await?;
        drop_index(manager, CLAIM).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(CLAIM)
                    .table(Executions::Table)
                    .col(Executions::Status)
                    .col(Executions::RunAfter)
                    .to_owned(),
            )
            .await?;
        drop_index(manager, LEASED).await?;
        drop_index(manager, DUE).await
    }
}

async fn drop_index(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(Executions::Table).to_owned())
        .await
}
