//! `/connectors/…`: connector lifecycle, config, status, tasks, offsets and topics.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tributary_connector_api::Props;

use super::extract::{
    config_from_json, patch_from_json, JsonBody, JsonWithBytes, PathParams, QueryParams,
};
use super::signing::{ALGORITHM_HEADER, SIGNATURE_HEADER};
use super::{ask, timed, ApiError, Ctx};
use crate::model::{ConnectorOffset, ConnectorOffsets, TargetState};
use crate::rest::api::Herder;
use crate::rest::entities::{
    ConnectorInfo, ConnectorStateInfo, CreateConnectorRequest, InternalRequest,
};

type St<H> = State<Ctx<H>>;
type Name = PathParams<String>;
type NameAndTask = PathParams<(String, String)>;
type Reply = Result<Response, ApiError>;

pub(super) fn routes<H: Herder>() -> Router<Ctx<H>> {
    let c = |rest: &str| format!("/connectors/{{name}}{rest}");
    Router::new()
        .route("/connectors", get(list::<H>).post(create::<H>))
        .route("/connectors/", get(list::<H>).post(create::<H>))
        .route(&c(""), get(info::<H>).delete(delete::<H>))
        .route(
            &c("/config"),
            get(config::<H>)
                .put(put_config::<H>)
                .patch(patch_config::<H>),
        )
        .route(&c("/status"), get(status::<H>))
        .route(&c("/tasks"), get(tasks::<H>).post(put_task_configs::<H>))
        .route(&c("/tasks-config"), get(tasks_config::<H>))
        .route(&c("/tasks/{task}/status"), get(task_status::<H>))
        .route(&c("/tasks/{task}/restart"), post(restart_task::<H>))
        .route(&c("/restart"), post(restart::<H>))
        .route(&c("/pause"), put(pause::<H>))
        .route(&c("/resume"), put(resume::<H>))
        .route(&c("/stop"), put(stop::<H>))
        .route(&c("/fence"), put(fence_zombies::<H>))
        .route(&c("/topics"), get(topics::<H>))
        .route(&c("/topics/reset"), put(reset_topics::<H>))
        .route(
            &c("/offsets"),
            get(offsets::<H>)
                .patch(alter_offsets::<H>)
                .delete(reset_offsets::<H>),
        )
}

/// One entry of the expanded connector list.
#[derive(Serialize)]
struct Expanded {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<ConnectorStateInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    info: Option<ConnectorInfo>,
}

/// Names, or with any `expand` a map of the requested expansions; a connector that vanishes
/// meanwhile (404) is left out.
async fn list<H: Herder>(State(ctx): St<H>, query: QueryParams) -> Reply {
    let names = timed(ctx.herder.connectors()).await?;
    if !query.has("expand") {
        return Ok(Json(names).into_response());
    }
    let mut out = BTreeMap::new();
    for name in names {
        match expand(&ctx, &name, &query).await {
            Ok(entry) => {
                out.insert(name, entry);
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Json(out).into_response())
}

async fn expand<H: Herder>(
    ctx: &Ctx<H>,
    name: &str,
    query: &QueryParams,
) -> Result<Expanded, ApiError> {
    let mut entry = Expanded {
        status: None,
        info: None,
    };
    for what in query.all("expand") {
        match what {
            "status" => entry.status = Some(ask(ctx.herder.connector_status(name)).await?),
            "info" => entry.info = Some(ask(ctx.herder.connector_info(name)).await?),
            _ => {}
        }
    }
    Ok(entry)
}

async fn create<H: Herder>(
    State(ctx): St<H>,
    JsonBody(req): JsonBody<CreateConnectorRequest>,
) -> Reply {
    let (name, config, initial_state) = create_request(req)?;
    let upserted = ask(ctx
        .herder
        .put_connector_config(&name, config, false, initial_state))
    .await?;
    Ok(created(&name, upserted.info))
}

/// The checked parts of a `POST /connectors` body: the trimmed name, the config (with `name`)
/// and the initial state.
pub(super) fn create_request(
    req: CreateConnectorRequest,
) -> Result<(String, Props, Option<TargetState>), ApiError> {
    let name = req.name.as_deref().unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::bad_request("Connector name must not be empty"));
    }
    let initial_state = req
        .initial_state
        .as_deref()
        .map(initial_state)
        .transpose()?;
    let config = named_config(&name, config_from_json(req.config)?)?;
    Ok((name, config, initial_state))
}

