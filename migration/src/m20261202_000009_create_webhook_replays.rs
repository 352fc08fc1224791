//! Signed webhook deliveries seen recently, one row per workflow and signed
//! content, so that a captured delivery sent again (with a new delivery id,
//! to any instance sharing the database) starts no second run. Rows expire
//! (`expires_at`, epoch milliseconds) and are pruned.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const EXPIRES: &str = "idx_webhook_replays_expires";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookReplays::Table)
                    .col(uuid(WebhookReplays::WorkflowId))
                    .col(string_len(WebhookReplays::Digest, 64))
                    .col(string_len_null(WebhookReplays::Delivery, 255))
                    .col(big_integer(WebhookReplays::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(WebhookReplays::WorkflowId)
                            .col(WebhookReplays::Digest),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_replays_workflow")
                            .from(WebhookReplays::Table, WebhookReplays::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(EXPIRES)
                    .table(WebhookReplays::Table)
                    .col(WebhookReplays::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookReplays::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookReplays {
    Table,
    WorkflowId,
    Digest,
    Delivery,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
}
