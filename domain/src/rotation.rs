//! Key rotation: every sealed value in the database (connections' secrets,
//! registered webhooks' signing secrets, secrets written into workflows
//! and into their saved versions, notification channels' settings) is opened with whichever configured key
//! sealed it and sealed anew, bound to the same place, under the current
//! key. Values already under the current key are left alone, so running it
//! again is harmless; rows are read in batches, each written in one
//! transaction. A row changed meanwhile by a running server (which seals
//! under the same current key) is left as that server wrote it. Nothing
//! reported holds a secret: counts, row ids and why a value did not open.

use entity::{connection, webhook_registration, workflow, workflow_version};
use model::Catalogue;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, TransactionTrait, sea_query::Expr,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    DomainError, connections, secrets,
    vault::{Keyring, SealError, Vault, purpose},
    webhook_registrations,
};

/// What the rotation did to one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableReport {
    pub table: &'static str,
    /// Rows read.
    pub rows: u64,
    /// Sealed values sealed anew under the current key.
    pub resealed: u64,
    /// Rows whose values were all under the current key already.
    pub current: u64,
    /// Rows changed by someone else between reading and writing: left as
    /// they are (what a server writes is sealed under the current key).
    pub changed_meanwhile: u64,
}

/// A row whose sealed value did not open: it keeps its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unopened {
    pub table: &'static str,
    /// The row's id (`workflow id/version` for saved versions).
    pub row: String,
    /// Why, never the value.
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct RotationReport {
    pub tables: Vec<TableReport>,
    pub unopened: Vec<Unopened>,
}

/// Re-seals everything under `keys`' current key, `batch` rows at a time.
pub async fn reseal_all(
    db: &DatabaseConnection,
    keys: &Keyring,
    catalogue: &Catalogue,
    batch: u64,
) -> Result<RotationReport, DomainError> {
    let batch = batch.max(1);
    let connections_vault = keys.vault(purpose::CONNECTIONS);
    let workflow_vault = keys.vault(purpose::WORKFLOW_SECRETS);
    let mut report = RotationReport::default();
    let mut unopened = Vec::new();
    report
        .tables
        .push(connections(db, &connections_vault, batch, &mut unopened).await?);
    report
        .tables
        .push(registrations(db, &workflow_vault, batch, &mut unopened).await?);
    report
        .tables
        .push(workflows(db, &workflow_vault, catalogue, batch, &mut unopened).await?);
    report
        .tables
        .push(versions(db, &workflow_vault, catalogue, batch, &mut unopened).await?);
    let channels_vault = keys.vault(purpose::NOTIFICATION_CHANNELS);
    report
        .tables
        .push(channels(db, &channels_vault, batch, &mut unopened).await?);
    report.unopened = unopened;
    Ok(report)
}

/// Counts a row read and seals its value anew: `None` when it is under the
/// current key already (counted) or does not open (reported, left as it is).
fn reseal_row(
    report: &mut TableReport,
    unopened: &mut Vec<Unopened>,
    row: String,
    current: bool,
    reseal: impl FnOnce() -> Result<String, SealError>,
) -> Option<String> {
    report.rows += 1;
    if current {
        report.current += 1;
        return None;
    }
    match reseal() {
        Ok(resealed) => Some(resealed),
        Err(error) => {
            unopened.push(Unopened {
                table: report.table,
                row,
                reason: error.to_string(),
            });
            None
        }
    }
}

/// Counts one row that was written (`affected`) or not.
fn written(report: &mut TableReport, affected: u64, values: u64) {
    if affected == 0 {
        report.changed_meanwhile += 1;
    } else {
        report.resealed += values;
    }
}

