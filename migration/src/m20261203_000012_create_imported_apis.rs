//! APIs users imported from OpenAPI documents: the description their node
//! kinds are built from (not the document), one per id and owner.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportedApis::Table)
                    .col(uuid(ImportedApis::Id).primary_key())
                    .col(uuid(ImportedApis::OwnerId))
                    .col(string_len(ImportedApis::ProviderId, 64))
                    .col(string_len(ImportedApis::Name, 128))
                    .col(text(ImportedApis::Description))
                    .col(integer(ImportedApis::Revision))
                    .col(big_integer(ImportedApis::CreatedAt))
                    .col(big_integer(ImportedApis::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_imported_apis_owner")
                            .from(ImportedApis::Table, ImportedApis::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_imported_apis_owner_provider")
                    .table(ImportedApis::Table)
                    .col(ImportedApis::OwnerId)
                    .col(ImportedApis::ProviderId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportedApis::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ImportedApis {
    Table,
    Id,
    OwnerId,
    ProviderId,
    Name,
    Description,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
