//! What can go wrong in a use case, in terms the API turns into statuses.

use serde::Serialize;

/// One field that is wrong, for `{"error": {"fields": [...]}}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldProblem {
    /// `email`, `nodes[2].config.url`, …
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

impl FieldProblem {
    pub fn new(field: &str, message: impl Into<String>) -> FieldProblem {
        FieldProblem {
            field: field.to_owned(),
            message: message.into(),
            node_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Missing, or someone else's: the two are never told apart.
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid {
        message: String,
        fields: Vec<FieldProblem>,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: &str, message: impl Into<String>) -> DomainError {
        let message = message.into();
        DomainError::Invalid {
            message: message.clone(),
            fields: vec![FieldProblem::new(field, message)],
        }
    }
}

impl From<engine::EngineError> for DomainError {
    fn from(error: engine::EngineError) -> Self {
        match error {
            engine::EngineError::Invalid(problems) => crate::workflows::invalid_workflow(&problems),
            engine::EngineError::UnknownVersion => DomainError::NotFound,
            engine::EngineError::Payload(field, message) => {
                DomainError::invalid(field, format!("the {field} {message}"))
            }
            engine::EngineError::Database(message) => DomainError::Internal(message),
        }
    }
}

/// Whether the database aborted a transaction to break a deadlock or a
/// serialization conflict (SQLSTATE 40P01, 40001): the same transaction
/// run again can succeed.
pub(crate) fn lost_lock_race(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let (sea_orm::DbErr::Exec(RuntimeErr::SqlxError(error))
    | sea_orm::DbErr::Query(RuntimeErr::SqlxError(error))) = error
    else {
        return false;
    };
    let sqlx::Error::Database(error) = error.as_ref() else {
        return false;
    };
    matches!(error.code().as_deref(), Some("40P01" | "40001"))
}
