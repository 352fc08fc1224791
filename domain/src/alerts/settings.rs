//! Where alert rules live: an account's default (`users.alert_settings`)
//! and a workflow's own (`workflows.alert_settings`), checked before they
//! are stored.

use engine::store::sql::Sql;
use model::alerts::AlertSettings;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{DomainError, FieldProblem};

/// A workflow's rules, and whether they are the account's default.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WorkflowAlerts {
    pub settings: AlertSettings,
    /// True when the workflow has no rules of its own.
    pub inherited: bool,
}

fn invalid(settings: &AlertSettings) -> Result<(), DomainError> {
    let problems = settings.problems();
    if problems.is_empty() {
        return Ok(());
    }
    Err(DomainError::Invalid {
        message: format!("{} {}", problems[0].field, problems[0].message),
        fields: problems
            .iter()
            .map(|p| FieldProblem::new(p.field, p.message.clone()))
            .collect(),
    })
}

pub(super) fn parse(value: Option<Value>) -> Option<AlertSettings> {
    value.and_then(|v| serde_json::from_value(v).ok())
}

/// The account's default rules.
pub async fn account_settings(
    db: &DatabaseConnection,
    owner: Uuid,
) -> Result<AlertSettings, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT alert_settings FROM users WHERE id = ")
        .bind(owner);
    let row = db
        .query_one_raw(sql.build())
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(parse(row.try_get("", "alert_settings")?).unwrap_or_default())
}

pub async fn set_account_settings(
    db: &DatabaseConnection,
    owner: Uuid,
    settings: &AlertSettings,
) -> Result<AlertSettings, DomainError> {
    invalid(settings)?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE users SET alert_settings = ");
    sql.bind_json(Some(&json!(settings)))
        .push(" WHERE id = ")
        .bind(owner);
    db.execute_raw(sql.build()).await?;
    account_settings(db, owner).await
}

pub async fn workflow_settings(
    db: &DatabaseConnection,
    owner: Uuid,
    workflow: Uuid,
) -> Result<WorkflowAlerts, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT w.alert_settings AS own, u.alert_settings AS account FROM workflows w JOIN users u ON u.id = w.owner_id WHERE w.id = ")
        .bind(workflow)
        .push(" AND w.owner_id = ")
        .bind(owner);
    let row = db
        .query_one_raw(sql.build())
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(match parse(row.try_get("", "own")?) {
        Some(settings) => WorkflowAlerts {
            settings,
            inherited: false,
        },
        None => WorkflowAlerts {
            settings: parse(row.try_get("", "account")?).unwrap_or_default(),
            inherited: true,
        },
    })
}

/// Gives a workflow rules of its own, or (`None`) the account's again.
pub async fn set_workflow_settings(
    db: &DatabaseConnection,
    owner: Uuid,
    workflow: Uuid,
    settings: Option<&AlertSettings>,
) -> Result<WorkflowAlerts, DomainError> {
    if let Some(settings) = settings {
        invalid(settings)?;
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE workflows SET alert_settings = ");
    sql.bind_json(settings.map(|s| json!(s)).as_ref())
        .push(" WHERE id = ")
        .bind(workflow)
        .push(" AND owner_id = ")
        .bind(owner);
    if db.execute_raw(sql.build()).await?.rows_affected() == 0 {
        return Err(DomainError::NotFound);
    }
    workflow_settings(db, owner, workflow).await
}
