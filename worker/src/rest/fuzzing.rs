//! Entry points for the fuzz targets in `fuzz/` (not an API: hidden from the docs, may change).
//!
//! Each function runs a request body through the same steps its handler takes before asking
//! the herder: `extract::parse_body` (a blank body is `null`, bad JSON a 400) and the
//! config-body conversion.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tributary_connector_api::Props;

use super::connectors::{create_request, named_config, OffsetsPatch};
use super::extract::{config_from_json, parse_body, patch_from_json};
use super::ApiError;
use crate::model::{ConnectorOffset, TargetState};

/// Any body as `T`, as the `JsonBody<T>` extractor parses it.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_body(bytes)
}

/// `POST /connectors`: the name, the config (with `name`) and the initial state.
pub fn create_connector(bytes: &[u8]) -> Result<(String, Props, Option<TargetState>), ApiError> {
    create_request(parse_body(bytes)?)
}

/// `PUT /connectors/<name>/config`.
pub fn put_connector_config(name: &str, bytes: &[u8]) -> Result<Props, ApiError> {
    named_config(name, config_from_json(parse_body(bytes)?)?)
}

/// `PATCH /connectors/<name>/config`.
pub fn patch_connector_config(bytes: &[u8]) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    patch_from_json(parse_body(bytes)?)
}

/// `PUT /connector-plugins/<plugin>/config/validate`.
pub fn validate_config(bytes: &[u8]) -> Result<Props, ApiError> {
    config_from_json(parse_body(bytes)?)
}

/// `PATCH /connectors/<name>/offsets` (before the "need offsets" check).
pub fn alter_offsets(bytes: &[u8]) -> Result<Option<Vec<ConnectorOffset>>, ApiError> {
    let patch: Option<OffsetsPatch> = parse_body(bytes)?;
    Ok(patch.and_then(|p| p.offsets))
}

/// `POST /connectors/<name>/tasks` (internal): the task configs.
pub fn task_configs(bytes: &[u8]) -> Result<Vec<Props>, ApiError> {
    let raw: Vec<BTreeMap<String, Value>> = parse_body(bytes)?;
    raw.into_iter().map(config_from_json).collect()
}
