//! OAuth 2 authorization-code attempts in flight: the `state` sent to the
//! provider (as its SHA-256), the PKCE verifier (sealed), and whose session
//! started it. A table rather than the session, so that the callback may
//! land on any instance sharing the database; rows are single use and
//! expire after minutes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    .col(string_len(OauthStates::StateHash, 64).primary_key())
                    .col(uuid(OauthStates::ConnectionId))
                    .col(uuid(OauthStates::UserId))
                    .col(string_len(OauthStates::SessionHash, 64))
                    .col(text(OauthStates::SealedVerifier))
                    .col(text(OauthStates::RedirectUri))
                    .col(big_integer(OauthStates::ExpiresAt))
                    .col(big_integer_null(OauthStates::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_states_connection")
                            .from(OauthStates::Table, OauthStates::ConnectionId)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_states_user")
                            .from(OauthStates::Table, OauthStates::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_oauth_states_expires_at")
                    .table(OauthStates::Table)
                    .col(OauthStates::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OauthStates::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    StateHash,
    ConnectionId,
    UserId,
    SessionHash,
    SealedVerifier,
    RedirectUri,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
