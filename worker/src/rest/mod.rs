//! The REST API, byte-compatible with Kafka Connect's (spec §1).
//!
//! [`router`] serves every endpoint of one worker: `/`, `/health`, `/connectors/…`,
//! `/connector-plugins/…` and `/admin/loggers/…`. Every non-2xx answer is
//! `{"error_code": <status>, "message": "…"}`, including unknown routes (404), wrong methods
//! (405), unparsable bodies (400) and herder timeouts (500 after 90 s).
//!
//! Choices where Connect's behaviour is Java-specific:
//! * request bodies are parsed as JSON whatever their `Content-Type`; an empty body counts as
//!   absent;
//! * a task number that is not a `u32` is 404 "HTTP 404 Not Found", as Jersey answers for an
//!   `Integer` path parameter it cannot convert;
//! * boolean query parameters follow Java's `Boolean.valueOf`: `true` in any case is true, every
//!   other value false;
//! * config values may be JSON strings, numbers or booleans (stored as text); `null`, arrays and
//!   objects are 400 (`null` removes the key in a PATCH);
//! * a request the herder says belongs to another worker ([`HerderError::Forward`]: the leader,
//!   or the worker owning a connector or task) is forwarded there by [`forward::middleware`] under
//!   the `forward` query parameter rules of spec §1.1 (at most two hops, 409 when no leader is
//!   known); a standalone herder never asks for that, so there `forward` is accepted and
//!   ignored;
//! * the internal endpoints `POST /connectors/<name>/tasks` (task configs from a follower) and
//!   `PUT /connectors/<name>/fence` (KIP-618 zombie fencing) hand the herder the raw body and
//!   the KIP-507 signature headers ([`InternalRequest`](entities::InternalRequest)); the
//!   herder verifies them with [`signing::verify`]. A herder without these operations (standalone
//!   mode) answers 500, as Connect's standalone worker does;
//! * `Location` is the path `/connectors/<name>` (Jersey makes it absolute);
//! * topic tracking is not implemented: `/topics` lists no topics, `/topics/reset` is accepted;
//! * as with Jersey, the collection paths also answer with a trailing `/` (`/connectors/`,
//!   `/connector-plugins/`, `/admin/loggers/`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::logging::LogLevels;
use api::{Herder, HerderError};
use entities::WorkerStatus;

pub mod api;
mod connectors;
pub mod entities;
mod error;
mod extract;
pub mod forward;
#[doc(hidden)]
pub mod fuzzing;
mod loggers;
mod plugins;
pub mod signing;
#[cfg(test)]
mod tests;

pub use error::ApiError;

/// How long a request waits for the herder (Connect: 90 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// How long `/health` waits for the herder (Connect: 10 s).
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler gets.
struct Ctx<H> {
    herder: Arc<H>,
    logs: Arc<LogLevels>,
}

impl<H> Clone for Ctx<H> {
    fn clone(&self) -> Self {
        Ctx {
            herder: Arc::clone(&self.herder),
            logs: Arc::clone(&self.logs),
        }
    }
}

/// The REST API of one worker, forwarding what the herder says another worker must serve.
pub fn router<H: Herder>(herder: Arc<H>, logs: Arc<LogLevels>) -> Router {
    Router::new()
        .route("/", get(server_info::<H>))
        .route("/health", get(health::<H>))
        .route("/metrics", get(metrics::<H>))
        .merge(connectors::routes::<H>())
        .merge(plugins::routes::<H>())
        .merge(loggers::routes::<H>())
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(Ctx { herder, logs })
        .layer(from_fn_with_state(
            forward::Forwarder::new(),
            forward::middleware,
        ))
}

/// Waits for a herder answer at most [`REQUEST_TIMEOUT`].
async fn timed<T>(fut: impl Future<Output = T>) -> Result<T, ApiError> {
    tokio::time::timeout(REQUEST_TIMEOUT, fut)
        .await
        .map_err(|_| ApiError::timed_out())
}

/// [`timed`] for a fallible herder call.
async fn ask<T>(fut: impl Future<Output = Result<T, HerderError>>) -> Result<T, ApiError> {
    ask_within(REQUEST_TIMEOUT, fut).await
}

async fn ask_within<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, HerderError>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(ApiError::timed_out()),
    }
}

async fn server_info<H: Herder>(State(ctx): State<Ctx<H>>) -> Result<Response, ApiError> {
    Ok(Json(timed(ctx.herder.server_info()).await?).into_response())
}

/// This worker's metrics (never forwarded), in Prometheus text format.
async fn metrics<H: Herder>(State(ctx): State<Ctx<H>>) -> Result<Response, ApiError> {
    let body = timed(ctx.herder.metrics()).await?;
    let content_type = [(
        axum::http::header::CONTENT_TYPE,
        crate::metrics::CONTENT_TYPE,
    )];
    Ok((content_type, body).into_response())
}

/// 200 healthy, 503 starting, 500 unhealthy or no answer within [`HEALTH_TIMEOUT`]; the body is
/// always a `WorkerStatus`.
async fn health<H: Herder>(State(ctx): State<Ctx<H>>) -> Response {
    let status = match tokio::time::timeout(HEALTH_TIMEOUT, ctx.herder.health()).await {
        Ok(status) => status,
        Err(_) => WorkerStatus {
            status: "unhealthy".to_owned(),
            message: "Worker was unable to handle this request and may be unable to handle \
                      other requests"
                .to_owned(),
        },
    };
    let code = match status.status.as_str() {
        "healthy" => StatusCode::OK,
        "starting" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (code, Json(status)).into_response()
}
