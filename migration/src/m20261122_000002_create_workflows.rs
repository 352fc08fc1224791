//! Workflows: the graph a user edits, stored as one JSON definition.

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
                    .table(Workflows::Table)
                    .col(pk_uuid(Workflows::Id))
                    .col(uuid(Workflows::OwnerId))
                    .col(string_len(Workflows::Name, 200))
                    .col(text(Workflows::Description).default(""))
                    .col(string_len(Workflows::Status, 16).default("draft"))
                    .col(integer(Workflows::Version).default(1))
                    .col(json_binary(Workflows::Definition))
                    .col(timestamp_with_time_zone(Workflows::CreatedAt))
                    .col(timestamp_with_time_zone(Workflows::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflows_owner")
                            .from(Workflows::Table, Workflows::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_workflows_owner_updated")
                    .table(Workflows::Table)
                    .col(Workflows::OwnerId)
                    .col(Workflows::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Workflows::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
    OwnerId,
    Name,
    Description,
    Status,
    Version,
    Definition,
    CreatedAt,
    UpdatedAt,
}
