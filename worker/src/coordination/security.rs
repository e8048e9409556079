//! How the group member reaches the brokers: TLS (OpenSSL through `native-tls`, the library
//! librdkafka uses too) and SASL credentials, read from the worker's client settings already
//! in librdkafka's names ([`crate::config::client_security`] translates a Java worker's).

use std::fmt;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::error::WorkerConfigError;

/// TLS and SASL settings of the group member's connections.
#[derive(Clone, Default)]
pub struct Security {
    /// Set for `SSL` and `SASL_SSL`.
    pub tls: Option<Arc<tokio_native_tls::TlsConnector>>,
    /// Set for `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: Option<SaslCredentials>,
}

/// The SASL mechanisms the group member speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    /// With a token from an OIDC token endpoint (KIP-768 client credentials).
    OAuthBearer,
}

impl SaslMechanism {
    /// The mechanism's SASL name.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// A SASL mechanism and the credentials it logs in with (for OAUTHBEARER: the OIDC client id
/// and secret, and [`SaslCredentials::oidc`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SaslCredentials {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
    pub oidc: Option<OidcLogin>,
}

/// Where and how an OAUTHBEARER login gets its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    /// `sasl.oauthbearer.token.endpoint.url`.
    pub token_endpoint: String,
    pub scope: Option<String>,
    /// SASL extensions (`extension_<name>` JAAS options).
    pub extensions: Vec<(String, String)>,
}

// Hand-written so that logging a config never prints the password.
impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Security")
            .field("tls", &self.tls.is_some())
            .field("sasl_username", &self.sasl.as_ref().map(|s| &s.username))
            .finish()
    }
}

/// A connection's byte stream, plain or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

fn config_error(key: &str, message: impl Into<String>) -> WorkerConfigError {
    WorkerConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// The PEM blocks of certificates in `text`, each as its own PEM text.
fn pem_certificates(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        out.push(rest[start..end].to_owned());
        rest = &rest[end..];
    }
    out
}

fn read(key: &str, path: &str) -> Result<Vec<u8>, WorkerConfigError> {
    std::fs::read(path).map_err(|e| config_error(key, format!("cannot read {path}: {e}")))
}

fn read_text(key: &str, path: &str) -> Result<String, WorkerConfigError> {
    String::from_utf8(read(key, path)?)
        .map_err(|_| config_error(key, format!("{path} is not a PEM text file")))
}

impl Security {
    /// From the worker's client settings (librdkafka's names).
    pub fn from_settings(settings: &[(String, String)]) -> Result<Security, WorkerConfigError> {
        let get = |k: &str| {
            settings
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        const PROTOCOL: &str = "security.protocol";
        let protocol = get(PROTOCOL).unwrap_or("plaintext").to_ascii_lowercase();
        let (tls, sasl) = match protocol.as_str() {
            "plaintext" => (false, false),
            "ssl" => (true, false),
            "sasl_plaintext" => (false, true),
            "sasl_ssl" => (true, true),
            other => {
                return Err(config_error(
                    PROTOCOL,
                    format!(
                        "unknown security protocol {other}; expected PLAINTEXT, SSL, \
                         SASL_PLAINTEXT or SASL_SSL"
                    ),
                ))
            }
        };
        let sasl = if sasl {
            const MECHANISM: &str = "sasl.mechanism";
            let mechanism = match get("sasl.mechanisms") {
                Some("PLAIN") => SaslMechanism::Plain,
                Some("SCRAM-SHA-256") => SaslMechanism::ScramSha256,
                Some("SCRAM-SHA-512") => SaslMechanism::ScramSha512,
                Some("OAUTHBEARER") => SaslMechanism::OAuthBearer,
                Some(other) => {
                    return Err(config_error(
                        MECHANISM,
                        format!(
                            "SASL mechanism {other} is not supported by the group member; \
                             PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (OIDC) are"
                        ),
                    ))
                }
                None => {
                    return Err(config_error(
                        MECHANISM,
                        "not set, so the Java default GSSAPI applies, which the group member \
                         does not support; set sasl.mechanism to PLAIN, SCRAM-SHA-256 or \
                         SCRAM-SHA-512",
                    ))
                }
            };
            if mechanism == SaslMechanism::OAuthBearer {
                return Ok(Security {
                    tls: if tls {
                        Some(Arc::new(tls_connector(&get)?))
                    } else {
                        None
                    },
                    sasl: Some(oidc_credentials(&get)?),
                });
            }
            let username = get("sasl.username").ok_or_else(|| {
                config_error(
                    "sasl.jaas.config",
                    "SASL needs credentials: set sasl.jaas.config (or sasl.username and \
                     sasl.password)",
                )
            })?;
            let password = settings
                .iter()
                .rev()
                .find(|(k, _)| k == "sasl.password")
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    config_error("sasl.password", "required when sasl.username is set")
                })?;
            Some(SaslCredentials {
                mechanism,
                username: username.to_owned(),
                password,
                oidc: None,
            })
        } else {
            None
        };
        let tls = if tls {
            Some(Arc::new(tls_connector(&get)?))
        } else {
            None
        };
        Ok(Security { tls, sasl })
    }

    /// Opens TLS over `tcp` when configured; `host` is the name the certificate must carry.
    pub async fn wrap(&self, host: &str, tcp: TcpStream) -> std::io::Result<Box<dyn Stream>> {
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(connector) => {
                let stream = connector
                    .connect(host, tcp)
                    .await
                    .map_err(|e| std::io::Error::other(format!("TLS handshake failed: {e}")))?;
                Ok(Box::new(stream))
            }
        }
    }
}

