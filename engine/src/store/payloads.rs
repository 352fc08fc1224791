//! Step values too large to show in a step's row (see `spill`): the row
//! keeps a preview, `step_payloads` the whole JSON text, and a run that
//! resumes (after a wait, a backoff, a restart or a re-run) reads the whole
//! value back instead of the preview.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr};
use serde_json::Value;
use uuid::Uuid;

use super::{StepRow, get, is_spill_marker, rows::insert_rows, sql::Sql, writer::SaveOp};

/// Saves the whole values of the steps `saves` spilled.
pub(super) async fn save(txn: &DatabaseTransaction, saves: &[&SaveOp]) -> Result<(), DbErr> {
    let payloads: Vec<(Uuid, &StepRow, &super::Spilled)> = saves
        .iter()
        .flat_map(|save| {
            save.steps.iter().flat_map(move |step| {
                step.spilled
                    .iter()
                    .map(move |spilled| (save.execution_id, step, spilled))
            })
        })
        .collect();
    if payloads.is_empty() {
        return Ok(());
    }
    insert_rows(
        txn,
        "INSERT INTO step_payloads (execution_id, node_id, item_key, field, body) VALUES ",
        " ON CONFLICT (execution_id, node_id, item_key, field) DO UPDATE SET body = excluded.body",
        &payloads,
        |sql, (execution_id, step, spilled)| {
            sql.bind(*execution_id)
                .push(", ")
                .bind(step.node_id.clone())
                .push(", ")
                .bind(step.item_key.clone());
            sql.push(", ")
                .bind(spilled.field)
                .push(", ")
                .bind(spilled.text.clone());
        },
    )
    .await
    .map(|_| ())
}

/// Puts the whole values back into the loaded `steps` whose rows hold a
/// preview. A payload left from an earlier attempt whose value now fits in
/// its row is ignored.
pub(super) async fn restore(
    db: &DatabaseConnection,
    ids: &[Uuid],
    steps: &mut HashMap<Uuid, Vec<StepRow>>,
) -> Result<(), DbErr> {
    let spilled: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| {
            steps.get(id).is_some_and(|rows| {
                rows.iter().any(|row| {
                    row.input.as_ref().is_some_and(is_spill_marker)
                        || row.output.as_ref().is_some_and(is_spill_marker)
                })
            })
        })
        .collect();
    if spilled.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT execution_id, node_id, item_key, field, body FROM step_payloads WHERE execution_id IN (",
    )
    .list(&spilled)
    .push(")");
    let mut bodies: HashMap<(Uuid, String, String, String), String> = HashMap::new();
    for row in db.query_all_raw(sql.build()).await? {
        bodies.insert(
            (
                get(&row, "execution_id")?,
                get(&row, "node_id")?,
                get(&row, "item_key")?,
                get(&row, "field")?,
            ),
            get(&row, "body")?,
        );
    }
    for id in spilled {
        for step in steps.get_mut(&id).into_iter().flatten() {
            for (field, slot) in [("input", &mut step.input), ("output", &mut step.output)] {
                if !slot.as_ref().is_some_and(is_spill_marker) {
                    continue;
                }
                let key = (
                    id,
                    step.node_id.clone(),
                    step.item_key.clone(),
                    field.to_owned(),
                );
                if let Some(body) = bodies.remove(&key) {
                    let value: Value = serde_json::from_str(&body).map_err(|e| {
                        DbErr::Custom(format!("a saved step value cannot be read: {e}"))
                    })?;
                    *slot = Some(value);
                }
            }
        }
    }
    Ok(())
}
