//! The AI builder's use cases: understand a description, draft a workflow
//! from it, over the account's live catalogue (built-in kinds and
//! providers, its imported APIs) and with its connections (ids only: a
//! secret never reaches a planner).

use std::sync::Arc;

use engine::{Engine, providers};
use model::ai::{Analysis, ConnectionRef, Generated, PlannerKind};
use planner::{Catalog, ProviderInfo, Request};
use sea_orm::DatabaseConnection;

use serde::Deserialize;
use uuid::Uuid;

use crate::{DomainError, connections::Connections};

pub mod llm;

/// A description to plan, as the API receives it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// What the workflow should do, in plain English.
    pub prompt: String,
    /// IANA time zone for schedules ("every day at 9"); UTC if left out.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Which planner should answer: the language model when the server has
    /// one (the default), or `offline`.
    #[serde(default)]
    pub planner: Option<PlannerKind>,
}

impl Description {
    /// The prompt and time zone, checked; errors name the field.
    pub fn checked(&self) -> Result<(&str, &str), DomainError> {
        let prompt = checked_text("prompt", &self.prompt)?;
        Ok((prompt, checked_timezone(self.timezone.as_deref())?))
    }

    /// The language model to ask, if any.
    pub fn language_model<'a>(
        &self,
        configured: Option<&'a Arc<llm::LanguageModel>>,
    ) -> Result<Option<&'a Arc<llm::LanguageModel>>, DomainError> {
        language_model(self.planner, configured)
    }
}

/// The language model to ask, if any: `planner: "llm"` on a server
/// without one is refused rather than quietly answered offline.
fn language_model(
    planner: Option<PlannerKind>,
    configured: Option<&Arc<llm::LanguageModel>>,
) -> Result<Option<&Arc<llm::LanguageModel>>, DomainError> {
    match (planner, configured) {
        (Some(PlannerKind::Offline), _) => Ok(None),
        (Some(PlannerKind::Llm), None) => Err(DomainError::invalid(
            "planner",
            "no language model is configured on this server (SWITCHYARD_LLM_BASE_URL or SWITCHYARD_LLM_API_KEY)",
        )),
        (_, configured) => Ok(configured),
    }
}

/// A description or instruction: not blank, not too long.
fn checked_text<'a>(field: &str, text: &'a str) -> Result<&'a str, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(
            field,
            "describe what the workflow should do",
        ));
    }
    let chars = text.chars().count();
    if chars > planner::MAX_PROMPT_CHARS {
        return Err(DomainError::invalid(
            field,
            format!(
                "at most {} characters, this one has {chars}",
                planner::MAX_PROMPT_CHARS
            ),
        ));
    }
    Ok(text)
}

fn checked_timezone(timezone: Option<&str>) -> Result<&str, DomainError> {
    let timezone = timezone.map(str::trim).unwrap_or("UTC");
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(DomainError::invalid(
            "timezone",
            format!("`{timezone}` is not an IANA time zone such as Europe/Berlin"),
        ));
    }
    Ok(timezone)
}

/// What a planner plans over for one account.
pub struct Planning {
    pub catalog: Catalog,
    pub connections: Vec<ConnectionRef>,
}

impl Planning {
    /// Planning over the built-in kinds only, with these connections.
    pub fn builtin(connections: Vec<ConnectionRef>) -> Planning {
        let infos = providers::builtin().iter().map(info).collect();
        let registry = engine::nodes::Registry::builtin();
        Planning {
            catalog: Catalog::new(infos, registry.catalogue().clone()),
            connections,
        }
    }

    pub async fn for_owner(
        engine: &Engine,
        db: &DatabaseConnection,
        connections: &Connections,
        owner: Uuid,
    ) -> Result<Planning, DomainError> {
        let mut infos: Vec<ProviderInfo> = providers::builtin().iter().map(info).collect();
        for api in providers::imported::descriptions(db, owner).await? {
            infos.push(info(&api.provider()));
        }
        let kinds = engine.kinds_for(owner).await?;
        let catalog = Catalog::new(infos, kinds.catalogue().clone());
        let connections = connections
            .list(owner)
            .await?
            .into_iter()
            .map(|c| ConnectionRef {
                id: c.id.to_string(),
                provider: c.kind,
                name: c.name,
            })
            .collect();
        Ok(Planning {
            catalog,
            connections,
        })
    }

