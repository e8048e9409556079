//! Request extractors whose rejections are JSON [`ApiError`]s, and config-body conversion.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tributary_connector_api::Props;

use super::error::ApiError;

/// A JSON request body. A body in any other content type is a 415, as Kafka Connect's
/// (Jersey's `@Consumes(application/json)`): so a web page cannot post a form or `text/plain`
/// to a worker on `localhost`. An unparsable body is a 400 naming the problem. An empty body
/// reads as JSON `null`, so `JsonBody<Option<T>>` makes it optional.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(&req);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        require_json(json, &bytes)?;
        parse_body(&bytes).map(JsonBody)
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`,
/// parameters such as `charset` allowed).
fn is_json(req: &Request) -> bool {
    let Some(value) = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A non-empty body must be declared JSON.
fn require_json(json: bool, bytes: &[u8]) -> Result<(), ApiError> {
    if json || bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "HTTP 415 Unsupported Media Type",
        ))
    }
}

/// A JSON request body parsed like [`JsonBody`], together with its exact bytes (which a KIP-507
/// signature covers).
pub struct JsonWithBytes<T>(pub T, pub Bytes);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonWithBytes<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = is_json(&req);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        require_json(json, &bytes)?;
        parse_body(&bytes).map(|value| JsonWithBytes(value, bytes))
    }
}

/// A request body as `T`: blank is JSON `null`, unparsable JSON a 400.
pub(super) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_value(Value::Null)
            .map_err(|_| ApiError::bad_request("Request body is required"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request body: {e}")))
}

/// Path parameters; a rejection keeps axum's status but uses the JSON error body.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParams(v))
            .map_err(|e| ApiError::new(e.status(), e.body_text()))
    }
}

/// The query string as ordered pairs, so repeated keys (`expand=…&expand=…`) survive.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| QueryParams(pairs))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

impl QueryParams {
    /// Every value given for `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A Java `Boolean` parameter: `true` in any case is true, any other value false, absent
    /// gives `default`.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }
}

/// A config map from JSON: strings kept, numbers and booleans stored as their text.
pub fn config_from_json(raw: BTreeMap<String, Value>) -> Result<Props, ApiError> {
    raw.into_iter()
        .map(|(key, value)| match config_text(&key, value)? {
            Some(text) => Ok((key, text)),
            None => Err(ApiError::bad_request(format!(
                "Config value for '{key}' must not be null"
            ))),
        })
        .collect()
}

/// A KIP-477 patch from JSON: like [`config_from_json`], and `null` removes the key.
pub fn patch_from_json(
    raw: BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    raw.into_iter()
        .map(|(key, value)| Ok((key.clone(), config_text(&key, value)?)))
        .collect()
}

fn config_text(key: &str, value: Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err(ApiError::bad_request(format!(
            "Config value for '{key}' must be a string, number or boolean"
        ))),
    }
}
