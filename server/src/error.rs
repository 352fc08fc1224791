//! The one error type of the HTTP API. Clients get a status and a JSON body
//! `{"error": {"code", "message", "fields"}}`; internals are logged with the
//! request's id and never shown.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use domain::{DomainError, FieldProblem};
use http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{message}")]
    Invalid {
        message: String,
        fields: Vec<FieldProblem>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("this signed delivery was received before; a replay starts no run")]
    Replayed,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("at most {limit} live streams can be open at once for an account; close one first")]
    TooManyStreams { limit: usize },
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    fields: &'a [FieldProblem],
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Replayed => (StatusCode::CONFLICT, "replayed"),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooManyRequests { .. } | ApiError::TooManyStreams { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// A 422 naming one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::Invalid {
            fields: vec![FieldProblem::new(field, message.clone())],
            message,
        }
    }
}

impl ApiError {
    /// The JSON body the error is answered with (internals logged and hidden).
    pub fn body(&self) -> serde_json::Value {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "Something went wrong on our side; the request id in the x-request-id header helps us find it.".to_owned()
        } else {
            self.to_string()
        };
        let fields = match self {
            ApiError::Invalid { fields, .. } => fields.as_slice(),
            _ => &[],
        };
        serde_json::to_value(ErrorBody {
            error: ErrorDetail {
                code,
                message,
                fields,
            },
        })
        .unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut response = (status, Json(self.body())).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound => ApiError::NotFound,
            DomainError::Invalid { message, fields } => ApiError::Invalid { message, fields },
            DomainError::Conflict(message) => ApiError::Conflict(message),
            DomainError::Unauthorized(message) => ApiError::Unauthorized(message),
            DomainError::Throttled { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            DomainError::Database(error) => ApiError::Internal(error.to_string()),
            DomainError::Internal(message) => ApiError::Internal(message),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        ApiError::Internal(error.to_string())
    }
}

/// Fallback for unknown `/api` paths: JSON, not the HTML 404 page.
pub async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Turns a panic in a handler into a logged 500 with the usual JSON body.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::Internal(format!("handler panicked: {detail}")).into_response()
}