    pub fn analyze(&self, prompt: &str, timezone: &str) -> Analysis {
        planner::analyze(&self.catalog, &self.request(prompt, timezone))
    }

    pub fn generate(&self, prompt: &str, timezone: &str) -> Generated {
        planner::generate(&self.catalog, &self.request(prompt, timezone))
    }

    pub fn request<'a>(&'a self, prompt: &'a str, timezone: &'a str) -> Request<'a> {
        Request {
            prompt,
            timezone,
            connections: &self.connections,
        }
    }
}

fn info(provider: &providers::Provider) -> ProviderInfo {
    ProviderInfo {
        id: provider.id.to_string(),
        name: provider.name.to_string(),
        category: provider.category.to_string(),
        synonyms: provider.synonyms.iter().map(|s| s.to_string()).collect(),
    }
}

/// A change to describe or apply, as the API receives it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// The workflow as the editor has it (saved or not).
    pub workflow: model::WorkflowDefinition,
    /// The change in plain English ("remove the Slack step").
    #[serde(default)]
    pub instruction: Option<String>,
    /// Or operations to apply as they are (the ones the user accepted).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub operations: Option<Vec<model::patch::PatchOp>>,
    #[serde(default)]
    pub timezone: Option<String>,
    /// Which planner reads an instruction: the language model when the
    /// server has one (the default), or `offline`.
    #[serde(default)]
    pub planner: Option<PlannerKind>,
}

/// A node to suggest next steps for.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextRequest {
    pub workflow: model::WorkflowDefinition,
    pub node_id: String,
}

impl ChangeRequest {
    /// The language model to ask, if any.
    pub fn language_model<'a>(
        &self,
        configured: Option<&'a Arc<llm::LanguageModel>>,
    ) -> Result<Option<&'a Arc<llm::LanguageModel>>, DomainError> {
        language_model(self.planner, configured)
    }

    /// Exactly one of `instruction` and `operations`; errors name the field.
    pub fn checked(&self) -> Result<Change<'_>, DomainError> {
        let timezone = checked_timezone(self.timezone.as_deref())?.to_owned();
        match (&self.instruction, &self.operations) {
            (Some(instruction), None) => Ok(Change::Instruction {
                text: checked_text("instruction", instruction)?,
                timezone,
            }),
            (None, Some(operations)) if operations.len() <= MAX_OPERATIONS => {
                Ok(Change::Operations(operations))
            }
            (None, Some(operations)) => Err(DomainError::invalid(
                "operations",
                format!(
                    "at most {MAX_OPERATIONS} operations, got {}",
                    operations.len()
                ),
            )),
            _ => Err(DomainError::invalid(
                "instruction",
                "give either `instruction` or `operations`",
            )),
        }
    }
}

/// Longest patch applied at once.
pub const MAX_OPERATIONS: usize = 500;

pub enum Change<'a> {
    Instruction { text: &'a str, timezone: String },
    Operations(&'a [model::patch::PatchOp]),
}

impl Planning {
    pub fn change(
        &self,
        workflow: &model::WorkflowDefinition,
        change: &Change,
    ) -> model::ai::Modification {
        match change {
            Change::Instruction { text, timezone } => planner::modify::modify(
                &self.catalog,
                &planner::modify::ModifyRequest {
                    workflow,
                    instruction: text,
                    timezone,
                    connections: &self.connections,
                },
            ),
            Change::Operations(operations) => {
                planner::modify::result(&self.catalog, workflow, operations.to_vec(), Vec::new())
            }
        }
    }

    pub fn suggest_next(
        &self,
        workflow: &model::WorkflowDefinition,
        node_id: &str,
    ) -> Result<Vec<model::ai::Suggestion>, DomainError> {
        planner::suggest::suggest_next(&self.catalog, workflow, node_id).ok_or_else(|| {
            DomainError::invalid("node_id", format!("the workflow has no node `{node_id}`"))
        })
    }
}

/// A refused change as an error naming each problem.
pub fn refused(answer: &model::ai::Modification) -> Option<DomainError> {
    if let Some(reason) = &answer.refused {
        return Some(DomainError::invalid("operations", reason.clone()));
    }
    if answer.new_problems.is_empty() {
        return None;
    }
    Some(crate::workflows::invalid_workflow(&answer.new_problems))
}
