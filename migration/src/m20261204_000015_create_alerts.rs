//! Alerts: rule settings per workflow (`workflows.alert_settings`) and per
//! account (`users.alert_settings`, the default), why a workflow was
//! paused, the channels an account is told through, incidents (one open
//! per workflow, rule and subject, so a rule fires once until it
//! resolves), and the in-app notifications.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            json_binary_null(Workflows::AlertSettings),
            text_null(Workflows::PausedReason),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Workflows::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(json_binary_null(Users::AlertSettings))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationChannels::Table)
                    .col(pk_uuid(NotificationChannels::Id))
                    .col(uuid(NotificationChannels::OwnerId))
                    .col(string_len(NotificationChannels::Kind, 16))
                    .col(string_len(NotificationChannels::Name, 120))
                    .col(text(NotificationChannels::Config))
                    .col(boolean(NotificationChannels::Enabled).default(true))
                    .col(big_integer(NotificationChannels::CreatedAt))
                    .col(big_integer_null(NotificationChannels::LastDeliveredAt))
                    .col(text_null(NotificationChannels::LastError))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_channels_owner")
                            .from(NotificationChannels::Table, NotificationChannels::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Incidents::Table)
                    .col(pk_uuid(Incidents::Id))
                    .col(uuid(Incidents::OwnerId))
                    .col(uuid(Incidents::WorkflowId))
                    .col(string_len(Incidents::Rule, 32))
                    .col(string_len(Incidents::Subject, 128).default(""))
                    .col(text(Incidents::Message))
                    .col(json_binary(Incidents::Details))
                    .col(big_integer(Incidents::OpenedAt))
                    .col(big_integer_null(Incidents::ResolvedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_incidents_workflow")
                            .from(Incidents::Table, Incidents::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // At most one open incident per workflow, rule and subject: the
        // instance whose insert succeeds is the one that notifies.
        manager
            .create_index(
                Index::create()
                    .name("idx_incidents_open")
                    .table(Incidents::Table)
                    .col(Incidents::WorkflowId)
                    .col(Incidents::Rule)
                    .col(Incidents::Subject)
                    .unique()
                    .and_where(Expr::col(Incidents::ResolvedAt).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(uuid(Notifications::OwnerId))
                    .col(uuid_null(Notifications::WorkflowId))
                    .col(uuid_null(Notifications::IncidentId))
                    .col(string_len(Notifications::Kind, 16))
                    .col(text(Notifications::Title))
                    .col(text(Notifications::Body))
                    .col(big_integer(Notifications::CreatedAt))
                    .col(big_integer_null(Notifications::ReadAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_owner")
                            .from(Notifications::Table, Notifications::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_owner")
                    .table(Notifications::Table)
                    .col(Notifications::OwnerId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notifications::Table.into_table_ref(),
            Incidents::Table.into_table_ref(),
            NotificationChannels::Table.into_table_ref(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::AlertSettings)
                    .to_owned(),
            )
            .await?;
        for column in [Workflows::PausedReason, Workflows::AlertSettings] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Workflows::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
    AlertSettings,
    PausedReason,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AlertSettings,
}

#[derive(DeriveIden)]
enum NotificationChannels {
    Table,
    Id,
    OwnerId,
    Kind,
    Name,
    Config,
    Enabled,
    CreatedAt,
    LastDeliveredAt,
    LastError,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
    OwnerId,
    WorkflowId,
    Rule,
    Subject,
    Message,
    Details,
    OpenedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    OwnerId,
    WorkflowId,
    IncidentId,
    Kind,
    Title,
    Body,
    CreatedAt,
    ReadAt,
}
