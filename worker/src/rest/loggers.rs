//! `/admin/loggers/…`: runtime log levels (see [`crate::logging`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::extract::{JsonBody, PathParams, QueryParams};
use super::{ApiError, Ctx};
use crate::rest::api::Herder;

type St<H> = State<Ctx<H>>;
type Reply = Result<Response, ApiError>;

pub(super) fn routes<H: Herder>() -> Router<Ctx<H>> {
    Router::new()
        .route("/admin/loggers", get(all::<H>))
        .route("/admin/loggers/", get(all::<H>))
        .route("/admin/loggers/{logger}", get(one::<H>).put(set::<H>))
}

/// Loggers with an explicit level, plus `root`.
async fn all<H: Herder>(State(ctx): St<H>) -> Response {
    Json(ctx.logs.all()).into_response()
}

async fn one<H: Herder>(State(ctx): St<H>, PathParams(logger): PathParams<String>) -> Reply {
    let level = ctx
        .logs
        .level(&logger)
        .ok_or_else(|| ApiError::not_found(format!("Logger {logger} not found.")))?;
    Ok(Json(level).into_response())
}

/// Body `{"level": "DEBUG"}`: missing level 400, unknown level 404. `scope=worker` (default, and
/// any unknown scope, as in Connect) answers 200 with the affected loggers; `scope=cluster` is
/// applied to this worker only (standalone) and answers 204.
async fn set<H: Herder>(
    State(ctx): St<H>,
    PathParams(logger): PathParams<String>,
    query: QueryParams,
    JsonBody(body): JsonBody<BTreeMap<String, Value>>,
) -> Reply {
    let level = match body.get("level") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "Desired 'level' parameter was not specified in request.",
            ))
        }
        Some(Value::String(level)) => level.clone(),
        Some(other) => other.to_string(),
    };
    let affected = ctx.logs.set_level(&logger, &level)?;
    let cluster = query
        .get("scope")
        .is_some_and(|scope| scope.eq_ignore_ascii_case("cluster"));
    if cluster {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok(Json(affected).into_response())
    }
}
