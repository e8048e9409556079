//! OAUTHBEARER (RFC 7628) for the group member's SASL login, with a token from an OIDC token
//! endpoint by the client-credentials grant, as Kafka's `OAuthBearerLoginCallbackHandler`
//! gets it (KIP-768): the client id and secret as HTTP basic authentication, the scope in the
//! form. The SASL message itself is made by the rsasl crate.

use std::sync::Arc;

use rsasl::callback::{Context, Request, SessionCallback, SessionData};
use rsasl::prelude::{Mechname, SASLClient, SASLConfig, SessionError};
use rsasl::property::{OAuthBearerKV, OAuthBearerToken};

use super::security::{OidcLogin, SaslCredentials};

/// How long the token endpoint may take.
const TOKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Asks the token endpoint of `credentials` for an access token.
pub async fn fetch_token(credentials: &SaslCredentials) -> Result<String, String> {
    let Some(login) = &credentials.oidc else {
        return Err("no token endpoint configured".into());
    };
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &login.scope {
        form.push(("scope", scope.as_str()));
    }
    let response = reqwest::Client::new()
        .post(&login.token_endpoint)
        .timeout(TOKEN_TIMEOUT)
        .basic_auth(&credentials.username, Some(&credentials.password))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("token endpoint {}: {e}", login.token_endpoint))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "token endpoint {} answered {status}",
            login.token_endpoint
        ));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("token endpoint {}: not JSON: {e}", login.token_endpoint))?;
    body.get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "token endpoint {} sent no access_token",
                login.token_endpoint
            )
        })
}

/// Gives rsasl the token and the extensions.
struct TokenCallback {
    token: String,
    extensions: Vec<(String, String)>,
}

impl SessionCallback for TokenCallback {
    fn callback(
        &self,
        _session: &SessionData,
        _context: &Context,
        request: &mut Request<'_>,
    ) -> Result<(), SessionError> {
        let pairs: Vec<(&str, &str)> = self
            .extensions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request
            .satisfy::<OAuthBearerToken>(&self.token)?
            .satisfy::<OAuthBearerKV>(&pairs)?;
        Ok(())
    }
}

/// The client's initial response carrying `token` (and `login`'s extensions).
pub fn initial_response(token: &str, login: &OidcLogin) -> Result<Vec<u8>, String> {
    let config: Arc<SASLConfig> = SASLConfig::builder()
        .with_default_mechanisms()
        .with_callback(TokenCallback {
            token: token.to_owned(),
            extensions: login.extensions.clone(),
        })
        .map_err(|e| e.to_string())?;
    let name = Mechname::parse(b"OAUTHBEARER").map_err(|e| e.to_string())?;
    let mut session = SASLClient::new(config)
        .start_suggested(&[name])
        .map_err(|e| format!("OAUTHBEARER is not available: {e}"))?;
    let mut out = Vec::new();
    session.step(None, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}
