//! The REST API, byte-compatible with Kafka Connect's (spec §1).
//!
//! [`router`] serves every endpoint of one worker: `/`, `/health`, `/connectors/…`,
//! `/connector-plugins/…` and `/admin/loggers/…`. Every non-2xx answer is
//! `{"error_code": <status>, "message": "…"}`, including unknown routes (404), wrong methods
//! (405), unparsable bodies (400) and herder timeouts (500 after 90 s).
//!
//! Choices where Connect's behaviour is Java-specific:
//! * a non-empty request body must be declared `application/json` (else 415, as Jersey's
//!   `@Consumes`); an empty body counts as absent;
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
//! * topic tracking (KIP-558): `GET /connectors/<name>/topics` and
//!   `PUT /connectors/<name>/topics/reset` are answered by this worker from its own status store,
//!   never forwarded (as in Connect); an unknown connector has no topics (200, reset 202), and
//!   `topic.tracking.enable=false` / `topic.tracking.allow.reset=false` make them 403;
//! * [`app`] puts the security of spec §2 around the routes: basic authentication
//!   ([`auth`]) on the main listeners, CORS and `response.http.headers.config` ([`headers`]),
//!   and the admin endpoints on the main listeners, on `admin.listeners` only (without those
//!   three, as in Connect), or nowhere; [`server`] binds the listeners, with TLS ([`tls`]) and
//!   limits;
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

use crate::config::rest_server::{AdminListeners, RestServerConfig};
use crate::logging::LogLevels;
use api::{Herder, HerderError};
use entities::WorkerStatus;

pub mod api;
pub mod auth;
mod connectors;
pub mod entities;
mod error;
mod extract;
pub mod forward;
#[doc(hidden)]
pub mod fuzzing;
mod headers;
mod loggers;
mod plugins;
pub mod server;
pub mod signing;
#[cfg(test)]
mod tests;
pub mod tls;

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

/// The REST API of one worker, every endpoint on one router and no security (tests), forwarding
/// what the herder says another worker must serve.
pub fn router<H: Herder>(herder: Arc<H>, logs: Arc<LogLevels>) -> Router {
    let routes = api_routes::<H>().merge(loggers::routes::<H>());
    finish(routes, Ctx { herder, logs }, forward::Forwarder::new())
}

/// The routers of one worker's listeners.
pub struct App {
    /// For `listeners`.
    pub main: Router,
    /// For `admin.listeners`, when they are separate.
    pub admin: Option<Router>,
}

/// The REST API of one worker with the security of `rest`; `http` is the client for requests
/// to other workers (see [`tls::client`]); bodies must arrive within `limits.body_timeout`.
pub fn app<H: Herder>(
    herder: Arc<H>,
    logs: Arc<LogLevels>,
    rest: &RestServerConfig,
    http: reqwest::Client,
    limits: &server::Limits,
) -> App {
    let ctx = Ctx { herder, logs };
    let forwarder = forward::Forwarder::with_client(http, limits.body_timeout);
    let mut main = api_routes::<H>();
    let mut admin = None;
    match rest.admin_listeners {
        AdminListeners::Main => main = main.merge(loggers::routes::<H>()),
        AdminListeners::Disabled => {}
        AdminListeners::Separate(_) => {
            admin = Some(finish(
                loggers::routes::<H>(),
                ctx.clone(),
                forwarder.clone(),
            ))
        }
    }
    if let Some(users) = &rest.basic_auth {
        main = main.route_layer(from_fn_with_state(
            Arc::new(users.clone()),
            auth::basic_auth,
        ));
    }
    let mut main = finish(main, ctx, forwarder);
    if !rest.response_headers.is_empty() {
        main = main.layer(from_fn_with_state(
            Arc::new(rest.response_headers.clone()),
            headers::response_headers,
        ));
    }
    if let Some(cors) = &rest.cors {
        main = main.layer(headers::cors_layer(cors));
    }
    App { main, admin }
}

/// Every endpoint but the admin ones.
fn api_routes<H: Herder>() -> Router<Ctx<H>> {
    Router::new()
        .route("/", get(server_info::<H>))
        .route("/health", get(health::<H>))
        .route("/metrics", get(metrics::<H>))
        .merge(connectors::routes::<H>())
        .merge(plugins::routes::<H>())
}

/// `routes` with the JSON 404/405 answers and forwarding.
fn finish<H: Herder>(routes: Router<Ctx<H>>, ctx: Ctx<H>, forwarder: forward::Forwarder) -> Router {
    routes
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(ctx)
        .layer(from_fn_with_state(forwarder, forward::middleware))
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
