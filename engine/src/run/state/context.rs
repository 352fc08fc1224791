//! The variables a step's expressions see: `trigger`, the steps it reads
//! (`steps.<id>.output`, `.status`, `.port`, `.error`), `execution`, and
//! inside a loop body `item` and `index`.

use minijinja::value::{Serde, Value as Jinja};
use serde_json::{Value, json};

use super::{ItemKey, RunState, StepKey};
use crate::error::StepError;

impl RunState {
    /// What expressions of `key` can read: `trigger`, `execution`, the
    /// steps they refer to, and `item` and `index` inside loops.
    pub(super) fn context(&mut self, key: &StepKey) -> Jinja {
        let plan = self.plan.clone();
        let mut steps = std::collections::BTreeMap::new();
        for &read in &plan.nodes[key.node].reads_steps {
            let item = self.instance_for_frame(&key.item, plan.nodes[read].frame);
            let Some(step) = self.steps.get_mut(&StepKey { node: read, item }) else {
                continue;
            };
            if !step.status.is_finished() {
                continue;
            }
            let view = step.context_cache.get_or_insert_with(|| {
                let mut view = serde_json::Map::new();
                view.insert(
                    "output".into(),
                    step.output.as_deref().cloned().unwrap_or(Value::Null),
                );
                view.insert("status".into(), json!(step.status));
                view.insert("port".into(), json!(step.port));
                view.insert(
                    "error".into(),
                    step.error.as_ref().map_or(Value::Null, StepError::to_json),
                );
                Jinja::from(Serde(Value::Object(view)))
            });
            steps.insert(plan.nodes[read].id.clone(), view.clone());
        }
        let mut context = std::collections::BTreeMap::new();
        context.insert("trigger", self.trigger_context.clone());
        context.insert("steps", Jinja::from(steps));
        context.insert(
            "execution",
            Jinja::from(Serde(json!({
                "id": self.execution_id,
                "workflow_id": self.workflow_id,
                "started_at": crate::time::to_rfc3339(self.started_at),
            }))),
        );
        if let Some(instance) = self.instances.get(&key.item) {
            let loop_key = StepKey {
                node: instance.loop_node,
                item: instance.parent.clone(),
            };
            if let Some(item) = self
                .loops
                .get(&loop_key)
                .and_then(|p| p.items.get(instance.index))
            {
                context.insert("item", Jinja::from(Serde(item)));
            }
            context.insert("index", Jinja::from(instance.index));
        }
        Jinja::from(context)
    }

    /// The instance key, among `item` and its ancestors, that belongs to `frame`.
    fn instance_for_frame(&self, item: &str, frame: Option<usize>) -> ItemKey {
        let mut current = item.to_owned();
        loop {
            match self.instances.get(&current) {
                Some(instance) if Some(instance.loop_node) == frame => return current,
                Some(instance) => current = instance.parent.clone(),
                None => return String::new(),
            }
        }
    }
}
