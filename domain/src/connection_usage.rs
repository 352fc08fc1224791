//! Which workflows use a connection: steps name it in their config as
//! `connection_id` (HTTP requests) or `connection` (provider steps and
//! triggers). Read from each workflow's current definition.

use entity::workflow;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{DomainError, connections::Connections};

/// Config fields that hold a connection's id.
const REFERENCES: [&str; 2] = ["connection_id", "connection"];

/// A workflow that uses a connection, and in which steps.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConnectionUse {
    pub workflow_id: Uuid,
    pub workflow_name: String,
    /// `active`, `paused` or `draft`.
    pub status: String,
    /// Ids of the nodes that name the connection.
    pub node_ids: Vec<String>,
}

/// Ids of the nodes of `definition` whose config names `connection`.
fn nodes_using(definition: &Value, connection: &str) -> Vec<String> {
    definition
        .get("nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|node| {
            REFERENCES.iter().any(|field| {
                node.get("config")
                    .and_then(|c| c.get(field))
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case(connection))
            })
        })
        .filter_map(|node| node.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

impl Connections {
    /// The owner's workflows that use the connection, by name.
    pub async fn usage(&self, owner: Uuid, id: Uuid) -> Result<Vec<ConnectionUse>, DomainError> {
        self.owned(owner, id).await?;
        let connection = id.to_string();
        Ok(workflow::Entity::find()
            .filter(workflow::Column::OwnerId.eq(owner))
            .order_by_asc(workflow::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|model| {
                let node_ids = nodes_using(&model.definition, &connection);
                (!node_ids.is_empty()).then_some(ConnectionUse {
                    workflow_id: model.id,
                    workflow_name: model.name,
                    status: model.status,
                    node_ids,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::nodes_using;

    #[test]
    fn both_ways_of_naming_a_connection_count() {
        let id = "0190a1b2-0000-7000-8000-000000000001";
        let definition = json!({"nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "call", "kind": "http_request", "config": {"connection_id": id}},
            {"id": "post", "kind": "slack.post_message", "config": {"connection": id}},
            {"id": "other", "kind": "http_request", "config": {"connection_id": "another"}}
        ]});
        assert_eq!(nodes_using(&definition, id), ["call", "post"]);
        assert!(nodes_using(&json!({}), id).is_empty());
    }
}
