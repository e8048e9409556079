//! The REST error body `{"error_code": <status>, "message": "…"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::forward::{ForwardTo, NO_KNOWN_LEADER};
use crate::logging::LevelError;
use crate::rest::api::HerderError;

/// Any non-2xx answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Set from [`HerderError::Forward`]: the request belongs to another worker. The response
    /// carries it as a [`ForwardTo`] extension for the forwarding middleware
    /// ([`super::forward`]), which re-sends the request or answers 409.
    forward_to: Option<ForwardTo>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            forward_to: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// What Jersey answers for a path it cannot match (also a task number that is not a number).
    pub fn no_route() -> ApiError {
        ApiError::not_found("HTTP 404 Not Found")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTP 405 Method Not Allowed",
        )
    }

    /// The request must be served by the worker at `target` (`None`: no leader is known). A 409
    /// unless the forwarding middleware sends it on; with no known leader the middleware keeps
    /// this answer (or, for `forward=false`, gives its own 409).
    pub fn forward(target: Option<String>) -> ApiError {
        let message = match &target {
            Some(url) => format!("Request must be forwarded to {url}"),
            None => NO_KNOWN_LEADER.to_owned(),
        };
        ApiError {
            forward_to: Some(ForwardTo(target)),
            ..ApiError::new(StatusCode::CONFLICT, message)
        }
    }

    /// The herder did not answer in time (Connect: 500 "Request timed out…").
    pub fn timed_out() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Request timed out. The worker is currently busy; try again later.",
        )
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> ApiError {
        let status = match e {
            HerderError::NotFound(_) => StatusCode::NOT_FOUND,
            HerderError::AlreadyExists(_) | HerderError::Conflict(_) => StatusCode::CONFLICT,
            HerderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HerderError::Forbidden(_) => StatusCode::FORBIDDEN,
            HerderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HerderError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HerderError::Forward(target) => return ApiError::forward(target),
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<LevelError> for ApiError {
    fn from(e: LevelError) -> ApiError {
        let status = match &e {
            LevelError::InvalidLevel(_) => StatusCode::NOT_FOUND,
            LevelError::InvalidLogger(_) => StatusCode::BAD_REQUEST,
            LevelError::Reload(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.status.as_u16(),
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(target) = self.forward_to {
            response.extensions_mut().insert(target);
        }
        response
    }
}
