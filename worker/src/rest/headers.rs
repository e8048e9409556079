//! What the main listeners add to responses: CORS (`access.control.allow.origin` /
//! `access.control.allow.methods`, with Jetty's `CrossOriginFilter` defaults) and the rules of
//! `response.http.headers.config` (security-metrics spec §2.3).
//!
//! CORS: a matching `Origin` is echoed with `Access-Control-Allow-Credentials: true`; an origin
//! entry `*` allows any origin, and a `*` inside an entry matches any text; allowed request
//! headers are `X-Requested-With, Content-Type, Accept, Origin`; preflights are cached for
//! 1800 s. Choice: a preflight is answered by the filter (Jetty passes it on to the resource,
//! which answers 200 to `OPTIONS` too).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use regex::Regex;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::rest_server::{Cors, HeaderAction, HeaderRule};

/// The CORS layer for `cors`.
pub fn cors_layer(cors: &Cors) -> CorsLayer {
    let patterns: Vec<Regex> = cors
        .origins
        .iter()
        .filter(|o| o.as_str() != "*")
        .filter_map(|o| {
            let pattern = o
                .split('*')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(".*");
            Regex::new(&format!("^{pattern}$")).ok()
        })
        .collect();
    let any = cors.origins.iter().any(|o| o == "*");
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        any || origin
            .to_str()
            .is_ok_and(|o| patterns.iter().any(|p| p.is_match(o)))
    });
    let methods: Vec<Method> = cors
        .methods
        .iter()
        .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods(methods)
        .allow_headers([
            HeaderName::from_static("x-requested-with"),
            HeaderName::from_static("content-type"),
            HeaderName::from_static("accept"),
            HeaderName::from_static("origin"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(1800))
}

/// Applies the `response.http.headers.config` rules to every response.
pub async fn response_headers(
    State(rules): State<Arc<Vec<HeaderRule>>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for rule in rules.iter() {
        let Ok(name) = HeaderName::from_bytes(rule.name.as_bytes()) else {
            continue;
        };
        let value = match rule.action {
            HeaderAction::Set | HeaderAction::Add => HeaderValue::from_str(&rule.value).ok(),
            HeaderAction::SetDate | HeaderAction::AddDate => {
                let millis: i64 = rule.value.parse().unwrap_or(0);
                let now = SystemTime::now();
                let when = if millis >= 0 {
                    now.checked_add(Duration::from_millis(millis.unsigned_abs()))
                } else {
                    now.checked_sub(Duration::from_millis(millis.unsigned_abs()))
                };
                when.and_then(|t| HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok())
            }
        };
        let Some(value) = value else { continue };
        match rule.action {
            HeaderAction::Set | HeaderAction::SetDate => {
                headers.insert(name, value);
            }
            HeaderAction::Add | HeaderAction::AddDate => {
                headers.append(name, value);
            }
        }
    }
    response
}
