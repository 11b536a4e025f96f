//! `ApiError`: the one error type of every handler, and its status table.
//! A 500 carries no internal text; the cause is logged once, here.

use agentrace_ingest::native::BodyError;
use agentrace_ingest::SubmitError;
use agentrace_store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error("unsupported media type {media_type:?}; send Content-Type: {expected}")]
    UnsupportedMediaType { media_type: String, expected: &'static str },
    #[error("the request body is larger than the limit of {limit} bytes (after decompression)")]
    PayloadTooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    UnreadableBody(String),
    #[error("invalid {0}")]
    Parameter(#[from] crate::params::ParameterError),
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("the ingest queue is full; retry after {retry_after_seconds} s")]
    QueueFull { retry_after_seconds: u64 },
    #[error("the service is unavailable; retry after {retry_after_seconds} s")]
    Unavailable { retry_after_seconds: u64 },
    #[error("the store rejected the data: {0}")]
    Rejected(String),
    #[error("internal error")]
    Internal(String),
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::QueueFull => ApiError::QueueFull { retry_after_seconds: 1 },
            SubmitError::ShuttingDown => ApiError::Unavailable { retry_after_seconds: 5 },
            SubmitError::Store(error) => error.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) | StoreError::Busy(_) => {
                tracing::warn!(%error, "store temporarily unavailable");
                ApiError::Unavailable { retry_after_seconds: 1 }
            }
            StoreError::Rejected(message) => ApiError::Rejected(message),
            StoreError::InvalidQuery(message) => {
                ApiError::Parameter(crate::params::ParameterError::from_store(&message))
            }
            StoreError::Internal(message) => ApiError::Internal(message),
        }
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Body(_) | ApiError::UnreadableBody(_) | ApiError::Parameter(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Body(BodyError::Malformed { .. }) => "malformed_json",
            ApiError::Body(BodyError::Shape(_)) => "invalid_body",
            ApiError::UnreadableBody(_) => "unreadable_body",
            ApiError::Parameter(_) => "invalid_parameter",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::NotFound { .. } => "not_found",
            ApiError::QueueFull { .. } => "queue_full",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Rejected(_) => "rejected",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let mut body = json!({"code": self.code(), "message": self.to_string()});
        if let ApiError::Body(BodyError::Malformed { line, column, .. }) = &self {
            body["line"] = json!(line);
            body["column"] = json!(column);
        }
        if let ApiError::Parameter(error) = &self {
            body["parameter"] = json!(error.parameter);
        }
        let mut response = (self.status(), Json(json!({ "error": body }))).into_response();
        if let ApiError::QueueFull { retry_after_seconds } | ApiError::Unavailable { retry_after_seconds } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}
