//! Why a step failed, sorted into classes that decide whether it is retried.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The service asked us to slow down (HTTP 429): retried, honouring `Retry-After`.
    RateLimit,
    /// Likely to pass on a later attempt (5xx, 408, timeouts, connection errors): retried.
    Transient,
    /// Credentials were refused (401, 403): not retried without new credentials.
    Auth,
    /// The request itself is wrong (other 4xx, bad configuration, expression errors): never retried.
    Validation,
    /// A `stop_and_fail` step stopped the run on purpose.
    Stopped,
    /// The run was cancelled while the step ran.
    Cancelled,
    /// Something broke inside Switchyard.
    Internal,
}

impl ErrorClass {
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::RateLimit | ErrorClass::Transient)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepError {
    pub class: ErrorClass,
    pub message: String,
    /// The wait the remote service asked for, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// HTTP status of the response that caused the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// More about the failure, such as an excerpt of the response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl StepError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> StepError {
        StepError {
            class,
            message: message.into(),
            retry_after_ms: None,
            status: None,
            details: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> StepError {
        StepError::new(ErrorClass::Validation, message)
    }

    pub fn transient(message: impl Into<String>) -> StepError {
        StepError::new(ErrorClass::Transient, message)
    }

    pub fn internal(message: impl Into<String>) -> StepError {
        StepError::new(ErrorClass::Internal, message)
    }

    pub fn with_status(mut self, status: u16) -> StepError {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, retry_after_ms: Option<u64>) -> StepError {
        self.retry_after_ms = retry_after_ms;
        self
    }

    pub fn with_details(mut self, details: Value) -> StepError {
        self.details = Some(details);
        self
    }

    /// The error as it may be stored and shown: credentials in URLs (and
    /// anything else [`crate::redact::text`] recognises) masked.
    pub fn redacted(mut self) -> StepError {
        if let std::borrow::Cow::Owned(masked) = crate::redact::text(&self.message) {
            self.message = masked;
        }
        if let Some(details) = &mut self.details {
            crate::redact::json(details);
        }
        self
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Sorts an HTTP error status into its class.
pub fn classify_status(status: u16) -> ErrorClass {
    match status {
        429 => ErrorClass::RateLimit,
        401 | 403 => ErrorClass::Auth,
        408 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Validation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_classes() {
        assert_eq!(classify_status(429), ErrorClass::RateLimit);
        assert_eq!(classify_status(503), ErrorClass::Transient);
        assert_eq!(classify_status(500), ErrorClass::Transient);
        assert_eq!(classify_status(408), ErrorClass::Transient);
        assert_eq!(classify_status(401), ErrorClass::Auth);
        assert_eq!(classify_status(403), ErrorClass::Auth);
        assert_eq!(classify_status(400), ErrorClass::Validation);
        assert_eq!(classify_status(404), ErrorClass::Validation);
        assert_eq!(classify_status(422), ErrorClass::Validation);
        assert!(ErrorClass::RateLimit.is_retryable() && ErrorClass::Transient.is_retryable());
        assert!(!ErrorClass::Auth.is_retryable() && !ErrorClass::Validation.is_retryable());
    }
}
