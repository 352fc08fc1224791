//! Importing OpenAPI documents as an account's own APIs: parse and
//! describe (off the async runtime), store the description, and on a
//! re-import report which operations changed or disappeared and which of
//! the account's workflows use them. An imported API in use is not
//! deleted.

use engine::providers::{
    self,
    openapi::{self, ApiDescription, Changes, Skipped},
};
use entity::{imported_api, workflow};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{DomainError, FieldProblem, audit};

pub const BUILTIN: &str = "builtin";
pub const IMPORTED: &str = "imported";

/// Connection kinds that are not providers, so no API may take their id.
const RESERVED_IDS: &[&str] = &["bearer", "basic", "header", "oauth2", "api", "apis"];

/// What a client sends to import a document.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The OpenAPI 3.0 or 3.1 document, JSON or YAML, as text.
    pub document: String,
    /// The prefix of its node kinds (`acme` → `acme.create_invoice`); from
    /// the name or the document's title when left out. Importing again
    /// with the same id updates the API.
    #[serde(default)]
    pub id: Option<String>,
    /// Shown in the catalogue; the document's title when left out.
    #[serde(default)]
    pub name: Option<String>,
}

/// A workflow that uses operations of an imported API.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WorkflowUse {
    pub workflow_id: Uuid,
    pub name: String,
    /// The node kinds it uses.
    pub kinds: Vec<String>,
}

/// What an import did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub id: String,
    pub name: String,
    /// 1 for a new API, one more for each re-import.
    pub revision: i32,
    pub operations: usize,
    /// Operations left out, and why.
    #[schema(value_type = Vec<Object>)]
    pub skipped: Vec<Skipped>,
    /// Against the previous import (empty lists for a new API).
    #[schema(value_type = Object)]
    pub changes: Changes,
    /// Workflows using an operation that changed or disappeared.
    pub affected_workflows: Vec<WorkflowUse>,
}

/// The stored row and description of one of the account's imports.
pub async fn imported_description(
    db: &DatabaseConnection,
    owner: Uuid,
    id: &str,
) -> Result<Option<(imported_api::Model, ApiDescription)>, DomainError> {
    let Some(row) = imported_api::Entity::find()
        .filter(imported_api::Column::OwnerId.eq(owner))
        .filter(imported_api::Column::ProviderId.eq(id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let api = serde_json::from_str(&row.description)
        .map_err(|e| DomainError::Internal(format!("imported API {id} cannot be read: {e}")))?;
    Ok(Some((row, api)))
}

fn check_id(id: &str) -> Result<(), DomainError> {
    let well_formed = id.len() <= 32
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(DomainError::invalid(
            "id",
            "use 1 to 32 lower-case letters, digits and `_`, starting with a letter",
        ));
    }
    if providers::find(id).is_some() || RESERVED_IDS.contains(&id) {
        return Err(DomainError::invalid(
            "id",
            format!("`{id}` is taken by a built-in provider or connection kind; choose another id"),
        ));
    }
    Ok(())
}

/// Imports (or re-imports) a document as one of `owner`'s APIs.
pub async fn import(
    db: &DatabaseConnection,
    owner: Uuid,
    request: ImportRequest,
) -> Result<ImportReport, DomainError> {
    if request.document.len() > openapi::MAX_DOCUMENT {
        return Err(DomainError::invalid(
            "document",
            format!(
                "the document is larger than {} MB",
                openapi::MAX_DOCUMENT >> 20
            ),
        ));
    }
    let id = match request
        .id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        Some(id) => id.to_owned(),
        None => {
            let spec = parse(request.document.clone()).await?;
            let from = request
                .name
                .clone()
                .unwrap_or_else(|| spec.info.title.clone());
            return import_parsed(db, owner, openapi::slug(&from), request.name, spec).await;
        }
    };
    check_id(&id)?;
    let spec = parse(request.document).await?;
    import_parsed(db, owner, id, request.name, spec).await
}

/// Parses on a blocking thread: a large document takes a good part of a second.
async fn parse(document: String) -> Result<openapi::Spec, DomainError> {
    tokio::task::spawn_blocking(move || openapi::parse(&document))
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .map_err(document_problem)
}

fn document_problem(error: openapi::ImportError) -> DomainError {
    let message = error.to_string();
    DomainError::Invalid {
        message: message.clone(),
        fields: vec![FieldProblem::new("document", message)],
    }
}

