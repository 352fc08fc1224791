//! Workflows of one owner: create, read, update (every save is a new,
//! immutable version), delete, lifecycle changes, validation and manual runs.

use engine::{
    Engine,
    store::{Enqueued, NewExecution},
};
use entity::{execution, workflow};
use model::{
    Catalogue, Problem, Severity, WorkflowDefinition, WorkflowStatus, validate::has_errors,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{DomainError, FieldProblem, audit, now, workflow_versions::save_version};

pub use crate::workflow_status::{change_status, change_status_because};

pub use crate::workflow_versions::{version, versions};

/// A workflow in lists.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WorkflowSummary {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub status: WorkflowStatus,
    pub version: i32,
    /// The kind of its trigger node, if it has one.
    pub trigger_kind: Option<String>,
    pub node_count: usize,
    pub last_run: Option<LastRun>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LastRun {
    pub execution_id: Uuid,
    pub status: String,
    pub created_at: String,
}

/// A workflow with its whole document and what is wrong with it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Workflow {
    pub id: Uuid,
    pub status: WorkflowStatus,
    pub version: i32,
    #[serde(flatten)]
    pub definition: WorkflowDefinition,
    /// Validation problems of the current version (errors block activation).
    pub problems: Vec<Problem>,
    /// `/webhooks/<token>` for workflows with a webhook trigger.
    pub webhook_path: Option<String>,
    /// Why it was paused automatically, while it stays paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Matches names and descriptions, case-insensitively.
    pub search: Option<String>,
    pub status: Option<WorkflowStatus>,
    pub limit: u64,
    pub offset: u64,
}

/// Turns validation problems into a 422-style error.
pub fn invalid_workflow(problems: &[Problem]) -> DomainError {
    let fields: Vec<FieldProblem> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| FieldProblem {
            field: match (&p.node_id, &p.field) {
                (Some(node), Some(field)) => format!("nodes.{node}.{field}"),
                (Some(node), None) => format!("nodes.{node}"),
                (None, Some(field)) => field.clone(),
                (None, None) => "workflow".into(),
            },
            message: p.message.clone(),
            node_id: p.node_id.clone(),
        })
        .collect();
    let message = match fields.first() {
        Some(first) if fields.len() == 1 => format!("the workflow is not valid: {}", first.message),
        Some(first) => format!(
            "the workflow has {} problems, the first: {}",
            fields.len(),
            first.message
        ),
        None => "the workflow is not valid".into(),
    };
    DomainError::Invalid { message, fields }
}

pub(crate) fn status_of(model: &workflow::Model) -> WorkflowStatus {
    WorkflowStatus::parse(&model.status).unwrap_or(WorkflowStatus::Draft)
}

pub(crate) fn definition_of(model: &workflow::Model) -> Result<WorkflowDefinition, DomainError> {
    serde_json::from_value(model.definition.clone()).map_err(|e| {
        DomainError::Internal(format!("stored workflow {} cannot be read: {e}", model.id))
    })
}

