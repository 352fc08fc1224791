//! Whole step values too large to show in a step's row: the row keeps a
//! preview, this table the whole JSON text (as text, read back only when
//! a run resumes), so that nothing a run needs is lost to the display cap.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000004_create_executions::Executions;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StepPayloads::Table)
                    .col(uuid(StepPayloads::ExecutionId))
                    .col(string_len(StepPayloads::NodeId, 64))
                    .col(string_len(StepPayloads::ItemKey, 64))
                    .col(string_len(StepPayloads::Field, 8))
                    .col(text(StepPayloads::Body))
                    .primary_key(
                        Index::create()
                            .col(StepPayloads::ExecutionId)
                            .col(StepPayloads::NodeId)
                            .col(StepPayloads::ItemKey)
                            .col(StepPayloads::Field),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_step_payloads_execution")
                            .from(StepPayloads::Table, StepPayloads::ExecutionId)
                            .to(Executions::Table, Executions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StepPayloads::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StepPayloads {
    Table,
    ExecutionId,
    NodeId,
    ItemKey,
    Field,
    Body,
}
