//! Durable execution: runs, their steps, their event log, and the
//! dead-letter queue. Engine times are epoch milliseconds (BIGINT), which
//! compare and index the same way on SQLite and Postgres.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Executions::Table)
                    .col(pk_uuid(Executions::Id))
                    .col(uuid(Executions::WorkflowId))
                    .col(uuid(Executions::OwnerId))
                    .col(integer(Executions::WorkflowVersion))
                    .col(string_len(Executions::Status, 16))
                    .col(json_binary(Executions::Trigger))
                    .col(string_len(Executions::IdempotencyKey, 255))
                    .col(json_binary_null(Executions::Error))
                    .col(big_integer(Executions::RunAfter))
                    .col(string_len_null(Executions::LeaseOwner, 64))
                    .col(string_len_null(Executions::LeaseToken, 64))
                    .col(big_integer_null(Executions::LeaseExpiresAt))
                    .col(boolean(Executions::CancelRequested).default(false))
                    .col(integer(Executions::RunCount).default(0))
                    .col(big_integer(Executions::CreatedAt))
                    .col(big_integer_null(Executions::StartedAt))
                    .col(big_integer_null(Executions::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_executions_owner")
                            .from(Executions::Table, Executions::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_executions_workflow")
                            .from(Executions::Table, Executions::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "idx_executions_claim",
                vec![Executions::Status, Executions::RunAfter],
                false,
            ),
            (
                "idx_executions_owner_created",
                vec![Executions::OwnerId, Executions::CreatedAt],
                false,
            ),
            (
                "idx_executions_workflow_created",
                vec![Executions::WorkflowId, Executions::CreatedAt],
                false,
            ),
            (
                "idx_executions_idempotency",
                vec![Executions::WorkflowId, Executions::IdempotencyKey],
                true,
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(Executions::Table)
                .to_owned();
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(StepRuns::Table)
                    .col(uuid(StepRuns::ExecutionId))
                    .col(string_len(StepRuns::NodeId, 64))
                    .col(string_len(StepRuns::ItemKey, 64).default(""))
                    .col(string_len(StepRuns::Status, 16))
                    .col(integer(StepRuns::Attempts).default(0))
                    .col(string_len_null(StepRuns::Port, 64))
                    .col(json_binary_null(StepRuns::Input))
                    .col(json_binary_null(StepRuns::Output))
                    .col(json_binary_null(StepRuns::Error))
                    .col(big_integer_null(StepRuns::StartedAt))
                    .col(big_integer_null(StepRuns::FinishedAt))
                    .col(big_integer_null(StepRuns::WakeAt))
                    .primary_key(
                        Index::create()
                            .col(StepRuns::ExecutionId)
                            .col(StepRuns::NodeId)
                            .col(StepRuns::ItemKey),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_step_runs_execution")
                            .from(StepRuns::Table, StepRuns::ExecutionId)
                            .to(Executions::Table, Executions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExecutionEvents::Table)
                    .col(big_pk_auto(ExecutionEvents::Id))
                    .col(uuid(ExecutionEvents::ExecutionId))
                    .col(uuid(ExecutionEvents::OwnerId))
                    .col(integer(ExecutionEvents::Seq))
                    .col(string_len(ExecutionEvents::Kind, 32))
                    .col(json_binary(ExecutionEvents::Data))
                    .col(big_integer(ExecutionEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_execution_events_execution")
                            .from(ExecutionEvents::Table, ExecutionEvents::ExecutionId)
                            .to(Executions::Table, Executions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_execution_events_seq")
                    .table(ExecutionEvents::Table)
                    .col(ExecutionEvents::ExecutionId)
                    .col(ExecutionEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_execution_events_owner")
                    .table(ExecutionEvents::Table)
                    .col(ExecutionEvents::OwnerId)
                    .col(ExecutionEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeadLetters::Table)
                    .col(pk_uuid(DeadLetters::Id))
                    .col(uuid_uniq(DeadLetters::ExecutionId))
                    .col(uuid(DeadLetters::OwnerId))
                    .col(uuid(DeadLetters::WorkflowId))
                    .col(string_len(DeadLetters::NodeId, 64))
                    .col(text(DeadLetters::Reason))
                    .col(json_binary(DeadLetters::Error))
                    .col(big_integer(DeadLetters::CreatedAt))
                    .col(big_integer_null(DeadLetters::RedrivenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dead_letters_execution")
                            .from(DeadLetters::Table, DeadLetters::ExecutionId)
                            .to(Executions::Table, Executions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dead_letters_owner")
                    .table(DeadLetters::Table)
                    .col(DeadLetters::OwnerId)
                    .col(DeadLetters::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DeadLetters::Table.into_table_ref(),
            ExecutionEvents::Table.into_table_ref(),
            StepRuns::Table.into_table_ref(),
            Executions::Table.into_table_ref(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
}

#[derive(DeriveIden)]
pub(crate) enum Executions {
    Table,
    Id,
    WorkflowId,
    OwnerId,
    WorkflowVersion,
    Status,
    Trigger,
    IdempotencyKey,
    Error,
    RunAfter,
    LeaseOwner,
    LeaseToken,
    LeaseExpiresAt,
    CancelRequested,
    RunCount,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum StepRuns {
    Table,
    ExecutionId,
    NodeId,
    ItemKey,
    Status,
    Attempts,
    Port,
    Input,
    Output,
    Error,
    StartedAt,
    FinishedAt,
    WakeAt,
}

#[derive(DeriveIden)]
enum ExecutionEvents {
    Table,
    Id,
    ExecutionId,
    OwnerId,
    Seq,
    Kind,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    Id,
    ExecutionId,
    OwnerId,
    WorkflowId,
    NodeId,
    Reason,
    Error,
    CreatedAt,
    RedrivenAt,
}
