//! `GET /workflows/{id}/export/typescript`: the workflow as a standalone
//! TypeScript project, as a JSON list of files or (`?format=zip`) a zip
//! archive to download. A step the export cannot translate faithfully is a
//! 422 naming the node, the field and the construct.

use std::io::Write;

use axum::{
    Json, Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use domain::{
    DomainError, FieldProblem,
    export::{ConnectionInfo, ExportFile},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ErrorResponse, workflows::owned};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiQuery, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/workflows/{id}/export/typescript", get(export))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (the default): the files as JSON; `zip`: an archive.
    pub format: Option<String>,
}

/// One file of the exported project.
#[derive(Serialize, ToSchema)]
pub struct ExportedFile {
    pub path: String,
    pub contents: String,
}

/// The exported project.
#[derive(Serialize, ToSchema)]
pub struct ExportedProject {
    pub workflow_id: String,
    pub name: String,
    /// The folder name the zip archive unpacks into.
    pub directory: String,
    pub files: Vec<ExportedFile>,
}

/// Exports the workflow as a TypeScript project that runs with Node.js:
/// one function per step, the trigger as its entry point, connections as
/// environment variables (no secret values).
#[utoipa::path(get, path = "/workflows/{id}/export/typescript", tag = "workflows", params(ExportQuery),
    responses((status = 200, body = ExportedProject), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let zip = match query.format.as_deref() {
        None | Some("json") => false,
        Some("zip") => true,
        Some(other) => {
            return Err(DomainError::invalid(
                "format",
                format!("the format must be json or zip, not `{other}`"),
            )
            .into());
        }
    };
    let workflow = owned(&state, user.id(), id).await?;
    let connections: Vec<ConnectionInfo> = state
        .connections
        .list(user.id())
        .await?
        .into_iter()
        .map(|c| ConnectionInfo {
            id: c.id.to_string(),
            name: c.name,
            kind: c.kind,
            settings: c.settings.as_object().cloned().unwrap_or_default(),
        })
        .collect();
    // Steps of APIs the account imported from OpenAPI documents.
    let mut imported = Vec::new();
    for node in &workflow.definition.nodes {
        if let Some((api, _)) = node.kind.split_once('.')
            && engine::providers::find(api).is_none()
            && !imported
                .iter()
                .any(|p: &engine::providers::Provider| p.id == api)
            && let Some(provider) =
                domain::apis::provider(&state.context.db, user.id(), api).await?
        {
            imported.push(provider.into_owned());
        }
    }
    let files = domain::export::typescript(
        &id.to_string(),
        &workflow.definition,
        &connections,
        &imported,
    )
    .map_err(|error| {
        let field = if error.node.is_empty() {
            "nodes".to_owned()
        } else if error.field.is_empty() {
            format!("nodes.{}", error.node)
        } else {
            format!("nodes.{}.config.{}", error.node, error.field)
        };
        let mut problem = FieldProblem::new(&field, error.to_string());
        problem.node_id = (!error.node.is_empty()).then(|| error.node.clone());
        DomainError::Invalid {
            message: error.to_string(),
            fields: vec![problem],
        }
    })?;
    let directory = directory_name(&workflow.definition.name);
    if zip {
        let bytes = archive(&directory, &files)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "application/zip".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{directory}.zip\""),
                ),
            ],
            bytes,
        )
            .into_response());
    }
    Ok(Json(ExportedProject {
        workflow_id: id.to_string(),
        name: workflow.definition.name.clone(),
        directory,
        files: files
            .into_iter()
            .map(|f| ExportedFile {
                path: f.path,
                contents: f.contents,
            })
            .collect(),
    })
    .into_response())
}

/// `Stripe → Slack!` → `stripe-slack`.
fn directory_name(name: &str) -> String {
    let slug = domain::export::connections::env_name(name)
        .to_ascii_lowercase()
        .replace('_', "-");
    let slug = slug.trim_start_matches("c-");
    if slug.is_empty() {
        "workflow".into()
    } else {
        slug.into()
    }
}

fn archive(directory: &str, files: &[ExportFile]) -> Result<Vec<u8>, ApiError> {
    let internal = |e: zip::result::ZipError| ApiError::Internal(format!("zip: {e}"));
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for file in files {
        writer
            .start_file(format!("{directory}/{}", file.path), options)
            .map_err(internal)?;
        writer
            .write_all(file.contents.as_bytes())
            .map_err(|e| ApiError::Internal(format!("zip: {e}")))?;
    }
    Ok(writer.finish().map_err(internal)?.into_inner())
}