async fn connections(
    db: &DatabaseConnection,
    vault: &Vault,
    batch: u64,
    unopened: &mut Vec<Unopened>,
) -> Result<TableReport, DomainError> {
    let mut report = TableReport {
        table: "connections",
        ..TableReport::default()
    };
    let mut after: Option<Uuid> = None;
    loop {
        let rows = connection::Entity::find()
            .apply_if(after, |q, id| q.filter(connection::Column::Id.gt(id)))
            .order_by_asc(connection::Column::Id)
            .limit(batch)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        let txn = db.begin().await?;
        for row in rows {
            let current = vault.is_current(&row.sealed_secrets);
            let Some(resealed) =
                reseal_row(&mut report, unopened, row.id.to_string(), current, || {
                    connections::open_sealed(vault, &row)
                        .and_then(|plain| vault.seal(&plain, &connections::binding(row.id)))
                })
            else {
                continue;
            };
            // Written only if unchanged since read.
            let affected = connection::Entity::update_many()
                .col_expr(connection::Column::SealedSecrets, Expr::value(resealed))
                .filter(connection::Column::Id.eq(row.id))
                .filter(connection::Column::SealedSecrets.eq(row.sealed_secrets))
                .exec(&txn)
                .await?
                .rows_affected;
            written(&mut report, affected, 1);
        }
        txn.commit().await?;
    }
    Ok(report)
}

async fn registrations(
    db: &DatabaseConnection,
    vault: &Vault,
    batch: u64,
    unopened: &mut Vec<Unopened>,
) -> Result<TableReport, DomainError> {
    use webhook_registration::Column;
    let mut report = TableReport {
        table: "webhook_registrations",
        ..TableReport::default()
    };
    let mut after: Option<Uuid> = None;
    loop {
        let rows = webhook_registration::Entity::find()
            .apply_if(after, |q, id| q.filter(Column::WorkflowId.gt(id)))
            .order_by_asc(Column::WorkflowId)
            .limit(batch)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.workflow_id);
        let txn = db.begin().await?;
        for row in rows {
            let current = vault.is_current(&row.sealed_secret);
            let Some(resealed) = reseal_row(
                &mut report,
                unopened,
                row.workflow_id.to_string(),
                current,
                || {
                    webhook_registrations::open_sealed(vault, &row).and_then(|plain| {
                        webhook_registrations::seal(vault, row.workflow_id, &plain)
                    })
                },
            ) else {
                continue;
            };
            let affected = webhook_registration::Entity::update_many()
                .col_expr(Column::SealedSecret, Expr::value(resealed))
                .filter(Column::WorkflowId.eq(row.workflow_id))
                .filter(Column::SealedSecret.eq(row.sealed_secret))
                .exec(&txn)
                .await?
                .rows_affected;
            written(&mut report, affected, 1);
        }
        txn.commit().await?;
    }
    Ok(report)
}

/// Notification channels' settings, bound to the channel's id.
async fn channels(
    db: &DatabaseConnection,
    vault: &Vault,
    batch: u64,
    unopened: &mut Vec<Unopened>,
) -> Result<TableReport, DomainError> {
    use engine::store::sql::Sql;
    let mut report = TableReport {
        table: "notification_channels",
        ..TableReport::default()
    };
    let backend = db.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = Sql::new(backend);
        page.push("SELECT id, config FROM notification_channels");
        if let Some(after) = after {
            page.push(" WHERE id > ").bind(after);
        }
        page.push(" ORDER BY id LIMIT ").bind(batch as i64);
        let rows = db.query_all_raw(page.build()).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.try_get("", "id")?);
        let txn = db.begin().await?;
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let sealed: String = row.try_get("", "config")?;
            let Some(resealed) = reseal_row(
                &mut report,
                unopened,
                id.to_string(),
                vault.is_current(&sealed),
                || {
                    vault
                        .open(&sealed, id.as_bytes(), id.as_bytes())
                        .and_then(|plain| vault.seal(&plain, id.as_bytes()))
                },
            ) else {
                continue;
            };
            let mut update = Sql::new(backend);
            update
                .push("UPDATE notification_channels SET config = ")
                .bind(resealed)
                .push(" WHERE id = ")
                .bind(id)
                .push(" AND config = ")
                .bind(sealed);
            let affected = txn.execute_raw(update.build()).await?.rows_affected();
            written(&mut report, affected, 1);
        }
        txn.commit().await?;
    }
    Ok(report)
}

