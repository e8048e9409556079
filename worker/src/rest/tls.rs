//! TLS for the REST server and for requests between workers, from the settings of
//! [`TlsSettings`] (PKCS12 or PEM stores; JKS is refused when the config is read).
//!
//! The server uses OpenSSL (already linked for librdkafka) so that `ssl.client.auth` can ask
//! for client certificates; the inter-worker client is reqwest's native TLS (OpenSSL too). A
//! store that cannot be opened is an error naming its key; passwords are never quoted.

use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

use crate::config::client_security::{open_pkcs12, pkcs12_certificates, StoreKind};
use crate::config::rest_server::{ClientAuth, Store, TlsSettings};

/// A store or TLS setting that cannot be used; names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid REST TLS setting {key}: {message}")]
pub struct TlsError {
    pub key: String,
    pub message: String,
}

fn error(key: &str, message: impl std::fmt::Display) -> TlsError {
    TlsError {
        key: key.to_owned(),
        message: message.to_string(),
    }
}

/// A private key, its certificate and the rest of its chain.
struct Identity {
    key: PKey<Private>,
    cert: X509,
    chain: Vec<X509>,
}

fn read(store: &Store) -> Result<Vec<u8>, TlsError> {
    std::fs::read(&store.location).map_err(|e| {
        error(
            &store.key,
            format!("cannot read {}: {e}", store.location.display()),
        )
    })
}

fn password(store: &Store) -> &str {
    store.password.as_ref().map(|p| p.0.as_str()).unwrap_or("")
}

/// The identity in a key store: a PKCS12 file, or a PEM file holding the private key (in
/// PKCS8 or traditional form, encrypted with `ssl.key.password` if at all) and the chain.
fn identity(settings: &TlsSettings, store: &Store) -> Result<Identity, TlsError> {
    match store.kind {
        StoreKind::Pkcs12 => {
            let parsed = open_pkcs12(&store.location, Some(password(store)), "key store")
                .map_err(|m| error(&store.key, m))?;
            let (Some(key), Some(cert)) = (parsed.pkey, parsed.cert) else {
                return Err(error(
                    &store.key,
                    "the key store holds no private key with its certificate",
                ));
            };
            let chain = parsed
                .ca
                .map(|stack| stack.into_iter().collect())
                .unwrap_or_default();
            Ok(Identity { key, cert, chain })
        }
        StoreKind::Pem => {
            let bytes = read(store)?;
            let key_password = settings
                .key_password
                .as_ref()
                .or(store.password.as_ref())
                .map(|p| p.0.as_bytes());
            let key = match key_password {
                Some(p) => PKey::private_key_from_pem_passphrase(&bytes, p),
                None => PKey::private_key_from_pem(&bytes),
            }
            .map_err(|_| {
                error(
                    &store.key,
                    "the PEM key store holds no private key readable with ssl.key.password",
                )
            })?;
            let mut certs = X509::stack_from_pem(&bytes)
                .map_err(|e| error(&store.key, format!("bad certificate: {e}")))?
                .into_iter();
            let cert = certs
                .next()
                .ok_or_else(|| error(&store.key, "the PEM key store holds no certificate"))?;
            Ok(Identity {
                key,
                cert,
                chain: certs.collect(),
            })
        }
        StoreKind::Jks => Err(error(&store.key, "JKS stores cannot be read")),
    }
}

/// The certificates of a trust store: every certificate of a PEM file, or every certificate
/// of a PKCS12 file.
fn trusted(store: &Store) -> Result<Vec<X509>, TlsError> {
    let certs = match store.kind {
        StoreKind::Pem => X509::stack_from_pem(&read(store)?)
            .map_err(|e| error(&store.key, format!("bad certificate: {e}")))?,
        StoreKind::Pkcs12 => pkcs12_certificates(
            open_pkcs12(&store.location, Some(password(store)), "trust store")
                .map_err(|m| error(&store.key, m))?,
        ),
        StoreKind::Jks => return Err(error(&store.key, "JKS stores cannot be read")),
    };
    if certs.is_empty() {
        return Err(error(&store.key, "the trust store holds no certificate"));
    }
    Ok(certs)
}

/// The TLS side of an `https` listener.
pub fn acceptor(settings: &TlsSettings) -> Result<SslAcceptor, TlsError> {
    let keystore_key = format!("{}ssl.keystore.location", settings.prefix);
    let store = settings
        .keystore
        .as_ref()
        .ok_or_else(|| error(&keystore_key, "an https listener needs a key store"))?;
    let id = identity(settings, store)?;
    let tls = |e: openssl::error::ErrorStack| error(&store.key, e);
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(tls)?;
    builder.set_private_key(&id.key).map_err(tls)?;
    builder.set_certificate(&id.cert).map_err(tls)?;
    for cert in id.chain {
        builder.add_extra_chain_cert(cert).map_err(tls)?;
    }
    builder
        .check_private_key()
        .map_err(|_| error(&store.key, "the private key does not match the certificate"))?;
    let offers = |v: &str| settings.enabled_protocols.iter().any(|p| p == v);
    let lowest = Some(if offers("TLSv1.2") {
        SslVersion::TLS1_2
    } else {
        SslVersion::TLS1_3
    });
    let highest = Some(if offers("TLSv1.3") {
        SslVersion::TLS1_3
    } else {
        SslVersion::TLS1_2
    });
    builder.set_min_proto_version(lowest).map_err(tls)?;
    builder.set_max_proto_version(highest).map_err(tls)?;
    if let Some(trust) = &settings.truststore {
        let mut certs = X509StoreBuilder::new().map_err(tls)?;
        for cert in trusted(trust)? {
            certs
                .add_cert(cert)
                .map_err(|e| error(&trust.key, format!("bad certificate: {e}")))?;
        }
        builder.set_verify_cert_store(certs.build()).map_err(tls)?;
    } else if settings.client_auth != ClientAuth::None {
        // With no trust store, client certificates are checked against the system's roots.
        builder.set_default_verify_paths().map_err(tls)?;
    }
    match settings.client_auth {
        ClientAuth::None => builder.set_verify(SslVerifyMode::NONE),
        ClientAuth::Requested => builder.set_verify(SslVerifyMode::PEER),
        ClientAuth::Required => {
            builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT)
        }
    }
    Ok(builder.build())
}

/// The client for requests to other workers (forwarding, task configs to the leader): it
/// trusts the trust store of `settings` (else the system's roots), presents its key store
/// (so `ssl.client.auth=required` works between workers, as in Connect), checks host names
/// unless `ssl.endpoint.identification.algorithm` is empty, follows no redirects and ignores
/// proxy variables.
pub fn client(settings: &TlsSettings) -> Result<reqwest::ClientBuilder, TlsError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .danger_accept_invalid_hostnames(!settings.verify_hostname);
    if let Some(trust) = &settings.truststore {
        for cert in trusted(trust)? {
            let pem = cert.to_pem().map_err(|e| error(&trust.key, e))?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| error(&trust.key, e))?;
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(store) = &settings.keystore {
        let id = identity(settings, store)?;
        let tls = |e: openssl::error::ErrorStack| error(&store.key, e);
        let mut chain = id.cert.to_pem().map_err(tls)?;
        for cert in &id.chain {
            chain.extend(cert.to_pem().map_err(tls)?);
        }
        let key = id.key.private_key_to_pem_pkcs8().map_err(tls)?;
        let identity =
            reqwest::Identity::from_pkcs8_pem(&chain, &key).map_err(|e| error(&store.key, e))?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}
