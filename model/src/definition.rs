//! The workflow document: `{"name", "description", "settings", "nodes",
//! "edges"}`. This is Switchyard's public format (REST API, import and
//! export); unknown fields are rejected rather than silently dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Port every node fires on success unless its kind says otherwise.
pub const DEFAULT_PORT: &str = "out";
/// Port a node with `on_error: route` fires when it fails.
pub const ERROR_PORT: &str = "error";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowDefinition {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub settings: WorkflowSettings,
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

/// Defaults that apply to every node unless the node overrides them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowSettings {
    /// Retry policy of nodes that have none of their own.
    pub retry: RetryPolicy,
    /// What a failing node does when it has no `on_error` of its own.
    pub on_error: OnError,
    /// Longest a whole execution may take, from start to finish.
    pub timeout_ms: Option<u64>,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        WorkflowSettings {
            retry: RetryPolicy::default(),
            on_error: OnError::Fail,
            timeout_ms: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    /// Unique within the workflow; expressions refer to it as `steps.<id>`.
    pub id: String,
    /// A built-in kind (`http_request`, …) or `<provider>.<action>`.
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub position: Position,
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Edge {
    pub source: String,
    #[serde(default = "default_port")]
    pub source_port: String,
    pub target: String,
}

fn default_port() -> String {
    DEFAULT_PORT.to_owned()
}

/// How often and how patiently a failing step is retried. Delays grow by
/// `factor` from `initial_delay_ms` up to `max_delay_ms`; with `jitter`
/// each delay is drawn uniformly from zero to that bound ("full jitter").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryPolicy {
    /// Attempts in all, the first included: 1 means never retry.
    pub max_attempts: u32,
    pub initial_delay_ms: u64,
    pub factor: f64,
    pub max_delay_ms: u64,
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_delay_ms: 500,
            factor: 2.0,
            max_delay_ms: 30_000,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Upper bound of the wait before attempt `attempt + 1`, after `attempt`
    /// failed attempts (1-based).
    pub fn delay_ceiling_ms(&self, attempt: u32) -> u64 {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let grown = self.initial_delay_ms as f64 * self.factor.max(1.0).powi(exponent);
        if grown.is_finite() {
            (grown as u64).min(self.max_delay_ms)
        } else {
            self.max_delay_ms
        }
    }

    /// The wait before the next attempt; `random` is uniform in [0, 1).
    pub fn delay_ms(&self, attempt: u32, random: f64) -> u64 {
        let ceiling = self.delay_ceiling_ms(attempt);
        if self.jitter {
            (ceiling as f64 * random.clamp(0.0, 1.0)) as u64
        } else {
            ceiling
        }
    }
}

/// What happens when a node fails for good (after its retries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OnError {
    /// The execution fails.
    #[default]
    Fail,
    /// The node is marked failed, and its `out` port fires with the error as output.
    Continue,
    /// The node's `error` port fires with the error as output.
    Route,
}

impl WorkflowDefinition {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// The retry policy that applies to `node`.
    pub fn retry_policy<'a>(&'a self, node: &'a Node) -> &'a RetryPolicy {
        node.retry.as_ref().unwrap_or(&self.settings.retry)
    }

    pub fn on_error(&self, node: &Node) -> OnError {
        node.on_error.unwrap_or(self.settings.on_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_document_fills_defaults() {
        let def: WorkflowDefinition = serde_json::from_value(serde_json::json!({
            "name": "w",
            "nodes": [{"id": "start", "kind": "manual_trigger"}],
            "edges": [{"source": "start", "target": "next"}]
        }))
        .unwrap();
        assert_eq!(def.edges[0].source_port, "out");
        assert_eq!(def.nodes[0].config, serde_json::json!({}));
        assert_eq!(def.settings.retry.max_attempts, 3);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let error = serde_json::from_value::<WorkflowDefinition>(serde_json::json!({
            "name": "w", "nodez": []
        }))
        .unwrap_err();
        assert!(error.to_string().contains("nodez"), "{error}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_delay_ms: 100,
            factor: 2.0,
            max_delay_ms: 1_000,
            jitter: false,
        };
        let delays: Vec<u64> = (1..=6).map(|a| policy.delay_ms(a, 0.5)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        let jittered = RetryPolicy {
            jitter: true,
            ..policy
        };
        assert_eq!(jittered.delay_ms(3, 0.5), 200);
        assert_eq!(jittered.delay_ms(3, 0.0), 0);
        assert_eq!(jittered.delay_ceiling_ms(200), 1_000);
    }
}
