//! The AI builder's contract: what a planner (the offline one or an LLM)
//! answers for a description, whichever one answered. Shared with the
//! browser, which shows drafts, explanations and questions from it.

use serde::{Deserialize, Serialize};

use crate::{Problem, WorkflowDefinition};

/// Which planner produced an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PlannerKind {
    /// Deterministic, over the catalogue; no model involved.
    Offline,
    /// An OpenAI-compatible model, checked and repaired.
    Llm,
}

/// How the workflow starts, as understood from the description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriggerGuess {
    /// `stripe.trigger`, `schedule_trigger`, `manual_trigger`, …
    pub kind: String,
    /// Provider event types, for provider triggers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The cron expression, for schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The words it was read from; empty when nothing said how it starts.
    pub phrase: String,
    /// 0 to 1.
    pub confidence: f32,
}

/// One thing the description asks to be done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intent {
    /// The words it was read from.
    pub phrase: String,
    /// The node kind chosen for it.
    pub kind: String,
    pub confidence: f32,
    /// Other kinds that could do it, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
}

/// A literal value found in the description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entity {
    /// `email`, `phone`, `channel`, `url`, `quoted`, `number`, `duration`, `list`.
    pub kind: String,
    pub value: String,
}

/// A provider the description involves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderGuess {
    pub id: String,
    pub name: String,
    pub confidence: f32,
    /// Providers that could stand in for it ("email": SMTP, Resend, SendGrid).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
}

/// A short question to ask instead of guessing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clarification {
    pub question: String,
    /// Answers to offer; each one, appended to the description, plans.
    pub suggestions: Vec<String>,
}

/// What `analyze` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analysis {
    pub planner: PlannerKind,
    pub trigger: TriggerGuess,
    pub intents: Vec<Intent>,
    pub entities: Vec<Entity>,
    pub providers: Vec<ProviderGuess>,
    /// Parts of the description no integration or step could do, named
    /// ("Myspace: no integration of that name").
    pub unknown: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarification: Option<Clarification>,
}

/// Why a step is in a draft.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepExplanation {
    pub node_id: String,
    pub kind: String,
    pub explanation: String,
}

/// A provider the draft uses that the account has no connection for yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingConnection {
    pub provider: String,
    pub provider_name: String,
    /// The steps that will use it once it exists.
    pub node_ids: Vec<String>,
}

/// A required value the description did not give, left for the user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeededInput {
    pub node_id: String,
    /// `config.channel`, …
    pub field: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

/// What `generate` answers: a draft and everything said about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Generated {
    pub planner: PlannerKind,
    pub workflow: WorkflowDefinition,
    pub steps: Vec<StepExplanation>,
    /// Provider ids the draft uses.
    pub providers: Vec<String>,
    pub missing_connections: Vec<MissingConnection>,
    pub needs_input: Vec<NeededInput>,
    pub unknown: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarification: Option<Clarification>,
    /// What the validator still finds: only missing connections and the
    /// values listed in `needs_input`, which the user fills in.
    pub problems: Vec<Problem>,
    /// Why another planner answered, when the configured one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// A connection the planner may put into a step (never a secret: only
/// its id, provider and name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionRef {
    pub id: String,
    pub provider: String,
    pub name: String,
}

/// The validator's problems that a draft may still have: a step's
/// connection not chosen yet, and values listed as needed input.
pub fn is_left_for_user(problem: &Problem, needs: &[NeededInput]) -> bool {
    let Some(field) = &problem.field else {
        return false;
    };
    let node = problem.node_id.as_deref().unwrap_or_default();
    field == "config.connection"
        || needs
            .iter()
            .any(|need| need.node_id == node && &need.field == field)
}

/// What `modify` answers: the change as patch operations on stable node
/// ids, and the workflow they make.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Modification {
    pub planner: PlannerKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub operations: Vec<crate::patch::PatchOp>,
    /// One line per operation, for people.
    pub explanation: Vec<String>,
    /// The workflow with every operation applied.
    pub workflow: WorkflowDefinition,
    /// What the validator finds in it (as for a draft: connections and
    /// values left to fill in may remain).
    pub problems: Vec<Problem>,
    /// Problems the change would bring that are not for the user to fill
    /// in: a change with any is refused.
    pub new_problems: Vec<Problem>,
    /// Why the operations could not be applied, if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Parts of the instruction that could not be placed.
    pub unknown: Vec<String>,
    /// Why the offline planner answered when a model was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// A likely next step after a node, with the values it would get.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    pub kind: String,
    pub label: String,
    pub score: f32,
    /// The new node's config: mapped from the steps before it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    pub why: String,
}

/// A step a planner has reached, streamed to the page while it works.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    /// `understanding`, `choosing_apis`, `drafting`, `checking`,
    /// `repairing`, `falling_back`, `done`.
    pub stage: String,
    /// For people: "Repairing the draft (attempt 1 of 2)".
    pub message: String,
}

impl Progress {
    pub fn new(stage: &str, message: impl Into<String>) -> Progress {
        Progress {
            stage: stage.to_owned(),
            message: message.into(),
        }
    }
}
