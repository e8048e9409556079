//! Kafka Connect's `BasicAuthSecurityRestExtension` (security-metrics spec §2.4): every
//! request on the main listeners needs `Authorization: Basic …` with a user and password of
//! the credentials file, except the two internal endpoints workers call on each other
//! (`POST /connectors/<c>/tasks`, `PUT /connectors/<c>/fence`, which KIP-507 signatures
//! protect). Installed as a route layer, so unknown paths (404) and wrong methods (405) are
//! answered first, as Jersey's post-matching filter does.
//!
//! A failure is 401 with the body `User cannot access the resource.` and, as in Connect, no
//! `WWW-Authenticate` header. Choice: a header whose base64 cannot be decoded is also 401
//! (Connect answers 500).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::config::rest_server::BasicAuthUsers;

/// The body of every 401.
pub const UNAUTHORIZED: &str = "User cannot access the resource.";

/// The middleware; install with `route_layer(from_fn_with_state(users, basic_auth))`.
pub async fn basic_auth(
    State(users): State<Arc<BasicAuthUsers>>,
    request: Request,
    next: Next,
) -> Response {
    if users.allows_everyone() || is_internal(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match credentials(request.headers()) {
        Some((user, password)) if users.check(&user, &password) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(CONTENT_TYPE, "text/plain")],
            UNAUTHORIZED,
        )
            .into_response(),
    }
}

/// `POST connectors/<c>/tasks` and `PUT connectors/<c>/fence`, with or without the leading
/// and trailing `/`.
fn is_internal(method: &Method, path: &str) -> bool {
    let path = path.trim_start_matches('/');
    let path = path.strip_suffix('/').unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["connectors", name, "tasks"] if !name.is_empty() => method == Method::POST,
        ["connectors", name, "fence"] if !name.is_empty() => method == Method::PUT,
        _ => false,
    }
}

/// The user and password of `Authorization: Basic <base64(user:password)>` (scheme in any
/// case; the password is everything after the first `:`).
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_endpoints_are_known_by_method_and_path() {
        assert!(is_internal(&Method::POST, "/connectors/a/tasks"));
        assert!(is_internal(&Method::POST, "/connectors/a/tasks/"));
        assert!(is_internal(&Method::PUT, "/connectors/a/fence"));
        assert!(!is_internal(&Method::GET, "/connectors/a/tasks"));
        assert!(!is_internal(&Method::POST, "/connectors/a/tasks/0/restart"));
        assert!(!is_internal(&Method::POST, "/connectors//tasks"));
        assert!(!is_internal(&Method::POST, "/connectors"));
        assert!(!is_internal(&Method::PUT, "/connectors/a/config"));
    }

    #[test]
    fn credentials_are_read_as_connect_does() {
        let header = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v.parse().unwrap());
            h
        };
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            credentials(&header(&format!("Basic {}", b64("alice:a:b")))),
            Some(("alice".into(), "a:b".into()))
        );
        assert_eq!(
            credentials(&header(&format!("BASIC {}", b64("u:")))),
            Some(("u".into(), String::new()))
        );
        assert_eq!(
            credentials(&header(&format!("Bearer {}", b64("u:p")))),
            None
        );
        assert_eq!(
            credentials(&header(&format!("Basic {}", b64("nocolon")))),
            None
        );
        assert_eq!(credentials(&header("Basic !!!")), None);
        assert_eq!(credentials(&header("Basic")), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }
}
