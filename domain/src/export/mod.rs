//! Export as code: a workflow as a standalone TypeScript project that runs
//! with Node.js alone. Expressions are translated ([`expression`]), each
//! step becomes a function ([`steps`]), connections become environment
//! variables ([`connections`]), and the trigger an entry point
//! ([`project`]); the runtime under `runtime/` is copied in, and behaves as
//! Switchyard's engine does (branches, loops, retries, idempotency keys,
//! provider requests). What cannot be translated fails the export with the
//! node, field and construct named.

pub mod connections;
pub mod expression;
mod project;
mod project_readme;
pub mod steps;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

pub use connections::{ConnectionInfo, EnvVar};
use model::WorkflowDefinition;
use serde::Serialize;

/// The runtime the translated expressions call (`import * as x`).
pub const EXPRESSIONS_RUNTIME: &str = include_str!("runtime/expressions.ts");

/// The runtime files of every exported project, below `src/switchyard/`.
pub const RUNTIME: &[(&str, &str)] = &[
    ("expressions.ts", EXPRESSIONS_RUNTIME),
    ("run.ts", include_str!("runtime/run.ts")),
    ("kinds.ts", include_str!("runtime/kinds.ts")),
    ("http.ts", include_str!("runtime/http.ts")),
    ("actions.ts", include_str!("runtime/actions.ts")),
    ("prepare.ts", include_str!("runtime/prepare.ts")),
    ("env.ts", include_str!("runtime/env.ts")),
];

/// The entry point of workflows started by events.
pub const EVENTS_RUNTIME: &[(&str, &str)] = &[("events.ts", include_str!("runtime/events.ts"))];

/// The entry point of workflows started by webhooks (`webhook_trigger`,
/// `<provider>.trigger`), answering as Switchyard's `/webhooks/{token}`:
/// the server, how it reads requests, and the signatures and replays.
pub const WEBHOOK_RUNTIME: &[(&str, &str)] = &[
    ("webhook.ts", include_str!("runtime/webhook.ts")),
    ("requests.ts", include_str!("runtime/requests.ts")),
    ("signatures.ts", include_str!("runtime/signatures.ts")),
];

/// The entry point of workflows started by a schedule: croner's fire times
/// in the schedule's zone (`cron.ts`), and Switchyard's run payloads and
/// missed ticks.
pub const SCHEDULE_RUNTIME: &[(&str, &str)] = &[
    ("schedule.ts", include_str!("runtime/schedule.ts")),
    ("cron.ts", include_str!("runtime/cron.ts")),
];

/// `smtp.send_email` as Switchyard's SMTP provider sends: the same
/// message (`mime.ts`), envelope, step output and error classes.
pub const SMTP_RUNTIME: &[(&str, &str)] = &[
    ("smtp.ts", include_str!("runtime/smtp.ts")),
    ("mime.ts", include_str!("runtime/mime.ts")),
];

/// What makes a workflow impossible to export faithfully.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportError {
    pub node: String,
    /// The config field (dotted path), or `kind`.
    pub field: String,
    pub construct: String,
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(
                f,
                "the step `{}` cannot be exported: {}",
                self.node, self.construct
            )
        } else {
            write!(
                f,
                "the step `{}` cannot be exported: its field `{}` uses {}",
                self.node, self.field, self.construct
            )
        }
    }
}

/// One file of the project.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportFile {
    pub path: String,
    pub contents: String,
}

/// Function names of the steps: identifiers, unique, no reserved words.
pub struct Names {
    by_id: Vec<(String, String)>,
}

const RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
    "interface",
    "package",
    "private",
    "protected",
    "public",
    "await",
    "async",
    "arguments",
    "eval",
    "done",
    "k",
    "x",
    "http",
    "actions",
    "smtp",
    "env",
    "providers",
    "connections",
];

impl Names {
    fn new(def: &WorkflowDefinition) -> Names {
        let mut taken: HashSet<String> = RESERVED.iter().map(|s| s.to_string()).collect();
        let mut by_id = Vec::new();
        for node in &def.nodes {
            let base = steps::ident(&node.id);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = if RESERVED.contains(&base.as_str()) && n == 2 {
                    format!("{base}Step")
                } else {
                    format!("{base}{n}")
                };
                n += 1;
            }
            taken.insert(name.clone());
            by_id.push((node.id.clone(), name));
        }
        Names { by_id }
    }

    pub fn function(&self, id: &str) -> String {
        self.by_id
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| steps::ident(id))
    }
}

/// The workflow as a TypeScript project: its files, or why it cannot be.
/// `imported` holds the account's APIs imported from OpenAPI documents that
/// the workflow's steps call.
pub fn typescript(
    workflow_id: &str,
    def: &WorkflowDefinition,
    connections: &[ConnectionInfo],
    imported: &[engine::providers::Provider],
) -> Result<Vec<ExportFile>, ExportError> {
    project::files(workflow_id, def, connections, imported)
}
