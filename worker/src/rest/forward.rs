//! Forwarding of requests that another worker must serve (connect-compat §1.1).
//!
//! A herder answers [`HerderError::Forward`](crate::rest::api::HerderError::Forward) when a
//! request belongs to the leader (or to the worker owning a connector or task). [`ApiError`]
//! turns that into a 409 whose response carries a [`ForwardTo`] extension; [`middleware`],
//! layered on the whole router, buffers every request body, runs the handler and, when it sees
//! the marker, applies Connect's rules:
//!
//! * the client's request (no `forward` parameter) goes out with `forward=true`;
//! * a request that arrived with `forward=true` goes out with `forward=false`;
//! * a request that arrived with `forward=false` is not sent again: 409 [`CONFLICTING_OPERATION`]
//!   (at most two worker-to-worker hops);
//! * with no known leader (`Forward(None)`) the answer is 409 [`NO_KNOWN_LEADER`].
//!
//! The forwarded request has the same method, path and body bytes, every query parameter but
//! `forward` (which comes first, as Connect's `UriBuilder` puts it), `Authorization` as the only
//! copied header, and `Content-Type: application/json` when it has a body. The remote status,
//! body, `Content-Type` and `Location` are relayed as they are. A remote answer that is neither
//! 2xx nor an error status (1xx, 3xx; redirects are not followed) is 500, as in Connect's
//! `RestClient`; so is a failure to reach the target or a timeout ([`REQUEST_TIMEOUT`]), with a
//! message naming the URL.

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{ApiError, REQUEST_TIMEOUT};

/// 409 when the herder knows no leader to forward to (a rebalance is under way).
pub const NO_KNOWN_LEADER: &str = "Cannot complete request momentarily due to no known leader \
                                   URL, likely because a rebalance was underway.";
/// 409 when a request that was already forwarded twice would need a third hop.
pub const CONFLICTING_OPERATION: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";
/// The largest request body the middleware buffers (413 beyond, before anything is read when
/// `Content-Length` says so). Handlers keep their own (smaller) limit.
pub const MAX_BODY_BYTES: usize = 32 << 20;
/// How long a request body may take to arrive by default (408 after).
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Response extension set by [`ApiError::forward`]: the worker that must serve the request
/// (`None`: no leader known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTo(pub Option<String>);

/// State of [`middleware`]: the HTTP client for worker-to-worker requests (one per router).
#[derive(Debug, Clone)]
pub struct Forwarder {
    client: reqwest::Client,
    /// How long a request body may take to arrive (408 after).
    body_timeout: std::time::Duration,
}

impl Default for Forwarder {
    fn default() -> Self {
        Forwarder::new()
    }
}

impl Forwarder {
    /// A plain-HTTP client that follows no redirects and ignores proxy environment variables
    /// (workers talk to each other directly, as Connect's Jetty client does).
    pub fn new() -> Forwarder {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_default();
        Forwarder {
            client,
            body_timeout: BODY_TIMEOUT,
        }
    }

    /// A forwarder using `client` (see [`crate::rest::tls::client`]) that waits at most
    /// `body_timeout` for a request body.
    pub fn with_client(client: reqwest::Client, body_timeout: std::time::Duration) -> Forwarder {
        Forwarder {
            client,
            body_timeout,
        }
    }
}

/// What the middleware keeps of the original request.
struct Original {
    method: Method,
    uri: Uri,
    authorization: Vec<HeaderValue>,
    body: Bytes,
}

