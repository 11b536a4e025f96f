//! `JsonBody` and `MultipartBody`: the request body of a route, read with
//! the media type checked and the size limit applied, so that every route
//! answers 415 and 413 the same way.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;

use crate::{ApiError, AppState};

pub struct JsonBody(pub Bytes);

/// The media type without parameters, lower-cased.
pub fn media_type(request: &Request) -> Option<String> {
    let value = request.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let media_type = media_type(&request).unwrap_or_default();
        if !is_json(&media_type) {
            return Err(ApiError::UnsupportedMediaType { media_type, expected: "application/json" });
        }
        Ok(JsonBody(read_limited(request, state).await?))
    }
}

/// The request body of a `multipart/form-data` route, with its full
/// Content-Type (which carries the boundary).
pub struct MultipartBody {
    pub content_type: String,
    pub bytes: Bytes,
}

impl FromRequest<AppState> for MultipartBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let media_type = media_type(&request).unwrap_or_default();
        if media_type != "multipart/form-data" {
            return Err(ApiError::UnsupportedMediaType { media_type, expected: "multipart/form-data; boundary=…" });
        }
        let content_type =
            request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
        Ok(MultipartBody { content_type, bytes: read_limited(request, state).await? })
    }
}

/// Reads the whole (already decoded) body, answering 413 past the limit.
async fn read_limited(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let limit = state.limits.max_body_bytes;
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::UnreadableBody(rejection.body_text())
        }
    })
}
