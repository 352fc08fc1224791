//! Node kinds: one module each, all registered in [`Registry::builtin`].
//! A kind describes itself (its [`KindSpec`]: fields and ports, which the
//! browser builds forms from and the validator enforces) and runs a step.
//! Integrations (`<provider>.<action>`) implement the same trait and are
//! added with one `register` line.

mod condition;
mod delay;
mod for_each;
pub mod http_request;
mod merge;
mod stop_and_fail;
mod switch;
mod transform;
pub(crate) mod triggers;

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
};

use model::{Catalogue, KindSpec, Node};
use serde_json::Value;

use crate::{error::StepError, outbound::OutboundClient};

pub use model::definition::DEFAULT_PORT;

/// What a step came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Finished; `port` is the output port that fires.
    Done {
        output: Value,
        port: String,
    },
    Failed(StepError),
    /// Wake the step at this time (epoch ms) and finish it then; the run
    /// holds no worker meanwhile.
    Sleep {
        until_ms: i64,
    },
    /// Run the step again at this time (epoch ms), as if it had not run:
    /// no attempt is counted (it waits for its turn at a rate limit).
    Defer {
        until_ms: i64,
        reason: String,
    },
    /// Run the loop body once per item, at most `concurrency` at a time.
    ForEach {
        items: Vec<Value>,
        concurrency: usize,
    },
}

impl Outcome {
    pub fn out(output: Value) -> Outcome {
        Outcome::Done {
            output,
            port: DEFAULT_PORT.to_owned(),
        }
    }
}

/// Log lines a step writes while it runs; shown live beside the run.
#[derive(Clone, Debug, Default)]
pub struct StepLog(Arc<Mutex<Vec<String>>>);

impl StepLog {
    pub fn line(&self, line: impl Into<String>) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line.into());
        }
    }

    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut lines| std::mem::take(&mut *lines))
            .unwrap_or_default()
    }
}

/// What the engine provides to steps.
pub struct Services {
    pub http: OutboundClient,
    pub credentials: std::sync::Arc<dyn crate::credentials::CredentialStore>,
    /// Request slots per connection (provider rate limits).
    pub limits: Arc<crate::providers::limits::RateLimits>,
    /// Counts outbound calls and rate-limit waits.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Services {
    pub fn new(http: OutboundClient) -> Services {
        Services {
            http,
            credentials: std::sync::Arc::new(crate::credentials::NoCredentials),
            limits: Arc::default(),
            metrics: Arc::default(),
        }
    }
}

/// Everything a step needs to run.
pub struct StepInput<'a> {
    pub node: &'a Node,
    /// The node's config with every expression evaluated.
    pub config: Value,
    /// Outputs of the upstream steps that fired into this one, by node id.
    pub inputs: Vec<(String, Arc<Value>)>,
    /// The run's trigger payload.
    pub trigger: &'a Value,
    /// Stable across retries and restarts: `execution:node[:item]`.
    pub step_key: &'a str,
    /// 1 on the first attempt.
    pub attempt: u32,
    /// Whose run this is: connections are looked up for this account only.
    pub owner_id: uuid::Uuid,
    pub services: &'a Services,
    pub log: StepLog,
}

impl StepInput<'_> {
    /// The single upstream output, or with several an object by node id.
    pub fn input(&self) -> Value {
        match self.inputs.as_slice() {
            [(_, only)] => (**only).clone(),
            several => Value::Object(
                several
                    .iter()
                    .map(|(id, v)| (id.clone(), (**v).clone()))
                    .collect(),
            ),
        }
    }

    /// Deserializes the evaluated config into the kind's own type.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, StepError> {
        serde_json::from_value(self.config.clone())
            .map_err(|e| StepError::validation(format!("invalid configuration: {e}")))
    }
}

pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

pub trait NodeKind: Send + Sync + 'static {
    fn spec(&self) -> KindSpec;

    /// Pure kinds compute from their inputs alone, without I/O or side
    /// effects; the engine runs them inline and may run them again after a
    /// crash instead of persisting them first.
    fn is_pure(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a>;
}

/// The kinds an engine can run, and their catalogue for the browser.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<String, Arc<dyn NodeKind>>,
    catalogue: Catalogue,
}

impl Registry {
    /// Every built-in kind.
    pub fn builtin() -> Registry {
        let mut registry = Registry::default();
        registry.register(triggers::ManualTrigger);
        registry.register(triggers::WebhookTrigger);
        registry.register(triggers::ScheduleTrigger);
        registry.register(triggers::EventTrigger);
        registry.register(http_request::HttpRequest);
        registry.register(transform::Transform);
        registry.register(condition::Condition);
        registry.register(switch::Switch);
        registry.register(delay::Delay);
        registry.register(merge::Merge);
        registry.register(for_each::Loop);
        registry.register(stop_and_fail::StopAndFail);
        crate::providers::register(&mut registry, crate::providers::all());
        registry
    }

    pub fn register(&mut self, kind: impl NodeKind) {
        let spec = kind.spec();
        self.catalogue
            .kinds
            .retain(|existing| existing.kind != spec.kind);
        self.kinds.insert(spec.kind.clone(), Arc::new(kind));
        self.catalogue.kinds.push(spec);
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn NodeKind>> {
        self.kinds.get(kind)
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }
}

/// A boxed future that is already complete.
pub(crate) fn ready(outcome: Outcome) -> StepFuture<'static> {
    Box::pin(std::future::ready(outcome))
}

#[cfg(test)]
mod tests;