/// The forwarding middleware (see the module doc); install it with
/// `axum::middleware::from_fn_with_state(Forwarder::new(), middleware)`.
pub async fn middleware(
    State(forwarder): State<Forwarder>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large().into_response();
    }
    let body = match tokio::time::timeout(forwarder.body_timeout, buffer(body)).await {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => return e.into_response(),
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "The request body did not arrive within {} ms",
                    forwarder.body_timeout.as_millis()
                ),
            )
            .into_response()
        }
    };
    let original = Original {
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        authorization: parts
            .headers
            .get_all(AUTHORIZATION)
            .iter()
            .cloned()
            .collect(),
        body: body.clone(),
    };
    let mut response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let Some(ForwardTo(target)) = response.extensions_mut().remove::<ForwardTo>() else {
        return response;
    };
    let (forward, others) = split_query(&original.uri);
    if forward == Some(false) {
        tracing::error!(
            "Request '{} {}' failed because it couldn't find the target Connect worker within \
             two hops (between workers)",
            original.method,
            original.uri.path()
        );
        return ApiError::new(StatusCode::CONFLICT, CONFLICTING_OPERATION).into_response();
    }
    match target {
        // Keeps the 409 "no known leader" answer.
        None => response,
        Some(base) => forwarder
            .send(&base, forward.is_none(), &others, original)
            .await
            .unwrap_or_else(IntoResponse::into_response),
    }
}

/// Reads the whole body, at most [`MAX_BODY_BYTES`].
async fn buffer(body: Body) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Failed to read the request body: {e}")))?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

/// The `forward` flag (absent, or Java `Boolean.valueOf`: `true` in any case, else false) and
/// every other query parameter, in order. An unparsable query string counts as empty.
fn split_query(uri: &Uri) -> (Option<bool>, Vec<(String, String)>) {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(pairs)| pairs)
        .unwrap_or_default();
    let forward = pairs
        .iter()
        .find(|(k, _)| k == "forward")
        .map(|(_, v)| v.eq_ignore_ascii_case("true"));
    let others = pairs.into_iter().filter(|(k, _)| k != "forward").collect();
    (forward, others)
}

/// `base` (e.g. `http://10.0.0.2:8083/`) joined with an absolute `path`.
fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

impl Forwarder {
    /// Sends `original` to `base` with `forward=<recursive>` and relays the answer.
    async fn send(
        &self,
        base: &str,
        recursive: bool,
        query: &[(String, String)],
        original: Original,
    ) -> Result<Response, ApiError> {
        let url = join(base, original.uri.path());
        tracing::debug!(
            "Forwarding request {} {url} (forward={recursive})",
            original.method
        );
        let failed = |e: &dyn std::error::Error| {
            tracing::error!("IO error forwarding REST request to {url}: {}", chain(e));
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "IO Error trying to forward REST request to {url}: {}",
                    chain(e)
                ),
            )
        };
        let mut request = self
            .client
            .request(original.method, &url)
            .query(&[("forward", recursive.to_string())])
            .query(query)
            .timeout(REQUEST_TIMEOUT);
        for value in original.authorization {
            request = request.header(AUTHORIZATION, value);
        }
        if !original.body.is_empty() {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(original.body);
        }
        let remote = request.send().await.map_err(|e| failed(&e))?;
        let status = remote.status();
        let content_type = remote.headers().get(CONTENT_TYPE).cloned();
        let location = remote.headers().get(LOCATION).cloned();
        let body = remote.bytes().await.map_err(|e| failed(&e))?;
        if !(status.is_success() || status.is_client_error() || status.is_server_error()) {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "Unexpected status code when handling forwarded request: {}",
                    status.as_u16()
                ),
            ));
        }
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if let Some(value) = content_type {
            headers.insert(CONTENT_TYPE, value);
        }
        if let Some(value) = location {
            headers.insert(LOCATION, value);
        }
        Ok(response)
    }
}

/// An error and its causes, `: `-separated (reqwest's own message hides "connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_splits() {
        assert_eq!(
            join("http://h:8083/", "/connectors/a"),
            "http://h:8083/connectors/a"
        );
        assert_eq!(
            join("http://h:8083", "/connectors/a"),
            "http://h:8083/connectors/a"
        );
        let uri: Uri = "/c/a/restart?includeTasks=true&forward=TRUE&x=a%20b"
            .parse()
            .unwrap();
        assert_eq!(
            split_query(&uri),
            (
                Some(true),
                vec![
                    ("includeTasks".into(), "true".into()),
                    ("x".into(), "a b".into())
                ]
            )
        );
        let uri: Uri = "/c?forward=no".parse().unwrap();
        assert_eq!(split_query(&uri), (Some(false), vec![]));
        let uri: Uri = "/c".parse().unwrap();
        assert_eq!(split_query(&uri), (None, vec![]));
    }
}