/// Re-seals a stored definition; `None` when nothing in it needed to be.
fn rotate_definition(
    definition: &Value,
    catalogue: &Catalogue,
    vault: &Vault,
    workflow_id: Uuid,
) -> Result<Option<(Value, u64)>, DomainError> {
    // Most workflows hold no secret: not worth parsing.
    if !definition.to_string().contains("\"sealed:") {
        return Ok(None);
    }
    let mut rotated = definition.clone();
    let count = secrets::rotate(&mut rotated, catalogue, vault, workflow_id)?;
    Ok((count > 0).then_some((rotated, count as u64)))
}

async fn workflows(
    db: &DatabaseConnection,
    vault: &Vault,
    catalogue: &Catalogue,
    batch: u64,
    unopened: &mut Vec<Unopened>,
) -> Result<TableReport, DomainError> {
    use workflow::Column;
    let mut report = TableReport {
        table: "workflows",
        ..TableReport::default()
    };
    let mut after: Option<Uuid> = None;
    loop {
        let rows: Vec<(Uuid, i32, Value)> = workflow::Entity::find()
            .select_only()
            .columns([Column::Id, Column::Version, Column::Definition])
            .apply_if(after, |q, id| q.filter(Column::Id.gt(id)))
            .order_by_asc(Column::Id)
            .limit(batch)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0);
        let txn = db.begin().await?;
        for (id, version, definition) in rows {
            report.rows += 1;
            let (rotated, count) = match rotate_definition(&definition, catalogue, vault, id) {
                Ok(Some(rotated)) => rotated,
                Ok(None) => {
                    report.current += 1;
                    continue;
                }
                Err(error) => {
                    unopened.push(Unopened {
                        table: report.table,
                        row: id.to_string(),
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            // Every save of a definition raises the version: unchanged
            // since read if the version is the same.
            let affected = workflow::Entity::update_many()
                .col_expr(Column::Definition, Expr::value(rotated))
                .filter(Column::Id.eq(id))
                .filter(Column::Version.eq(version))
                .exec(&txn)
                .await?
                .rows_affected;
            written(&mut report, affected, count);
        }
        txn.commit().await?;
    }
    Ok(report)
}

async fn versions(
    db: &DatabaseConnection,
    vault: &Vault,
    catalogue: &Catalogue,
    batch: u64,
    unopened: &mut Vec<Unopened>,
) -> Result<TableReport, DomainError> {
    use workflow_version::Column;
    let mut report = TableReport {
        table: "workflow_versions",
        ..TableReport::default()
    };
    let mut after: Option<(Uuid, i32)> = None;
    loop {
        let rows: Vec<(Uuid, i32, Value)> = workflow_version::Entity::find()
            .select_only()
            .columns([Column::WorkflowId, Column::Version, Column::Definition])
            .apply_if(after, |q, (id, version)| {
                q.filter(
                    Condition::any().add(Column::WorkflowId.gt(id)).add(
                        Condition::all()
                            .add(Column::WorkflowId.eq(id))
                            .add(Column::Version.gt(version)),
                    ),
                )
            })
            .order_by_asc(Column::WorkflowId)
            .order_by_asc(Column::Version)
            .limit(batch)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.0, last.1));
        let txn = db.begin().await?;
        for (id, version, definition) in rows {
            report.rows += 1;
            let (rotated, count) = match rotate_definition(&definition, catalogue, vault, id) {
                Ok(Some(rotated)) => rotated,
                Ok(None) => {
                    report.current += 1;
                    continue;
                }
                Err(error) => {
                    unopened.push(Unopened {
                        table: report.table,
                        row: format!("{id}/{version}"),
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            // Saved versions never change otherwise.
            let affected = update_version(&txn, id, version, rotated).await?;
            written(&mut report, affected, count);
        }
        txn.commit().await?;
    }
    Ok(report)
}

async fn update_version(
    txn: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    definition: Value,
) -> Result<u64, DomainError> {
    use workflow_version::Column;
    Ok(workflow_version::Entity::update_many()
        .col_expr(Column::Definition, Expr::value(definition))
        .filter(Column::WorkflowId.eq(id))
        .filter(Column::Version.eq(version))
        .exec(txn)
        .await?
        .rows_affected)
}
