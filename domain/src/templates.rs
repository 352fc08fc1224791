//! The template gallery: ready workflows for common API jobs, one JSON
//! file each in `domain/templates/`. Using one makes a draft of the
//! account's own, with the values given placed, its steps' connections
//! filled in from the account's connections, and what is still missing
//! named.
//!
//! Adding a template is one file there plus its line in [`SOURCES`].

use std::sync::LazyLock;

use model::{
    Catalogue, WorkflowDefinition,
    ai::NeededInput,
    templates::{Template, TemplateSummary, TemplateUsed, UseTemplate},
};
use uuid::Uuid;

use crate::{DomainError, ai::Planning, vault::Vault, workflows::Workflow};

const SOURCES: &[&str] = &[
    include_str!("../templates/stripe-customer-to-mailchimp-and-slack.json"),
    include_str!("../templates/failed-payment-to-github-issue-and-sms.json"),
    include_str!("../templates/github-issue-to-linear.json"),
    include_str!("../templates/daily-url-health-check.json"),
    include_str!("../templates/form-to-email-and-slack.json"),
    include_str!("../templates/nightly-stripe-customers-export.json"),
    include_str!("../templates/stripe-refund-to-slack.json"),
    include_str!("../templates/large-payment-alert.json"),
    include_str!("../templates/signup-to-stripe-and-mailchimp.json"),
    include_str!("../templates/github-pull-request-to-slack.json"),
    include_str!("../templates/weekly-github-issues-digest.json"),
    include_str!("../templates/slack-mention-to-github-issue.json"),
    include_str!("../templates/incoming-sms-to-slack.json"),
];

/// A template as its file holds it: what the gallery shows besides is
/// read off the workflow.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    id: String,
    name: String,
    description: String,
    category: String,
    #[serde(default)]
    inputs: Vec<model::templates::TemplateInput>,
    sample_input: serde_json::Value,
    workflow: WorkflowDefinition,
}

/// Every template, in the gallery's order.
pub fn all() -> &'static [Template] {
    static ALL: LazyLock<Vec<Template>> = LazyLock::new(|| {
        // The connections a template needs are those an account without
        // any would be told it lacks.
        let planning = Planning::builtin(Vec::new());
        SOURCES
            .iter()
            .map(|source| {
                // The files are part of the build, and a unit test reads
                // each one: a broken file fails the tests, never a request.
                let file: TemplateFile =
                    serde_json::from_str(source).expect("templates are valid JSON of the format");
                let mut workflow = file.workflow.clone();
                let needs = planner::accounting::account(&planning.catalog, &mut workflow, &[]);
                let trigger = file
                    .workflow
                    .nodes
                    .iter()
                    .find(|n| {
                        planning
                            .catalog
                            .kind(&n.kind)
                            .is_some_and(|k| k.category == model::Category::Trigger)
                    })
                    .map(|n| n.kind.clone())
                    .unwrap_or_default();
                Template {
                    summary: TemplateSummary {
                        id: file.id,
                        name: file.name,
                        description: file.description,
                        category: file.category,
                        trigger,
                        connections: needs
                            .missing_connections
                            .into_iter()
                            .map(|m| m.provider)
                            .collect(),
                    },
                    inputs: file.inputs,
                    sample_input: file.sample_input,
                    workflow: file.workflow,
                }
            })
            .collect()
    });
    &ALL
}

pub fn summaries() -> Vec<TemplateSummary> {
    all().iter().map(|t| t.summary.clone()).collect()
}

pub fn find(id: &str) -> Result<&'static Template, DomainError> {
    all()
        .iter()
        .find(|t| t.summary.id == id)
        .ok_or(DomainError::NotFound)
}

/// A template's draft before it is saved, and what it still lacks.
pub struct Prepared {
    pub workflow: WorkflowDefinition,
    pub missing_connections: Vec<model::ai::MissingConnection>,
    pub needs_input: Vec<NeededInput>,
}

/// The template's workflow as a draft would hold it for this account:
/// inputs placed, connections filled in; and what is still missing.
pub fn prepare(
    template: &Template,
    request: &UseTemplate,
    planning: &Planning,
) -> Result<Prepared, DomainError> {
    let mut workflow = template
        .fill(&request.inputs)
        .map_err(|message| DomainError::invalid("inputs", message))?;
    if let Some(name) = &request.name {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::invalid("name", "must not be empty"));
        }
        workflow.name = name.to_owned();
    }
    let accounting =
        planner::accounting::account(&planning.catalog, &mut workflow, &planning.connections);
    let needs_input = template
        .inputs
        .iter()
        .filter(|input| !request.inputs.contains_key(&input.key))
        .flat_map(|input| {
            input.targets.iter().map(|target| NeededInput {
                node_id: target.node.clone(),
                field: format!("config.{}", target.field),
                label: input.label.clone(),
                hint: input.help.clone(),
            })
        })
        .collect();
    Ok(Prepared {
        workflow,
        missing_connections: accounting.missing_connections,
        needs_input,
    })
}

/// Creates the draft.
pub async fn use_template(
    db: &sea_orm::DatabaseConnection,
    catalogue: &Catalogue,
    vault: &Vault,
    planning: &Planning,
    owner: Uuid,
    id: &str,
    request: &UseTemplate,
) -> Result<(Workflow, TemplateUsed), DomainError> {
    let template = find(id)?;
    let prepared = prepare(template, request, planning)?;
    let workflow = crate::workflows::create(db, catalogue, vault, owner, prepared.workflow).await?;
    let used = TemplateUsed {
        workflow_id: workflow.id.to_string(),
        missing_connections: prepared.missing_connections,
        needs_input: prepared.needs_input,
    };
    Ok((workflow, used))
}

#[cfg(test)]
mod tests;
