//! `/workflows`: create, list, read, save (new version), delete, lifecycle,
//! validation, versions, audit log, and manual runs.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use domain::{
    audit::AuditEntry,
    workflows::{ListFilter, VersionInfo, Workflow, WorkflowSummary},
};
use model::{Problem, WorkflowDefinition, WorkflowStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ErrorResponse, page_size};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiJson, ApiQuery, OptionalJson, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workflows", get(list).post(create))
        .route("/workflows/{id}", get(read).put(update).delete(remove))
        .route("/workflows/{id}/activate", post(activate))
        .route("/workflows/{id}/pause", post(pause))
        .route("/workflows/{id}/validate", post(validate))
        .route("/workflows/{id}/execute", post(execute))
        .route("/workflows/{id}/versions", get(versions))
        .route("/workflows/{id}/versions/{version}", get(version))
        .route("/workflows/{id}/audit", get(audit))
        .route("/workflows/{id}/duplicate", post(duplicate))
        .route(
            "/workflows/{id}/webhook/regenerate",
            post(regenerate_webhook),
        )
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Text to find in names and descriptions.
    pub search: Option<String>,
    pub status: Option<WorkflowStatus>,
    /// 1 to 200, default 50.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A workflow as the API shows it: with its webhook URL, secrets masked.
#[derive(Serialize, ToSchema)]
pub struct WorkflowResponse {
    #[serde(flatten)]
    pub workflow: Workflow,
    /// Where requests start this workflow (workflows with a webhook trigger).
    pub webhook_url: Option<String>,
}

fn respond(state: &AppState, workflow: Workflow) -> Json<WorkflowResponse> {
    let base = state.config.public_url();
    let webhook_url = workflow
        .webhook_path
        .as_deref()
        .map(|path| format!("{}{}", base.as_str().trim_end_matches('/'), path));
    // Changes to webhook workflows take effect at once on this instance.
    state.webhooks.clear();
    Json(WorkflowResponse {
        workflow,
        webhook_url,
    })
}

#[derive(Serialize, ToSchema)]
pub struct WorkflowList {
    pub items: Vec<WorkflowSummary>,
    pub total: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationReport {
    /// No errors (warnings allowed): the workflow can be activated.
    pub valid: bool,
    pub problems: Vec<Problem>,
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionStarted {
    pub execution_id: Uuid,
    /// False when an earlier request with the same `Idempotency-Key` started it.
    pub created: bool,
}

/// Workflows, most recently changed first.
#[utoipa::path(get, path = "/workflows", tag = "workflows", params(ListQuery),
    responses((status = 200, body = WorkflowList), (status = 400, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<WorkflowList>, ApiError> {
    let filter = ListFilter {
        search: query.search,
        status: query.status,
        limit: page_size(query.limit)?,
        offset: query.offset.unwrap_or(0),
    };
    let (items, total) = domain::workflows::list(&state.context.db, user.id(), &filter).await?;
    Ok(Json(WorkflowList { items, total }))
}

/// Creates a draft workflow from the JSON format.
#[utoipa::path(post, path = "/workflows", tag = "workflows", request_body = WorkflowDefinition,
    responses((status = 201, body = WorkflowResponse), (status = 422, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(definition): ApiJson<WorkflowDefinition>,
) -> Result<(StatusCode, Json<WorkflowResponse>), ApiError> {
    let kinds = kinds_for(&state, user.id()).await?;
    let catalogue = kinds.catalogue();
    let workflow = domain::workflows::create(
        &state.context.db,
        catalogue,
        &state.workflow_secrets,
        user.id(),
        definition,
    )
    .await?;
    Ok((StatusCode::CREATED, respond(&state, workflow)))
}

/// Copies a workflow into a new draft named "Copy of …" (secrets included,
/// encrypted for the copy, shown masked; a webhook trigger gets its own URL).
#[utoipa::path(post, path = "/workflows/{id}/duplicate", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 201, body = WorkflowResponse), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn duplicate(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<WorkflowResponse>), ApiError> {
    let kinds = kinds_for(&state, user.id()).await?;
    let catalogue = kinds.catalogue();
    let workflow = domain::workflows::duplicate(
        &state.context.db,
        catalogue,
        &state.workflow_secrets,
        user.id(),
        id,
    )
    .await?;
    Ok((StatusCode::CREATED, respond(&state, workflow)))
}

/// A workflow with its document (secrets masked) and validation problems.
#[utoipa::path(get, path = "/workflows/{id}", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkflowResponse), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let workflow = owned(&state, user.id(), id).await?;
    Ok(respond(&state, workflow))
}

/// The version the client last saw, from `If-Match`.
fn expected_version(headers: &HeaderMap) -> Result<Option<i32>, ApiError> {
    match headers.get(http::header::IF_MATCH) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .map(|v| v.trim().trim_matches('"'))
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "If-Match must hold the version number you edited, e.g. \"3\"".into(),
                )
            }),
    }
}

