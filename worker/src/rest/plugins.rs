//! `/connector-plugins/…`: installed plugins, their config keys, and config validation.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::Value;

use super::extract::{config_from_json, JsonBody, PathParams, QueryParams};
use super::{ask, timed, ApiError, Ctx};
use crate::rest::api::Herder;

type St<H> = State<Ctx<H>>;
type Reply = Result<Response, ApiError>;

pub(super) fn routes<H: Herder>() -> Router<Ctx<H>> {
    Router::new()
        .route("/connector-plugins", get(list::<H>))
        .route("/connector-plugins/", get(list::<H>))
        .route("/connector-plugins/{plugin}/config", get(config::<H>))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(validate::<H>),
        )
}

/// `connectorsOnly` defaults to true.
async fn list<H: Herder>(State(ctx): St<H>, query: QueryParams) -> Reply {
    let connectors_only = query.flag("connectorsOnly", true);
    Ok(Json(timed(ctx.herder.plugins(connectors_only)).await?).into_response())
}

async fn config<H: Herder>(State(ctx): St<H>, PathParams(plugin): PathParams<String>) -> Reply {
    Ok(Json(ask(ctx.herder.plugin_config(&plugin)).await?).into_response())
}

/// 400 unless `connector.class` is present and names the plugin of the path.
async fn validate<H: Herder>(
    State(ctx): St<H>,
    PathParams(plugin): PathParams<String>,
    JsonBody(raw): JsonBody<BTreeMap<String, Value>>,
) -> Reply {
    let config = config_from_json(raw)?;
    let class = config
        .get(crate::config::connector::CONNECTOR_CLASS)
        .ok_or_else(|| ApiError::bad_request("Connector config must contain 'connector.class'"))?;
    if !names_plugin(class, &plugin) {
        return Err(ApiError::bad_request(format!(
            "Included connector type {class} does not match request type {plugin}"
        )));
    }
    Ok(Json(ask(ctx.herder.validate(config)).await?).into_response())
}

/// Whether `class` (full or simple name, or alias) is the plugin named `plugin`: with a trailing
/// `Connector` stripped from both, `class` ends with `plugin`.
fn names_plugin(class: &str, plugin: &str) -> bool {
    let normalize = |s: &str| s.strip_suffix("Connector").unwrap_or(s).to_owned();
    normalize(class).ends_with(&normalize(plugin))
}

#[cfg(test)]
mod tests {
    use super::names_plugin;

    #[test]
    fn plugin_names_match_like_connect() {
        let class = "org.apache.kafka.connect.file.FileStreamSinkConnector";
        assert!(names_plugin(class, "FileStreamSinkConnector"));
        assert!(names_plugin(class, "FileStreamSink"));
        assert!(names_plugin(class, class));
        assert!(names_plugin("FileStreamSink", "FileStreamSinkConnector"));
        assert!(!names_plugin(class, "FileStreamSource"));
        assert!(!names_plugin(
            "FileStreamSink",
            "org.apache.kafka.connect.file.FileStreamSink"
        ));
    }
}