/// `initial_state`: `RUNNING` | `PAUSED` | `STOPPED`, any case.
fn initial_state(s: &str) -> Result<TargetState, ApiError> {
    match s.to_ascii_uppercase().as_str() {
        "RUNNING" => Ok(TargetState::Started),
        "PAUSED" => Ok(TargetState::Paused),
        "STOPPED" => Ok(TargetState::Stopped),
        _ => Err(ApiError::bad_request(format!(
            "Invalid initial state '{s}': must be one of RUNNING, PAUSED, STOPPED"
        ))),
    }
}

/// Adds `name` to the config, or checks that the one given matches.
pub(super) fn named_config(name: &str, mut config: Props) -> Result<Props, ApiError> {
    match config.get("name") {
        Some(given) if given != name => Err(ApiError::bad_request(format!(
            "Connector name configuration ({given}) doesn't match connector name in the URL ({name})"
        ))),
        Some(_) => Ok(config),
        None => {
            config.insert("name".to_owned(), name.to_owned());
            Ok(config)
        }
    }
}

/// 201 with `Location: /connectors/<name>`.
fn created(name: &str, info: ConnectorInfo) -> Response {
    let location = format!("/connectors/{}", encode_path(name));
    let mut response = (StatusCode::CREATED, Json(info)).into_response();
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// Percent-encodes what may not appear in a URI path (`/` is kept, as Jersey's `path()` does).
fn encode_path(s: &str) -> String {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
    s.bytes()
        .map(|b| {
            if keep(b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn info<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    Ok(Json(ask(ctx.herder.connector_info(&name)).await?).into_response())
}

async fn delete<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    ask(ctx.herder.delete_connector(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn config<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    Ok(Json(ask(ctx.herder.connector_config(&name)).await?).into_response())
}

/// 201 + `Location` when created, else 200.
async fn put_config<H: Herder>(
    State(ctx): St<H>,
    PathParams(name): Name,
    JsonBody(raw): JsonBody<BTreeMap<String, Value>>,
) -> Reply {
    let config = named_config(&name, config_from_json(raw)?)?;
    let upserted = ask(ctx.herder.put_connector_config(&name, config, true, None)).await?;
    if upserted.created {
        Ok(created(&name, upserted.info))
    } else {
        Ok(Json(upserted.info).into_response())
    }
}

async fn patch_config<H: Herder>(
    State(ctx): St<H>,
    PathParams(name): Name,
    JsonBody(raw): JsonBody<BTreeMap<String, Value>>,
) -> Reply {
    let patch = patch_from_json(raw)?;
    Ok(Json(ask(ctx.herder.patch_connector_config(&name, patch)).await?).into_response())
}

async fn status<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    Ok(Json(ask(ctx.herder.connector_status(&name)).await?).into_response())
}

async fn tasks<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    Ok(Json(ask(ctx.herder.tasks(&name)).await?).into_response())
}

async fn tasks_config<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    Ok(Json(ask(ctx.herder.tasks_config(&name)).await?).into_response())
}

/// A task number that is not a number is "not found", as in Connect.
fn task_number(s: &str) -> Result<u32, ApiError> {
    s.parse().map_err(|_| ApiError::no_route())
}

async fn task_status<H: Herder>(State(ctx): St<H>, PathParams((name, task)): NameAndTask) -> Reply {
    let task = task_number(&task)?;
    Ok(Json(ask(ctx.herder.task_status(&name, task)).await?).into_response())
}

async fn restart_task<H: Herder>(
    State(ctx): St<H>,
    PathParams((name, task)): NameAndTask,
) -> Reply {
    let task = task_number(&task)?;
    ask(ctx.herder.restart_task(&name, task)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// KIP-745: a plain restart is 204; with `includeTasks` or `onlyFailed` it is 202 + status.
async fn restart<H: Herder>(
    State(ctx): St<H>,
    PathParams(name): Name,
    query: QueryParams,
) -> Reply {
    let include_tasks = query.flag("includeTasks", false);
    let only_failed = query.flag("onlyFailed", false);
    let restarted = ask(ctx
        .herder
        .restart_connector(&name, include_tasks, only_failed))
    .await?;
    Ok(match restarted {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(status) => (StatusCode::ACCEPTED, Json(status)).into_response(),
    })
}

async fn pause<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    ask(ctx.herder.pause(&name)).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn resume<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    ask(ctx.herder.resume(&name)).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn stop<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    ask(ctx.herder.stop(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// KIP-558: `{"<name>":{"topics":[…]}}` from this worker's view (never forwarded); an unknown
/// connector has no topics.
async fn topics<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    let topics = ask(ctx.herder.connector_active_topics(&name)).await?;
    let mut body = serde_json::Map::new();
    body.insert(name, serde_json::json!({ "topics": topics }));
    Ok(Json(body).into_response())
}

/// 202 with an empty body, for an unknown connector too.
async fn reset_topics<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    ask(ctx.herder.reset_connector_active_topics(&name)).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn offsets<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    Ok(Json(ask(ctx.herder.offsets(&name)).await?).into_response())
}

/// The PATCH body; missing or empty `offsets` is a 400.
#[derive(Deserialize)]
pub(super) struct OffsetsPatch {
    #[serde(default)]
    pub(super) offsets: Option<Vec<ConnectorOffset>>,
}

#[derive(Serialize)]
struct Message {
    message: String,
}

async fn alter_offsets<H: Herder>(
    State(ctx): St<H>,
    PathParams(name): Name,
    JsonBody(body): JsonBody<Option<OffsetsPatch>>,
) -> Reply {
    let offsets = body
        .and_then(|b| b.offsets)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "Partitions / offsets need to be provided for an alter offsets request",
            )
        })?;
    let message = ask(ctx
        .herder
        .alter_offsets(&name, ConnectorOffsets { offsets }))
    .await?;
    Ok(Json(Message { message }).into_response())
}

async fn reset_offsets<H: Herder>(State(ctx): St<H>, PathParams(name): Name) -> Reply {
    let message = ask(ctx.herder.reset_offsets(&name)).await?;
    Ok(Json(Message { message }).into_response())
}

/// The signature headers of an internal request; a value that is not visible ASCII counts as
/// absent.
fn internal_request(headers: &HeaderMap, body: &[u8]) -> InternalRequest {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    InternalRequest {
        algorithm: text(ALGORITHM_HEADER),
        signature: text(SIGNATURE_HEADER),
        body: body.to_vec(),
    }
}

/// Internal (KIP-507): the JSON array of task configs a follower's connector generated; the
/// herder checks the signature over the exact body bytes. 204.
async fn put_task_configs<H: Herder>(
    State(ctx): St<H>,
    PathParams(name): Name,
    headers: HeaderMap,
    JsonWithBytes(raw, bytes): JsonWithBytes<Vec<BTreeMap<String, Value>>>,
) -> Reply {
    let configs = raw
        .into_iter()
        .map(config_from_json)
        .collect::<Result<Vec<_>, _>>()?;
    let request = internal_request(&headers, &bytes);
    ask(ctx.herder.put_task_configs(&name, configs, request)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Internal (KIP-618): fence out zombie tasks of an exactly-once source connector. The body is
/// normally empty; whatever is sent is what the signature covers. 204.
async fn fence_zombies<H: Herder>(
    State(ctx): St<H>,
    PathParams(name): Name,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Reply {
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let request = internal_request(&headers, &body);
    ask(ctx.herder.fence_zombies(&name, request)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