/// Saves the workflow as a new version. Send `If-Match: "<version>"` to
/// refuse (409) when someone saved in between. Secrets sent back masked
/// keep their saved values.
#[utoipa::path(put, path = "/workflows/{id}", tag = "workflows", params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body = WorkflowDefinition,
    responses((status = 200, body = WorkflowResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    headers: HeaderMap,
    ApiJson(definition): ApiJson<WorkflowDefinition>,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let expected = expected_version(&headers)?;
    let kinds = kinds_for(&state, user.id()).await?;
    let catalogue = kinds.catalogue();
    let workflow = domain::workflows::update(
        &state.context.db,
        catalogue,
        &state.workflow_secrets,
        user.id(),
        id,
        definition,
        expected,
    )
    .await?;
    Ok(respond(&state, workflow))
}

/// Deletes a workflow with its runs.
#[utoipa::path(delete, path = "/workflows/{id}", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    hooks(&state).deactivate(user.id(), id).await?;
    domain::workflows::delete(&state.context.db, user.id(), id).await?;
    state.webhooks.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn change_status(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
    target: WorkflowStatus,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let kinds = kinds_for(state, user.id()).await?;
    let catalogue = kinds.catalogue();
    let workflow =
        domain::workflows::change_status(&state.context.db, catalogue, user.id(), id, target)
            .await?;
    Ok(respond(state, workflow))
}

/// Activates a valid workflow (422 with its problems otherwise; 409 when its
/// status does not allow it). Its triggers start runs from now on.
#[utoipa::path(post, path = "/workflows/{id}/activate", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkflowResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn activate(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<WorkflowResponse>, ApiError> {
    // A provider trigger with a connection gets its webhook registered
    // first; if the workflow then cannot be activated, it is removed again.
    let hooks = hooks(&state);
    hooks.activate(user.id(), id).await?;
    let activated = change_status(&state, &user, id, WorkflowStatus::Active).await;
    if activated.is_err() {
        hooks.deactivate(user.id(), id).await?;
    }
    state.webhooks.clear();
    activated
}

/// Registers and removes provider webhooks for this server.
fn hooks(state: &AppState) -> domain::webhook_registrations::Hooks<'_> {
    domain::webhook_registrations::Hooks {
        db: &state.context.db,
        connections: &state.connections,
        vault: &state.workflow_secrets,
        public_url: &state.context.public_url,
    }
}

/// Pauses an active workflow: its triggers stop starting runs.
#[utoipa::path(post, path = "/workflows/{id}/pause", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkflowResponse), (status = 409, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn pause(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let paused = change_status(&state, &user, id, WorkflowStatus::Paused).await?;
    hooks(&state).deactivate(user.id(), id).await?;
    Ok(paused)
}

