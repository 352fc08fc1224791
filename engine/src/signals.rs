//! What happened to runs this instance worked on, for whoever watches
//! (alerts, auto-pause): sent once a write has committed, by the instance
//! that wrote it, so each instance hears of its own runs only once.

use uuid::Uuid;

/// The run a signal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunIds {
    pub execution_id: Uuid,
    pub workflow_id: Uuid,
    pub owner_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunSignal {
    /// The run ended: `succeeded`, `failed` or `cancelled`; `dead_letter`
    /// when it went to the dead-letter queue.
    Ended {
        run: RunIds,
        status: &'static str,
        dead_letter: bool,
    },
    /// A provider answered a step 429.
    RateLimited { run: RunIds, node_id: String },
    /// A provider refused a step's credentials (401/403).
    CredentialsRefused { run: RunIds, node_id: String },
}

impl RunSignal {
    pub fn run(&self) -> &RunIds {
        match self {
            RunSignal::Ended { run, .. }
            | RunSignal::RateLimited { run, .. }
            | RunSignal::CredentialsRefused { run, .. } => run,
        }
    }
}
