//! Importing workflows written for another tool (n8n): what the API takes
//! and what it answers, shared with the browser, which shows the report.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ai::MissingConnection;

/// `POST /workflows/import`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRequest {
    /// `n8n` (a workflow as n8n exports it) or `switchyard` (this format).
    pub format: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub workflow: Value,
}

/// Something about one node of the imported workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportIssue {
    /// The node's name in the imported workflow.
    pub node: String,
    /// Its type there (`n8n-nodes-base.code`).
    pub node_type: String,
    /// The step it became, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The parameter concerned (`parameters.jsonBody`), if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// What an import did not carry over as it was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Nodes and expressions that could not be translated; each is marked
    /// in the draft (a placeholder step, or the original text kept as
    /// text) and must be redone by hand.
    pub unsupported: Vec<ImportIssue>,
    /// Things translated with a difference worth knowing (credentials to
    /// set, a webhook path that changes).
    pub notes: Vec<ImportIssue>,
    /// Connections the draft's steps need that the account does not have.
    pub missing_connections: Vec<MissingConnection>,
}

/// The answer of an import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Imported {
    pub workflow_id: String,
    /// The draft's name.
    pub name: String,
    pub report: ImportReport,
}