/// Gives the workflow a new webhook URL; the old one stops working at once.
#[utoipa::path(post, path = "/workflows/{id}/webhook/regenerate", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkflowResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn regenerate_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let workflow = domain::workflows::regenerate_webhook(
        &state.context.db,
        kinds_for(&state, user.id()).await?.catalogue(),
        user.id(),
        id,
    )
    .await?;
    Ok(respond(&state, workflow))
}

/// Every problem of the saved workflow.
#[utoipa::path(post, path = "/workflows/{id}/validate", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = ValidationReport), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn validate(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<ValidationReport>, ApiError> {
    let workflow = owned(&state, user.id(), id).await?;
    let valid = !model::validate::has_errors(&workflow.problems);
    Ok(Json(ValidationReport {
        valid,
        problems: workflow.problems,
    }))
}

/// Runs the current version now; the optional JSON body becomes `trigger`.
/// An `Idempotency-Key` header makes repeats return the first run.
#[utoipa::path(post, path = "/workflows/{id}/execute", tag = "workflows", params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Object, description = "Input for the run (optional)"),
    responses((status = 202, body = ExecutionStarted), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn execute(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    headers: HeaderMap,
    OptionalJson(input): OptionalJson<Value>,
) -> Result<(StatusCode, Json<ExecutionStarted>), ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(value) => match value.to_str() {
            Ok(key) if !key.trim().is_empty() && key.len() <= 200 => Some(key.trim().to_owned()),
            _ => {
                return Err(ApiError::BadRequest(
                    "Idempotency-Key must be 1 to 200 printable characters".into(),
                ));
            }
        },
        None => None,
    };
    let input = input.unwrap_or_else(|| Value::Object(Default::default()));
    let started = domain::workflows::execute(
        &state.context.db,
        &state.context.engine,
        user.id(),
        id,
        "manual",
        input,
        key,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ExecutionStarted {
            execution_id: started.id,
            created: started.created,
        }),
    ))
}

/// Saved versions, newest first.
#[utoipa::path(get, path = "/workflows/{id}/versions", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<VersionInfo>), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn versions(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Vec<VersionInfo>>, ApiError> {
    Ok(Json(
        domain::workflows::versions(&state.context.db, user.id(), id).await?,
    ))
}

/// The document of one saved version, secrets masked.
#[utoipa::path(get, path = "/workflows/{id}/versions/{version}", tag = "workflows", params(("id" = Uuid, Path), ("version" = i32, Path)),
    responses((status = 200, body = WorkflowDefinition), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn version(
    State(state): State<AppState>,
    user: CurrentUser,
    axum::extract::Path((id, version)): axum::extract::Path<(String, String)>,
) -> Result<Json<WorkflowDefinition>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let version = version.parse().map_err(|_| ApiError::NotFound)?;
    Ok(Json(
        domain::workflows::version(
            &state.context.db,
            kinds_for(&state, user.id()).await?.catalogue(),
            user.id(),
            id,
            version,
        )
        .await?,
    ))
}

/// Who changed the workflow, activated or paused it, and when.
#[utoipa::path(get, path = "/workflows/{id}/audit", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn audit(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    owned(&state, user.id(), id).await?;
    Ok(Json(
        domain::audit::list(&state.context.db, user.id(), Some(id), 200).await?,
    ))
}

/// One of the account's workflows, checked against the account's kinds.
pub(super) async fn owned(
    state: &AppState,
    owner: Uuid,
    id: Uuid,
) -> Result<domain::workflows::Workflow, ApiError> {
    let kinds = kinds_for(state, owner).await?;
    Ok(domain::workflows::get(&state.context.db, kinds.catalogue(), owner, id).await?)
}

/// The kinds the account's workflows are checked against: built in and imported.
pub(super) async fn kinds_for(
    state: &AppState,
    owner: Uuid,
) -> Result<std::sync::Arc<engine::Registry>, ApiError> {
    Ok(state
        .context
        .engine
        .kinds_for(owner)
        .await
        .map_err(domain::DomainError::from)?)
}
