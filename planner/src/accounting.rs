//! What a draft still needs from its account: the providers its steps
//! use, the connections the account does not have yet, and the required
//! values nobody gave. Shared by every planner, so a draft reads the same
//! whichever one wrote it.

use model::{
    WorkflowDefinition,
    ai::{ConnectionRef, MissingConnection, NeededInput},
    catalogue::FieldType,
};
use serde_json::{Value, json};

use crate::catalog::Catalog;

#[derive(Default)]
pub struct Accounting {
    /// Provider ids, in the order the steps use them.
    pub providers: Vec<String>,
    pub missing_connections: Vec<MissingConnection>,
    pub needs_input: Vec<NeededInput>,
}

impl Accounting {
    /// Accounts for one step: its connection field is filled with the
    /// account's connection for the provider when it has one and the step
    /// names none (a connection named but not the account's is left as it
    /// is: the validator's allow-list reports it).
    pub fn node(
        &mut self,
        catalog: &Catalog,
        connections: &[ConnectionRef],
        id: &str,
        kind: &str,
        config: &mut Value,
    ) {
        let Some(spec) = catalog.kind(kind) else {
            return;
        };
        if let Some(provider) = &spec.provider
            && !self.providers.contains(provider)
        {
            self.providers.push(provider.clone());
        }
        for field in &spec.fields {
            let present = config
                .get(&field.name)
                .is_some_and(|v| !v.is_null() && v != "");
            match &field.ty {
                // A trigger's connection registers its webhook "instead of
                // a secret": with the secret given, it takes none.
                FieldType::Connection { .. } if !field.required && has_secret(config) => {}
                FieldType::Connection { provider } if !present => {
                    match connections.iter().find(|c| &c.provider == provider) {
                        Some(connection) => {
                            if !config.is_object() {
                                *config = json!({});
                            }
                            config[&field.name] = json!(connection.id);
                        }
                        None => self.missing_connection(catalog, provider, id),
                    }
                }
                FieldType::Connection { .. } => {}
                _ if field.required && !present => self.needs_input.push(NeededInput {
                    node_id: id.to_owned(),
                    field: format!("config.{}", field.name),
                    label: field.label.clone(),
                    hint: field.help.clone(),
                }),
                _ => {}
            }
        }
    }

    fn missing_connection(&mut self, catalog: &Catalog, provider: &str, node: &str) {
        if let Some(entry) = self
            .missing_connections
            .iter_mut()
            .find(|m| m.provider == provider)
        {
            entry.node_ids.push(node.to_owned());
            return;
        }
        let name = catalog
            .providers
            .iter()
            .find(|p| p.id == provider)
            .map_or(provider.to_owned(), |p| p.name.clone());
        self.missing_connections.push(MissingConnection {
            provider: provider.to_owned(),
            provider_name: name,
            node_ids: vec![node.to_owned()],
        });
    }
}

fn has_secret(config: &Value) -> bool {
    config
        .get("secret")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

/// Accounts for every step of a workflow, filling in connections.
pub fn account(
    catalog: &Catalog,
    workflow: &mut WorkflowDefinition,
    connections: &[ConnectionRef],
) -> Accounting {
    let mut accounting = Accounting::default();
    for node in &mut workflow.nodes {
        accounting.node(catalog, connections, &node.id, &node.kind, &mut node.config);
    }
    accounting
}
