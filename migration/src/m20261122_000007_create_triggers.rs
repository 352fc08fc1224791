//! Triggers: each webhook workflow's secret URL token, the schedule state
//! of scheduled workflows, and posted events.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Workflows::Table)
                    .add_column(string_len_null(Workflows::WebhookToken, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_workflows_webhook_token")
                    .table(Workflows::Table)
                    .col(Workflows::WebhookToken)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Schedules::Table)
                    .col(uuid(Schedules::WorkflowId).primary_key())
                    .col(uuid(Schedules::OwnerId))
                    .col(string_len(Schedules::Cron, 120))
                    .col(string_len(Schedules::Timezone, 64))
                    .col(string_len(Schedules::Missed, 16))
                    .col(big_integer(Schedules::NextFireAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_schedules_workflow")
                            .from(Schedules::Table, Schedules::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_schedules_next")
                    .table(Schedules::Table)
                    .col(Schedules::NextFireAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(pk_uuid(Events::Id))
                    .col(uuid(Events::OwnerId))
                    .col(string_len(Events::Kind, 200))
                    .col(string_len_null(Events::Source, 200))
                    .col(json_binary(Events::Data))
                    .col(json_binary(Events::ExecutionIds))
                    .col(big_integer(Events::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_events_owner")
                            .from(Events::Table, Events::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_owner_created")
                    .table(Events::Table)
                    .col(Events::OwnerId)
                    .col(Events::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Schedules::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_workflows_webhook_token")
                    .table(Workflows::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Workflows::Table)
                    .drop_column(Workflows::WebhookToken)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
    WebhookToken,
}

#[derive(DeriveIden)]
enum Schedules {
    Table,
    WorkflowId,
    OwnerId,
    Cron,
    Timezone,
    Missed,
    NextFireAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    OwnerId,
    #[sea_orm(iden = "type")]
    Kind,
    Source,
    Data,
    ExecutionIds,
    CreatedAt,
}