/// The OIDC client-credentials login of OAUTHBEARER, from the translated settings (see
/// [`crate::config::client_security`]).
fn oidc_credentials<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<SaslCredentials, WorkerConfigError> {
    if get("sasl.oauthbearer.method") != Some("oidc") {
        return Err(config_error(
            "sasl.login.callback.handler.class",
            "the group member logs in with OAUTHBEARER only through an OIDC token endpoint: \
             set it to org.apache.kafka.common.security.oauthbearer.\
             OAuthBearerLoginCallbackHandler with sasl.oauthbearer.token.endpoint.url",
        ));
    }
    let required = |key: &str, java: &str| {
        get(key)
            .map(str::to_owned)
            .ok_or_else(|| config_error(java, format!("required for an OIDC login ({key})")))
    };
    let extensions = get("sasl.oauthbearer.extensions")
        .map(|list| {
            list.split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    Ok(SaslCredentials {
        mechanism: SaslMechanism::OAuthBearer,
        username: required("sasl.oauthbearer.client.id", "sasl.jaas.config")?,
        password: required("sasl.oauthbearer.client.secret", "sasl.jaas.config")?,
        oidc: Some(OidcLogin {
            token_endpoint: required(
                "sasl.oauthbearer.token.endpoint.url",
                "sasl.oauthbearer.token.endpoint.url",
            )?,
            scope: get("sasl.oauthbearer.scope").map(str::to_owned),
            extensions,
        }),
    })
}

/// The TLS connector: trusted CAs (the system's when none is configured), the client
/// identity for mutual TLS, and hostname checking.
fn tls_connector<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<tokio_native_tls::TlsConnector, WorkerConfigError> {
    let mut builder = native_tls::TlsConnector::builder();
    let mut cas = Vec::new();
    if let Some(path) = get("ssl.ca.location") {
        let key = "ssl.truststore.location";
        let text = read_text(key, path)?;
        cas.extend(pem_certificates(&text).into_iter().map(|c| (key, c)));
    }
    if let Some(pem) = get("ssl.ca.pem") {
        cas.extend(
            pem_certificates(pem)
                .into_iter()
                .map(|c| ("ssl.truststore.certificates", c)),
        );
    }
    for (key, pem) in cas {
        let cert = native_tls::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| config_error(key, format!("not a PEM certificate: {e}")))?;
        builder.add_root_certificate(cert);
    }
    let identity = match (
        get("ssl.keystore.location"),
        get("ssl.certificate.location"),
        get("ssl.certificate.pem"),
    ) {
        (Some(path), _, _) => {
            let key = "ssl.keystore.location";
            let der = read(key, path)?;
            let password = get("ssl.keystore.password").unwrap_or("");
            Some(
                native_tls::Identity::from_pkcs12(&der, password).map_err(|e| {
                    config_error(key, format!("cannot open the PKCS12 key store: {e}"))
                })?,
            )
        }
        (None, Some(path), _) => {
            let key = "ssl.keystore.location";
            let chain = read(key, path)?;
            let private = match get("ssl.key.location") {
                Some(p) => read(key, p)?,
                None => chain.clone(),
            };
            Some(pkcs8_identity(key, &chain, &private)?)
        }
        (None, None, Some(chain)) => {
            let key = "ssl.keystore.key";
            let private = get("ssl.key.pem")
                .ok_or_else(|| config_error(key, "required with ssl.keystore.certificate.chain"))?;
            Some(pkcs8_identity(key, chain.as_bytes(), private.as_bytes())?)
        }
        (None, None, None) => None,
    };
    if let Some(identity) = identity {
        builder.identity(identity);
    }
    if get("ssl.endpoint.identification.algorithm") == Some("none") {
        builder.danger_accept_invalid_hostnames(true);
    }
    let connector = builder
        .build()
        .map_err(|e| config_error("security.protocol", format!("cannot set up TLS: {e}")))?;
    Ok(tokio_native_tls::TlsConnector::from(connector))
}

fn pkcs8_identity(
    key: &str,
    chain: &[u8],
    private: &[u8],
) -> Result<native_tls::Identity, WorkerConfigError> {
    native_tls::Identity::from_pkcs8(chain, private).map_err(|e| {
        config_error(
            key,
            format!(
                "cannot read the certificate chain and PKCS#8 private key (an encrypted key is \
                 not supported for the group member): {e}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn error_key(pairs: &[(&str, &str)]) -> (String, String) {
        match Security::from_settings(&settings(pairs)) {
            Ok(s) => panic!("expected an error, got {s:?}"),
            Err(e) => (e.key, e.message),
        }
    }

    #[test]
    fn plaintext_by_default_sasl_plain_and_tls_when_asked() {
        let s = Security::from_settings(&[]).unwrap();
        assert!(s.tls.is_none() && s.sasl.is_none());
        let s = Security::from_settings(&settings(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", "pw"),
        ]))
        .unwrap();
        assert!(s.tls.is_none());
        let sasl = s.sasl.clone().unwrap();
        assert_eq!(
            (sasl.username.as_str(), sasl.password.as_str()),
            ("alice", "pw")
        );
        assert!(!format!("{s:?}").contains("pw"), "{s:?}");
        let s = Security::from_settings(&settings(&[("security.protocol", "ssl")])).unwrap();
        assert!(s.tls.is_some() && s.sasl.is_none());
    }

    #[test]
    fn errors_name_the_key() {
        let (key, _) = error_key(&[("security.protocol", "carrier_pigeon")]);
        assert_eq!(key, "security.protocol");
        let (key, message) = error_key(&[("security.protocol", "sasl_ssl")]);
        assert_eq!(key, "sasl.mechanism");
        assert!(message.contains("GSSAPI"), "{message}");
        let (key, message) = error_key(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "GSSAPI"),
        ]);
        assert_eq!(key, "sasl.mechanism");
        assert!(message.contains("GSSAPI"), "{message}");
        // OAUTHBEARER needs the OIDC login (the unsecured JWT one is for tests of Kafka).
        let (key, _) = error_key(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
        ]);
        assert_eq!(key, "sasl.login.callback.handler.class");
        let java = [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
            (
                "sasl.login.callback.handler.class",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
            ),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
                 clientId=\"c\" clientSecret=\"s\" scope=\"kafka\" extension_a=\"b\";",
            ),
        ];
        let translated =
            crate::config::client_security::to_librdkafka(&settings(&java), "").unwrap();
        let s = Security::from_settings(&translated).unwrap();
        let sasl = s.sasl.unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::OAuthBearer);
        assert_eq!((sasl.username.as_str(), sasl.password.as_str()), ("c", "s"));
        let oidc = sasl.oidc.unwrap();
        assert_eq!(oidc.token_endpoint, "https://idp/token");
        assert_eq!(oidc.scope.as_deref(), Some("kafka"));
        assert_eq!(oidc.extensions, [("a".to_owned(), "b".to_owned())]);
        let s = Security::from_settings(&settings(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", "pw"),
        ]))
        .unwrap();
        assert_eq!(s.sasl.unwrap().mechanism, SaslMechanism::ScramSha512);
        let (key, _) = error_key(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "PLAIN"),
        ]);
        assert_eq!(key, "sasl.jaas.config");
        let (key, _) = error_key(&[
            ("security.protocol", "ssl"),
            ("ssl.ca.location", "/nonexistent/ca.pem"),
        ]);
        assert_eq!(key, "ssl.truststore.location");
    }

    #[test]
    fn pem_bundles_split_into_certificates() {
        let one = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----";
        let text = format!("comment\n{one}\n{one}\ntrailing");
        assert_eq!(
            pem_certificates(&text),
            vec![one.to_owned(), one.to_owned()]
        );
        assert!(pem_certificates("no certificates").is_empty());
    }
}
