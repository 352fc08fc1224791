//! The template gallery's contract: ready workflows for common API jobs,
//! what each needs (connections, a few values such as a channel or a
//! URL) and what "use this template" answers. Shared with the browser,
//! which lists them and fills the values in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    WorkflowDefinition,
    ai::{MissingConnection, NeededInput},
};

/// A template as the gallery lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateSummary {
    /// Stable, URL-safe: `stripe-customer-to-mailchimp-and-slack`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// `Payments`, `Engineering`, `Monitoring`, …
    pub category: String,
    /// The trigger's node kind.
    pub trigger: String,
    /// Provider ids whose connections the template's steps use, in order.
    pub connections: Vec<String>,
}

/// A value the person using a template is asked for (a Slack channel, a
/// URL to watch), and where it goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateInput {
    /// The name it is given under in [`UseTemplate::inputs`].
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub help: String,
    /// Where it goes (a list id used by two steps goes to both).
    pub targets: Vec<InputTarget>,
    /// What the template holds until it is replaced.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub example: Value,
}

/// A config field an input fills.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InputTarget {
    pub node: String,
    /// The config field, `.`-separated below `config` (`body.url`).
    pub field: String,
}

/// A template with its workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    #[serde(flatten)]
    pub summary: TemplateSummary,
    #[serde(default)]
    pub inputs: Vec<TemplateInput>,
    /// A trigger payload like the ones it will receive, for a first
    /// manual run.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub sample_input: Value,
    pub workflow: WorkflowDefinition,
}

/// `POST /templates/{id}/use`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UseTemplate {
    /// The new workflow's name; the template's when left out.
    #[serde(default)]
    pub name: Option<String>,
    /// Values by [`TemplateInput::key`]; the examples stay where none is given.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub inputs: BTreeMap<String, Value>,
}

/// What using a template made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateUsed {
    /// The new draft's id.
    pub workflow_id: String,
    /// Connections the account still has to add (the draft's steps for
    /// providers it has connections for are filled in).
    pub missing_connections: Vec<MissingConnection>,
    /// Inputs left at their examples.
    pub needs_input: Vec<NeededInput>,
}

impl Template {
    /// The template's workflow with `inputs` placed; unknown keys and
    /// values placed where the config has no such field are refused, named.
    pub fn fill(&self, inputs: &BTreeMap<String, Value>) -> Result<WorkflowDefinition, String> {
        if let Some(unknown) = inputs
            .keys()
            .find(|key| !self.inputs.iter().any(|i| &i.key == *key))
        {
            return Err(format!(
                "`{unknown}` is not an input of this template (it has {})",
                self.inputs
                    .iter()
                    .map(|i| format!("`{}`", i.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let mut workflow = self.workflow.clone();
        for input in &self.inputs {
            let Some(value) = inputs.get(&input.key) else {
                continue;
            };
            for target in &input.targets {
                let node = workflow
                    .nodes
                    .iter_mut()
                    .find(|n| n.id == target.node)
                    .ok_or_else(|| format!("input `{}` names no node", input.key))?;
                let slot = field_slot(&mut node.config, &target.field)
                    .ok_or_else(|| format!("input `{}` names no field", input.key))?;
                *slot = value.clone();
            }
        }
        Ok(workflow)
    }
}

/// The value at a `.`-separated path below `config`, created when its
/// parent object exists.
pub fn field_slot<'a>(config: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut current = config;
    for part in path.split('.') {
        current = current.as_object_mut()?.entry(part).or_insert(Value::Null);
    }
    Some(current)
}
