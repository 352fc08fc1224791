//! Stored credentials ("connections") as steps see them. The engine only
//! defines the interface; the server supplies a store that decrypts them
//! for the run's owner and can refresh those that support it (OAuth 2).

use std::{future::Future, pin::Pin};

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::StepError;

/// A decrypted connection: its kind and every field, secrets included.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    /// `bearer`, `basic`, `header` or `oauth2`.
    pub kind: String,
    pub fields: Map<String, Value>,
}

impl Credential {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// Whether the credential can be renewed after the service refuses it.
    pub fn refreshable(&self) -> bool {
        self.kind == "oauth2" && self.field("refresh_token").is_some_and(|t| !t.is_empty())
    }
}

/// Where a secret sealed in a workflow lives. A sealed value is bound to
/// it and opens nowhere else, so one copied into another workflow or field
/// is useless there.
#[derive(Clone, Copy, Debug)]
pub struct SecretSlot<'a> {
    pub workflow_id: &'a str,
    pub node_id: &'a str,
    /// JSON pointer of the field in the node's config, e.g. `/auth/token`.
    pub pointer: &'a str,
}

pub type CredentialFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'a>>;

pub trait CredentialStore: Send + Sync + 'static {
    /// The connection `id` of `owner` (a validation error when it is not theirs).
    fn load(&self, owner: Uuid, id: Uuid) -> CredentialFuture<'_, Credential>;
    /// Renews a refreshable connection and returns it as it is now.
    fn refresh(&self, owner: Uuid, id: Uuid) -> CredentialFuture<'_, Credential>;
    /// The plain text of a secret stored sealed (`sealed:…`) at `slot`;
    /// any other text is returned as it is.
    fn unseal(&self, text: &str, slot: SecretSlot<'_>) -> Result<String, StepError> {
        let _ = slot;
        Ok(text.to_owned())
    }
}

/// Used where no store is configured (tests, in-memory runs).
pub struct NoCredentials;

impl CredentialStore for NoCredentials {
    fn load(&self, _owner: Uuid, _id: Uuid) -> CredentialFuture<'_, Credential> {
        Box::pin(async {
            Err(StepError::validation(
                "stored connections are not available here",
            ))
        })
    }

    fn refresh(&self, owner: Uuid, id: Uuid) -> CredentialFuture<'_, Credential> {
        self.load(owner, id)
    }
}