async fn import_parsed(
    db: &DatabaseConnection,
    owner: Uuid,
    id: String,
    name: Option<String>,
    spec: openapi::Spec,
) -> Result<ImportReport, DomainError> {
    check_id(&id)?;
    let described_id = id.clone();
    let api = tokio::task::spawn_blocking(move || {
        openapi::describe(&spec, &described_id, name.as_deref())
    })
    .await
    .map_err(|e| DomainError::Internal(e.to_string()))?
    .map_err(document_problem)?;
    if api.operations.is_empty() {
        return Err(DomainError::invalid(
            "document",
            "the document has no operations that steps can call",
        ));
    }
    let text = serde_json::to_string(&api).map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = crate::now().timestamp_millis();
    let previous = imported_description(db, owner, &id).await?;
    let (revision, changes) = match &previous {
        Some((row, before)) => {
            let changes = Changes::between(before, &api);
            let mut active: imported_api::ActiveModel = row.clone().into();
            active.name = Set(api.name.clone());
            active.description = Set(text);
            active.revision = Set(row.revision + 1);
            active.updated_at = Set(now);
            active.update(db).await?;
            (row.revision + 1, changes)
        }
        None => {
            imported_api::ActiveModel {
                id: Set(Uuid::now_v7()),
                owner_id: Set(owner),
                provider_id: Set(id.clone()),
                name: Set(api.name.clone()),
                description: Set(text),
                revision: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            (1, Changes::default())
        }
    };
    let touched: Vec<String> = changes
        .changed
        .iter()
        .chain(&changes.removed)
        .map(|op| format!("{id}.{op}"))
        .collect();
    let affected_workflows = if touched.is_empty() {
        Vec::new()
    } else {
        used_by(db, owner, |kind| touched.iter().any(|t| t == kind)).await?
    };
    audit::record(
        db,
        owner,
        owner,
        None,
        if previous.is_some() {
            "api.reimported"
        } else {
            "api.imported"
        },
        json!({ "api": id, "revision": revision, "operations": api.operations.len() }),
    )
    .await?;
    Ok(ImportReport {
        id,
        name: api.name,
        revision,
        operations: api.operations.len(),
        skipped: api.skipped,
        changes,
        affected_workflows,
    })
}

/// The account's workflows with nodes whose kind `matches`.
pub async fn used_by(
    db: &DatabaseConnection,
    owner: Uuid,
    matches: impl Fn(&str) -> bool,
) -> Result<Vec<WorkflowUse>, DomainError> {
    let rows: Vec<(Uuid, String, Value)> = workflow::Entity::find()
        .select_only()
        .columns([
            workflow::Column::Id,
            workflow::Column::Name,
            workflow::Column::Definition,
        ])
        .filter(workflow::Column::OwnerId.eq(owner))
        .into_tuple()
        .all(db)
        .await?;
    let mut uses = Vec::new();
    for (workflow_id, name, definition) in rows {
        let mut kinds: Vec<String> = definition["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|node| node["kind"].as_str())
            .filter(|kind| matches(kind))
            .map(str::to_owned)
            .collect();
        kinds.sort();
        kinds.dedup();
        if !kinds.is_empty() {
            uses.push(WorkflowUse {
                workflow_id,
                name,
                kinds,
            });
        }
    }
    Ok(uses)
}

/// Deletes one of the account's imported APIs, unless a workflow uses it.
pub async fn delete(db: &DatabaseConnection, owner: Uuid, id: &str) -> Result<(), DomainError> {
    if providers::find(id).is_some() {
        return Err(DomainError::Conflict(format!(
            "`{id}` is built in; only imported APIs can be deleted"
        )));
    }
    let (row, _) = imported_description(db, owner, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let prefix = format!("{id}.");
    let users = used_by(db, owner, |kind| kind.starts_with(&prefix)).await?;
    if !users.is_empty() {
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        return Err(DomainError::Conflict(format!(
            "workflows use this API: {}; remove its steps first",
            names.join(", ")
        )));
    }
    imported_api::Entity::delete_by_id(row.id).exec(db).await?;
    audit::record(db, owner, owner, None, "api.deleted", json!({ "api": id })).await?;
    Ok(())
}