pub(crate) fn to_workflow(
    model: workflow::Model,
    catalogue: &Catalogue,
) -> Result<Workflow, DomainError> {
    let mut definition = definition_of(&model)?;
    let mut problems = model::validate(&definition, catalogue);
    problems.extend(crate::schedules::problems(&definition));
    crate::secrets::mask(&mut definition, catalogue);
    Ok(Workflow {
        id: model.id,
        status: status_of(&model),
        version: model.version,
        problems,
        webhook_path: has_webhook(&definition)
            .then(|| model.webhook_token.map(|t| format!("/webhooks/{t}")))
            .flatten(),
        definition,
        paused_reason: model.paused_reason,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}

fn has_webhook(definition: &WorkflowDefinition) -> bool {
    definition
        .nodes
        .iter()
        .any(|n| engine::providers::receives_webhooks(&n.kind))
}

/// A new secret webhook token: 32 random bytes, URL-safe.
pub fn new_webhook_token() -> Result<String, DomainError> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Document-level checks every save must pass (a draft may still have
/// graph problems; those block activation, not saving).
fn check_savable(definition: &WorkflowDefinition) -> Result<(), DomainError> {
    use model::validate::{MAX_DESCRIPTION_CHARS, MAX_EDGES, MAX_NAME_CHARS, MAX_NODES};
    let name = definition.name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "the workflow needs a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("use at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if definition.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DomainError::invalid(
            "description",
            format!("use at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if definition.nodes.len() > MAX_NODES {
        return Err(DomainError::invalid(
            "nodes",
            format!("a workflow has at most {MAX_NODES} nodes"),
        ));
    }
    if definition.edges.len() > MAX_EDGES {
        return Err(DomainError::invalid(
            "edges",
            format!("a workflow has at most {MAX_EDGES} connections"),
        ));
    }
    Ok(())
}

pub(crate) async fn owned(
    db: &impl sea_orm::ConnectionTrait,
    owner: Uuid,
    id: Uuid,
) -> Result<workflow::Model, DomainError> {
    workflow::Entity::find_by_id(id)
        .filter(workflow::Column::OwnerId.eq(owner))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

pub async fn list(
    db: &DatabaseConnection,
    owner: Uuid,
    filter: &ListFilter,
) -> Result<(Vec<WorkflowSummary>, u64), DomainError> {
    let mut query = workflow::Entity::find().filter(workflow::Column::OwnerId.eq(owner));
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let pattern = format!("%{}%", search.to_lowercase());
        use sea_orm::sea_query::{Expr, ExprTrait, Func};
        let lower = |column: workflow::Column| Expr::expr(Func::lower(Expr::col(column)));
        query = query.filter(
            Condition::any()
                .add(lower(workflow::Column::Name).like(pattern.clone()))
                .add(lower(workflow::Column::Description).like(pattern)),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(workflow::Column::Status.eq(status.as_str()));
    }
    let total = query.clone().count(db).await?;
    let models = query
        .order_by_desc(workflow::Column::UpdatedAt)
        .limit(filter.limit)
        .offset(filter.offset)
        .all(db)
        .await?;
    let mut summaries = Vec::with_capacity(models.len());
    for model in models {
        let definition = definition_of(&model)?;
        let last = execution::Entity::find()
            .filter(execution::Column::WorkflowId.eq(model.id))
            .order_by_desc(execution::Column::CreatedAt)
            .one(db)
            .await?;
        summaries.push(WorkflowSummary {
            id: model.id,
            status: status_of(&model),
            version: model.version,
            trigger_kind: definition
                .nodes
                .iter()
                .find(|n| n.kind.ends_with("_trigger"))
                .map(|n| n.kind.clone()),
            node_count: definition.nodes.len(),
            last_run: last.map(|run| LastRun {
                execution_id: run.id,
                status: run.status,
                created_at: engine::time::to_rfc3339(run.created_at),
            }),
            name: model.name,
            description: model.description,
            created_at: model.created_at,
            updated_at: model.updated_at,
        });
    }
    Ok((summaries, total))
}

/// Id and name of every workflow of `owner`, by name: for filters and for
/// naming the workflow of a run.
pub async fn names(
    db: &DatabaseConnection,
    owner: Uuid,
) -> Result<Vec<(Uuid, String)>, DomainError> {
    Ok(workflow::Entity::find()
        .select_only()
        .column(workflow::Column::Id)
        .column(workflow::Column::Name)
        .filter(workflow::Column::OwnerId.eq(owner))
        .order_by_asc(workflow::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn create(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    vault: &crate::vault::Vault,
    owner: Uuid,
    mut definition: WorkflowDefinition,
) -> Result<Workflow, DomainError> {
    check_savable(&definition)?;
    let id = Uuid::now_v7();
    crate::secrets::seal(&mut definition, None, catalogue, vault, id)?;
    insert_new(db, catalogue, owner, id, definition, json!({})).await
}

/// A draft copy of a workflow, named "Copy of …", with its secrets (sealed
/// anew for the copy) and its own webhook URL.
pub async fn duplicate(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    vault: &crate::vault::Vault,
    owner: Uuid,
    id: Uuid,
) -> Result<Workflow, DomainError> {
    let original = owned(db, owner, id).await?;
    let mut definition = definition_of(&original)?;
    let copy = Uuid::now_v7();
    crate::secrets::reseal(&mut definition, catalogue, vault, id, copy)?;
    let limit = model::validate::MAX_NAME_CHARS;
    definition.name = format!("Copy of {}", definition.name.trim())
        .chars()
        .take(limit)
        .collect();
    insert_new(
        db,
        catalogue,
        owner,
        copy,
        definition,
        json!({ "copied_from": id }),
    )
    .await
}

/// Stores a checked definition, sealed for `id`, as version 1 of a new draft.
async fn insert_new(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    owner: Uuid,
    id: Uuid,
    definition: WorkflowDefinition,
    audit_details: Value,
) -> Result<Workflow, DomainError> {
    let webhook_token = if has_webhook(&definition) {
        Some(new_webhook_token()?)
    } else {
        None
    };
    let now = now();
    let document =
        serde_json::to_value(&definition).map_err(|e| DomainError::Internal(e.to_string()))?;
    let txn = db.begin().await?;
    let model = workflow::ActiveModel {
        id: Set(id),
        owner_id: Set(owner),
        name: Set(definition.name.trim().to_owned()),
        description: Set(definition.description.clone()),
        status: Set(WorkflowStatus::Draft.as_str().to_owned()),
        version: Set(1),
        definition: Set(document.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        webhook_token: Set(webhook_token),
        paused_reason: Set(None),
    }
    .insert(&txn)
    .await?;
    save_version(&txn, id, 1, document, owner).await?;
    audit::record(&txn, owner, owner, Some(id), "workflow.created", {
        let mut details = json!({ "name": model.name, "version": 1 });
        if let (Some(details), Value::Object(extra)) = (details.as_object_mut(), audit_details) {
            details.extend(extra);
        }
        details
    })
    .await?;
    txn.commit().await?;
    to_workflow(model, catalogue)
}

pub async fn get(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    owner: Uuid,
    id: Uuid,
) -> Result<Workflow, DomainError> {
    to_workflow(owned(db, owner, id).await?, catalogue)
}

/// Saves a new version. `expected_version` guards against overwriting
/// someone else's save; an active workflow must stay valid; a failed one
/// goes back to draft.
pub async fn update(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    vault: &crate::vault::Vault,
    owner: Uuid,
    id: Uuid,
    mut definition: WorkflowDefinition,
    expected_version: Option<i32>,
) -> Result<Workflow, DomainError> {
    check_savable(&definition)?;
    let txn = db.begin().await?;
    let current = owned(&txn, owner, id).await?;
    crate::secrets::seal(
        &mut definition,
        Some(&definition_of(&current)?),
        catalogue,
        vault,
        id,
    )?;
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(DomainError::Conflict(format!(
            "the workflow was saved as version {} since you loaded version {expected}; reload it first",
            current.version
        )));
    }
    let status = status_of(&current);
    if status == WorkflowStatus::Active {
        let mut problems = model::validate(&definition, catalogue);
        problems.extend(crate::schedules::problems(&definition));
        if has_errors(&problems) {
            return Err(invalid_workflow(&problems));
        }
    }
    let version = current.version + 1;
    let webhook_token = match (&current.webhook_token, has_webhook(&definition)) {
        (Some(token), true) => Some(token.clone()),
        (None, true) => Some(new_webhook_token()?),
        (_, false) => None,
    };
    let document =
        serde_json::to_value(&definition).map_err(|e| DomainError::Internal(e.to_string()))?;
    let mut active: workflow::ActiveModel = current.into();
    active.name = Set(definition.name.trim().to_owned());
    active.description = Set(definition.description.clone());
    active.version = Set(version);
    active.definition = Set(document.clone());
    active.updated_at = Set(now());
    if status == WorkflowStatus::Failed {
        active.status = Set(WorkflowStatus::Draft.as_str().to_owned());
    }
    active.webhook_token = Set(webhook_token);
    let model = active.update(&txn).await?;
    save_version(&txn, id, version, document, owner).await?;
    crate::schedules::sync(&txn, &model).await?;
    audit::record(
        &txn,
        owner,
        owner,
        Some(id),
        "workflow.updated",
        json!({ "version": version }),
    )
    .await?;
    txn.commit().await?;
    to_workflow(model, catalogue)
}

/// Deletes a workflow with its versions and runs.
///
/// Its runs may be saved or queued while it goes. Writers lock a run's row
/// before they check its workflow's (a new run's foreign key), so the runs
/// are deleted before the workflow, in that same order; a deadlock that
/// remains possible with several writers is resolved by Postgres aborting
/// one side, and this side then simply tries again.
pub async fn delete(db: &DatabaseConnection, owner: Uuid, id: Uuid) -> Result<(), DomainError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match delete_once(db, owner, id).await {
            Err(DomainError::Database(error))
                if attempt < ATTEMPTS && crate::error::lost_lock_race(&error) =>
            {
                tracing::info!(%id, attempt, "workflow delete lost a lock race; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

async fn delete_once(db: &DatabaseConnection, owner: Uuid, id: Uuid) -> Result<(), DomainError> {
    let txn = db.begin().await?;
    let model = owned(&txn, owner, id).await?;
    audit::record(
        &txn,
        owner,
        owner,
        Some(id),
        "workflow.deleted",
        json!({ "name": model.name }),
    )
    .await?;
    execution::Entity::delete_many()
        .filter(execution::Column::WorkflowId.eq(id))
        .exec(&txn)
        .await?;
    workflow::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Gives a workflow a new webhook URL; the old one stops working at once.
pub async fn regenerate_webhook(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    owner: Uuid,
    id: Uuid,
) -> Result<Workflow, DomainError> {
    let current = owned(db, owner, id).await?;
    if !has_webhook(&definition_of(&current)?) {
        return Err(DomainError::Conflict(
            "the workflow has no webhook trigger".into(),
        ));
    }
    let mut active: workflow::ActiveModel = current.into();
    active.webhook_token = Set(Some(new_webhook_token()?));
    let model = active.update(db).await?;
    audit::record(
        db,
        owner,
        owner,
        Some(id),
        "workflow.webhook_regenerated",
        json!({}),
    )
    .await?;
    to_workflow(model, catalogue)
}

/// Starts a run of the current version with `input` as the trigger payload.
pub async fn execute(
    db: &DatabaseConnection,
    engine: &Engine,
    owner: Uuid,
    id: Uuid,
    trigger_kind: &str,
    input: Value,
    idempotency_key: Option<String>,
) -> Result<Enqueued, DomainError> {
    let current = owned(db, owner, id).await?;
    Ok(engine
        .enqueue(NewExecution {
            workflow_id: id,
            owner_id: owner,
            workflow_version: current.version,
            trigger_kind: trigger_kind.to_owned(),
            payload: input,
            idempotency_key,
        })
        .await?)
}
