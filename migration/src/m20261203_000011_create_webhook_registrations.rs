//! Webhooks Switchyard registered with a provider for a workflow's trigger
//! (Stripe `webhook_endpoints`, GitHub hooks): the provider's id for the
//! hook, to remove it, and the signing secret, sealed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookRegistrations::Table)
                    .col(uuid(WebhookRegistrations::WorkflowId).primary_key())
                    .col(string_len(WebhookRegistrations::Provider, 64))
                    .col(uuid(WebhookRegistrations::ConnectionId))
                    .col(string_len(WebhookRegistrations::RemoteId, 255))
                    .col(text(WebhookRegistrations::Url))
                    .col(text(WebhookRegistrations::SealedSecret))
                    .col(big_integer(WebhookRegistrations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_registrations_workflow")
                            .from(
                                WebhookRegistrations::Table,
                                WebhookRegistrations::WorkflowId,
                            )
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookRegistrations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookRegistrations {
    Table,
    WorkflowId,
    Provider,
    ConnectionId,
    RemoteId,
    Url,
    SealedSecret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
}
