//! Lifecycles: of a workflow (draft → active ⇄ paused, active → failed →
//! draft), of an execution, and of one step.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WorkflowStatus {
    Draft,
    Active,
    Paused,
    Failed,
}

string_enum!(WorkflowStatus { Draft => "draft", Active => "active", Paused => "paused", Failed => "failed" });

impl WorkflowStatus {
    /// The transitions of the workflow lifecycle: activate a draft, pause
    /// and resume, fail while active, and go back to draft to fix a failure.
    pub fn can_become(self, next: WorkflowStatus) -> bool {
        use WorkflowStatus::*;
        matches!(
            (self, next),
            (Draft, Active)
                | (Active, Paused)
                | (Active, Failed)
                | (Paused, Active)
                | (Failed, Draft)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ExecutionStatus {
    Queued,
    Running,
    /// Sleeping until a delay or a retry is due; holds no worker.
    Waiting,
    /// Its workflow is paused: kept as it was, continued on resume.
    Held,
    Succeeded,
    Failed,
    Cancelled,
}

string_enum!(ExecutionStatus {
    Queued => "queued", Running => "running", Waiting => "waiting", Held => "held",
    Succeeded => "succeeded", Failed => "failed", Cancelled => "cancelled",
});

impl ExecutionStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Succeeded | ExecutionStatus::Failed | ExecutionStatus::Cancelled
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StepStatus {
    Pending,
    Running,
    /// Failed an attempt and waits for the next one.
    Retrying,
    Succeeded,
    Failed,
    Skipped,
}

string_enum!(StepStatus {
    Pending => "pending", Running => "running", Retrying => "retrying",
    Succeeded => "succeeded", Failed => "failed", Skipped => "skipped",
});

impl StepStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            StepStatus::Succeeded | StepStatus::Failed | StepStatus::Skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_follows_the_state_diagram() {
        use WorkflowStatus::*;
        let allowed: Vec<(WorkflowStatus, WorkflowStatus)> = WorkflowStatus::ALL
            .iter()
            .flat_map(|a| WorkflowStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (Draft, Active),
                (Active, Paused),
                (Active, Failed),
                (Paused, Active),
                (Failed, Draft)
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for status in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(status.as_str()), Some(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for status in StepStatus::ALL {
            assert_eq!(StepStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(WorkflowStatus::parse("archived"), None);
    }
}
