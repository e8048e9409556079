//! A Java Kafka client's security settings, as a Java worker's properties carry them, in
//! librdkafka's names (security-metrics spec §1.3–§1.6): `security.protocol`,
//! `sasl.mechanism`, `sasl.jaas.config` (parsed as Kafka's `JaasConfig` does), the
//! `ssl.truststore.*` / `ssl.keystore.*` stores of type PEM and PKCS12, and the Java-only
//! settings librdkafka has no use for. Settings that are already librdkafka's pass unchanged,
//! so a worker written for either works.
//!
//! Errors name the key and never quote a value: most of these are secrets.

use std::collections::BTreeMap;

use super::client_names::{self, Translated};
use super::jaas;

/// A client security setting that cannot be used; names the key (with the caller's prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for {key}: {message}")]
pub struct ClientConfigError {
    pub key: String,
    pub message: String,
}

fn error(key: &str, message: impl Into<String>) -> ClientConfigError {
    ClientConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Whether a config key holds a secret by its name, prefixed or not (`producer.override.`,
/// `consumer.`…): passwords, JAAS configs, client secrets, private keys. Such values are never
/// logged nor shown; PASSWORD-typed keys of a `ConfigDef` are hidden too, by their type.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("password")
        || key.ends_with("secret")
        || key.ends_with("sasl.jaas.config")
        || key.ends_with("ssl.keystore.key")
        || key.ends_with("ssl.key.pem")
        || key.ends_with("sasl.oauthbearer.config")
}

/// Java settings with no librdkafka counterpart that change nothing here (Java SPI classes,
/// login refresh timings, the JVM's TLS protocol choice).
const IGNORED: &[&str] = &[
    // The REST server's, not a client's.
    "ssl.client.auth",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.provider",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "ssl.truststore.password",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.header.urlencode",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
];

/// The login callback handlers of Kafka's OIDC client-credentials login (KIP-768).
const OIDC_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
];

const MECHANISMS: &[&str] = &[
    "PLAIN",
    "SCRAM-SHA-256",
    "SCRAM-SHA-512",
    "OAUTHBEARER",
    "GSSAPI",
];

/// The kind of a key or trust store file, from its first bytes (Java's `JKS` type also opens
/// PKCS12 files, so the declared type is not trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Pem,
    Jks,
    Pkcs12,
}

pub(crate) fn sniff(path: &str) -> Option<StoreKind> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let head = &head[..n];
    if head.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) {
        Some(StoreKind::Jks)
    } else if head.first() == Some(&0x30) {
        Some(StoreKind::Pkcs12)
    } else if head.windows(10).any(|w| w == b"-----BEGIN") {
        Some(StoreKind::Pem)
    } else {
        None
    }
}

fn declared_kind(
    key: &str,
    value: Option<&String>,
) -> Result<Option<StoreKind>, ClientConfigError> {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        None | Some("") => Ok(None),
        Some("PEM") => Ok(Some(StoreKind::Pem)),
        Some("JKS") => Ok(Some(StoreKind::Jks)),
        Some("PKCS12") => Ok(Some(StoreKind::Pkcs12)),
        Some(other) => Err(error(
            key,
            format!("unknown store type {other}; expected JKS, PKCS12 or PEM"),
        )),
    }
}

/// Opens a PKCS12 file (a key or trust store) with its password; the error never quotes it.
pub fn open_pkcs12(
    location: &std::path::Path,
    password: Option<&str>,
    what: &str,
) -> Result<openssl::pkcs12::ParsedPkcs12_2, String> {
    let bytes =
        std::fs::read(location).map_err(|e| format!("cannot read {}: {e}", location.display()))?;
    openssl::pkcs12::Pkcs12::from_der(&bytes)
        .and_then(|p| p.parse2(password.unwrap_or("")))
        .map_err(|_| {
            format!(
                "cannot open the PKCS12 {what} {} (wrong password, or not PKCS12)",
                location.display()
            )
        })
}

/// Every certificate of an opened PKCS12 file (its own and the chain).
pub fn pkcs12_certificates(parsed: openssl::pkcs12::ParsedPkcs12_2) -> Vec<openssl::x509::X509> {
    parsed
        .cert
        .into_iter()
        .chain(parsed.ca.into_iter().flatten())
        .collect()
}

/// The certificates of a PKCS12 trust store, as one PEM text.
fn pkcs12_certificates_pem(location: &str, password: Option<&str>) -> Result<String, String> {
    let parsed = open_pkcs12(std::path::Path::new(location), password, "trust store")?;
    let mut pem = String::new();
    for cert in pkcs12_certificates(parsed) {
        let text = cert
            .to_pem()
            .map_err(|e| format!("bad certificate in {location}: {e}"))?;
        pem.push_str(&String::from_utf8_lossy(&text));
    }
    if pem.is_empty() {
        return Err(format!("the trust store {location} holds no certificate"));
    }
    Ok(pem)
}

/// Rewrites the Java client settings among `settings` (keys without any `producer.` etc.
/// prefix; `prefix` is only for error messages) into librdkafka's; every other setting passes
/// unchanged.
pub fn to_librdkafka(
    settings: &[(String, String)],
    prefix: &str,
) -> Result<Vec<(String, String)>, ClientConfigError> {
    let named = |k: &str| format!("{prefix}{k}");
    let mut java: BTreeMap<&str, &String> = BTreeMap::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in settings {
        let is_java = k == "sasl.mechanism"
            || k == "sasl.jaas.config"
            || k.starts_with("ssl.truststore.")
            || k.starts_with("ssl.keystore.")
            || k == "ssl.endpoint.identification.algorithm"
            || k == "security.protocol"
            || k == "sasl.login.callback.handler.class"
            || k == "sasl.client.callback.handler.class"
            || k == "sasl.login.class"
            || IGNORED.contains(&k.as_str());
        if is_java {
            java.insert(k, v);
            continue;
        }
        match client_names::translate(k, v).map_err(|m| error(&named(k), m))? {
            Translated::Set(name, value) => out.push((name, value)),
            Translated::Dropped(why) => {
                tracing::info!(key = %named(k), why, "Java client setting not used");
            }
            Translated::Unchanged => out.push((k.clone(), v.clone())),
        }
    }
    let endpoint = out
        .iter()
        .any(|(k, v)| k == "sasl.oauthbearer.token.endpoint.url" && !v.trim().is_empty());
    let mut set = |k: &str, v: &str| {
        out.retain(|(ok, _)| ok != k);
        out.push((k.to_owned(), v.to_owned()));
    };

    if let Some(p) = java.get("security.protocol") {
        let p = p.trim().to_ascii_lowercase();
        if !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"].contains(&p.as_str()) {
            return Err(error(
                &named("security.protocol"),
                "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
            ));
        }
        set("security.protocol", &p);
    }
    if let Some(m) = java.get("sasl.mechanism") {
        {
            let m = m.trim().to_ascii_uppercase();
            if !MECHANISMS.contains(&m.as_str()) {
                return Err(error(
                    &named("sasl.mechanism"),
                    format!(
                        "unsupported SASL mechanism {m}; expected PLAIN, SCRAM-SHA-256, \
                         SCRAM-SHA-512, OAUTHBEARER or GSSAPI"
                    ),
                ));
            }
            set("sasl.mechanisms", &m);
        }
    }
    for key in ["sasl.client.callback.handler.class", "sasl.login.class"] {
        if java.get(key).is_some_and(|v| !v.trim().is_empty()) {
            return Err(error(
                &named(key),
                "Java callback and login classes cannot be loaded by Tributary",
            ));
        }
    }
    let oidc = match java.get("sasl.login.callback.handler.class") {
        Some(c) if OIDC_HANDLERS.contains(&c.trim()) => true,
        Some(c) if c.trim().is_empty() => false,
        Some(_) => {
            return Err(error(
                &named("sasl.login.callback.handler.class"),
                "only Kafka's OAuthBearerLoginCallbackHandler (OIDC) is supported",
            ))
        }
        None => false,
    };
    if endpoint {
        set("sasl.oauthbearer.method", "oidc");
    }
    if let Some(jaas) = java.get("sasl.jaas.config") {
        let key = named("sasl.jaas.config");
        let entry = jaas::parse_one(jaas).map_err(|m| error(&key, m))?;
        for (k, v) in jaas_to_librdkafka(&entry, oidc).map_err(|m| error(&key, m))? {
            set(&k, &v);
        }
    }

    // Trust store.
    let truststore_type = declared_kind(
        &named("ssl.truststore.type"),
        java.get("ssl.truststore.type").copied(),
    )?;
    if let Some(pem) = java.get("ssl.truststore.certificates") {
        set("ssl.ca.pem", pem);
    }
    if let Some(location) = java
        .get("ssl.truststore.location")
        .filter(|l| !l.trim().is_empty())
    {
        let key = named("ssl.truststore.location");
        let kind = sniff(location).or(truststore_type);
        match kind {
            Some(StoreKind::Pem) | None => set("ssl.ca.location", location),
            Some(StoreKind::Jks) => {
                return Err(error(
                    &key,
                    format!(
                        "JKS trust stores are not read yet; convert it to PEM: keytool \
                         -exportcert -rfc -keystore {location} -alias <alias> > ca.pem, and set \
                         ssl.truststore.type=PEM"
                    ),
                ))
            }
            Some(StoreKind::Pkcs12) => {
                // librdkafka reads PEM trust stores only: hand it the certificates as PEM.
                let password = java.get("ssl.truststore.password").map(|p| p.as_str());
                let pem =
                    pkcs12_certificates_pem(location, password).map_err(|m| error(&key, m))?;
                set("ssl.ca.pem", &pem);
            }
        }
    }

    // Key store.
    let keystore_type = declared_kind(
        &named("ssl.keystore.type"),
        java.get("ssl.keystore.type").copied(),
    )?;
    if let Some(chain) = java.get("ssl.keystore.certificate.chain") {
        set("ssl.certificate.pem", chain);
    }
    if let Some(key_pem) = java.get("ssl.keystore.key") {
        set("ssl.key.pem", key_pem);
    }
    if let Some(location) = java
        .get("ssl.keystore.location")
        .filter(|l| !l.trim().is_empty())
    {
        let key = named("ssl.keystore.location");
        match sniff(location).or(keystore_type) {
            Some(StoreKind::Pem) => {
                // One PEM file with the certificate chain and the private key.
                set("ssl.certificate.location", location);
                set("ssl.key.location", location);
            }
            Some(StoreKind::Pkcs12) => {
                set("ssl.keystore.location", location);
                if let Some(p) = java.get("ssl.keystore.password") {
                    set("ssl.keystore.password", p);
                }
            }
            Some(StoreKind::Jks) | None => {
                return Err(error(
                    &key,
                    format!(
                        "JKS key stores cannot be read; convert it to PKCS12: keytool \
                         -importkeystore -srckeystore {location} -destkeystore keystore.p12 \
                         -deststoretype PKCS12, and set ssl.keystore.type=PKCS12"
                    ),
                ))
            }
        }
    }
    if let Some(a) = java.get("ssl.endpoint.identification.algorithm") {
        let a = a.trim().to_ascii_lowercase();
        set(
            "ssl.endpoint.identification.algorithm",
            if a.is_empty() { "none" } else { &a },
        );
    }
    Ok(out)
}

/// The librdkafka settings of a parsed JAAS entry.
fn jaas_to_librdkafka(
    entry: &jaas::JaasEntry,
    oidc: bool,
) -> Result<Vec<(String, String)>, String> {
    let opt = |k: &str| entry.options.get(k).cloned();
    let simple = entry.module.rsplit('.').next().unwrap_or(&entry.module);
    let mut out = Vec::new();
    match simple {
        "PlainLoginModule" | "ScramLoginModule" => {
            if simple == "ScramLoginModule" && opt("tokenauth").is_some_and(|t| t == "true") {
                return Err("delegation tokens (tokenauth=true) are not supported".into());
            }
            for (java, ours) in [("username", "sasl.username"), ("password", "sasl.password")] {
                match opt(java) {
                    Some(v) => out.push((ours.to_owned(), v)),
                    None => return Err(format!("{simple} needs the option {java}")),
                }
            }
        }
        "OAuthBearerLoginModule" => {
            let extensions: Vec<String> = entry
                .options
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("extension_")
                        .or_else(|| k.strip_prefix("unsecuredLoginExtension_"))
                        .map(|n| format!("{n}={v}"))
                })
                .collect();
            if !extensions.is_empty() {
                out.push((
                    "sasl.oauthbearer.extensions".to_owned(),
                    extensions.join(","),
                ));
            }
            if oidc {
                for (java, ours) in [
                    ("clientId", "sasl.oauthbearer.client.id"),
                    ("clientSecret", "sasl.oauthbearer.client.secret"),
                ] {
                    match opt(java) {
                        Some(v) => out.push((ours.to_owned(), v)),
                        None => return Err(format!("OIDC login needs the option {java}")),
                    }
                }
                if let Some(scope) = opt("scope") {
                    out.push(("sasl.oauthbearer.scope".to_owned(), scope));
                }
                out.push(("sasl.oauthbearer.method".to_owned(), "oidc".to_owned()));
            } else {
                // Kafka's unsecured JWTs, for tests and development.
                let mut config = vec![format!(
                    "principal={}",
                    opt("unsecuredLoginStringClaim_sub").unwrap_or_default()
                )];
                if let Some(life) = opt("unsecuredLoginLifetimeSeconds") {
                    config.push(format!("lifeSeconds={life}"));
                }
                out.push((
                    "enable.sasl.oauthbearer.unsecure.jwt".to_owned(),
                    "true".to_owned(),
                ));
                out.push(("sasl.oauthbearer.config".to_owned(), config.join(" ")));
            }
        }
        "Krb5LoginModule" => {
            if let Some(k) = opt("keyTab") {
                out.push(("sasl.kerberos.keytab".to_owned(), k));
            }
            if let Some(p) = opt("principal") {
                out.push(("sasl.kerberos.principal".to_owned(), p));
            }
        }
        _ => {
            return Err(format!(
                "unsupported login module {}; expected Kafka's PlainLoginModule, \
                 ScramLoginModule or OAuthBearerLoginModule, or Krb5LoginModule",
                entry.module
            ))
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn map(v: Vec<(String, String)>) -> BTreeMap<String, String> {
        v.into_iter().collect()
    }

    #[test]
    fn a_java_sasl_ssl_plain_config_becomes_librdkafkas() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let got = map(to_librdkafka(
            &kv(&[
                ("bootstrap.servers", "b:9093"),
                ("security.protocol", "sasl_ssl"),
                ("sasl.mechanism", "plain"),
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required \
                         username=\"alice\" password=\"s3cr\\\"et\";",
                ),
                ("ssl.truststore.type", "JKS"),
                ("ssl.truststore.location", ca.to_str().unwrap()),
                ("ssl.truststore.password", "changeit"),
                ("ssl.endpoint.identification.algorithm", ""),
                ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
            ]),
            "",
        )
        .unwrap());
        let want = map(kv(&[
            ("bootstrap.servers", "b:9093"),
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", "s3cr\"et"),
            // The file is PEM whatever the declared type says.
            ("ssl.ca.location", ca.to_str().unwrap()),
            ("ssl.endpoint.identification.algorithm", "none"),
        ]));
        assert_eq!(got, want);
    }

    #[test]
    fn librdkafka_names_pass_unchanged() {
        let settings = kv(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/ca.pem"),
            ("sasl.username", "u"),
            ("linger.ms", "5"),
        ]);
        let got = map(to_librdkafka(&settings, "").unwrap());
        assert_eq!(got["ssl.ca.location"], "/ca.pem");
        assert_eq!(got["security.protocol"], "ssl");
        assert_eq!(got["linger.ms"], "5");
    }

    #[test]
    fn scram_oidc_unsecured_and_kerberos_logins_map() {
        let scram = map(to_librdkafka(
            &kv(&[
                ("sasl.mechanism", "SCRAM-SHA-512"),
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required \
                         username=bob password='pw';",
                ),
            ]),
            "",
        )
        .unwrap());
        assert_eq!(scram["sasl.mechanisms"], "SCRAM-SHA-512");
        assert_eq!(
            (
                scram["sasl.username"].as_str(),
                scram["sasl.password"].as_str()
            ),
            ("bob", "pw")
        );

        let oidc = map(to_librdkafka(
            &kv(&[
                ("sasl.mechanism", "OAUTHBEARER"),
                ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
                (
                    "sasl.login.callback.handler.class",
                    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
                ),
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
                         required clientId=\"c\" clientSecret=\"s\" scope=\"kafka\" \
                         extension_logicalCluster=\"lkc-1\";",
                ),
            ]),
            "",
        )
        .unwrap());
        assert_eq!(oidc["sasl.oauthbearer.method"], "oidc");
        assert_eq!(
            oidc["sasl.oauthbearer.token.endpoint.url"],
            "https://idp/token"
        );
        assert_eq!(oidc["sasl.oauthbearer.client.id"], "c");
        assert_eq!(oidc["sasl.oauthbearer.client.secret"], "s");
        assert_eq!(oidc["sasl.oauthbearer.scope"], "kafka");
        assert_eq!(oidc["sasl.oauthbearer.extensions"], "logicalCluster=lkc-1");

        let unsecured = map(to_librdkafka(
            &kv(&[(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
                     required unsecuredLoginStringClaim_sub=\"admin\";",
            )]),
            "",
        )
        .unwrap());
        assert_eq!(unsecured["enable.sasl.oauthbearer.unsecure.jwt"], "true");
        assert_eq!(unsecured["sasl.oauthbearer.config"], "principal=admin");

        let krb = map(to_librdkafka(
            &kv(&[(
                "sasl.jaas.config",
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
                     keyTab=\"/etc/k/c.keytab\" principal=\"connect@EX.COM\";",
            )]),
            "",
        )
        .unwrap());
        assert_eq!(krb["sasl.kerberos.keytab"], "/etc/k/c.keytab");
        assert_eq!(krb["sasl.kerberos.principal"], "connect@EX.COM");
    }

    #[test]
    fn bad_settings_name_the_key_and_never_quote_a_secret() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("security.protocol", "CARRIER_PIGEON")],
                "producer.security.protocol",
            ),
            (
                &[("sasl.mechanism", "AWS_MSK_IAM")],
                "producer.sasl.mechanism",
            ),
            (
                &[(
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required \
                     username=\"a\" password=\"hunter2\"",
                )],
                "producer.sasl.jaas.config",
            ),
            (
                &[(
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required \
                     password=123hunter2;",
                )],
                "producer.sasl.jaas.config",
            ),
            (
                &[(
                    "sasl.jaas.config",
                    "a.B required x=\"1\"; c.D required y=\"2\";",
                )],
                "producer.sasl.jaas.config",
            ),
            (
                &[("sasl.login.class", "com.example.Login")],
                "producer.sasl.login.class",
            ),
            (
                &[("ssl.keystore.type", "BKS")],
                "producer.ssl.keystore.type",
            ),
        ];
        for (settings, key) in cases {
            let e = to_librdkafka(&kv(settings), "producer.").unwrap_err();
            assert_eq!(e.key, *key, "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn stores_are_told_apart_by_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("store.jks");
        std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
        let p12 = dir.path().join("store.p12");
        std::fs::write(&p12, [0x30, 0x82, 0x0A, 0x01]).unwrap();
        let pem = dir.path().join("client.pem");
        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();

        let e = to_librdkafka(&kv(&[("ssl.keystore.location", &path(&jks))]), "").unwrap_err();
        assert!(e.message.contains("keytool -importkeystore"), "{e}");
        let e = to_librdkafka(&kv(&[("ssl.truststore.location", &path(&jks))]), "").unwrap_err();
        assert!(e.message.contains("keytool -exportcert"), "{e}");

        // The JKS type opens PKCS12 files, as in the JDK.
        let got = map(to_librdkafka(
            &kv(&[
                ("ssl.keystore.type", "JKS"),
                ("ssl.keystore.location", &path(&p12)),
                ("ssl.keystore.password", "pw"),
                ("ssl.key.password", "kpw"),
            ]),
            "",
        )
        .unwrap());
        assert_eq!(got["ssl.keystore.location"], path(&p12));
        assert_eq!(got["ssl.keystore.password"], "pw");
        assert_eq!(got["ssl.key.password"], "kpw");

        let got = map(to_librdkafka(&kv(&[("ssl.keystore.location", &path(&pem))]), "").unwrap());
        assert_eq!(got["ssl.certificate.location"], path(&pem));
        assert_eq!(got["ssl.key.location"], path(&pem));
        let got = map(to_librdkafka(
            &kv(&[
                ("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----"),
                ("ssl.keystore.certificate.chain", "CHAIN"),
                ("ssl.keystore.key", "KEY"),
            ]),
            "",
        )
        .unwrap());
        assert_eq!(got["ssl.ca.pem"], "-----BEGIN CERTIFICATE-----");
        assert_eq!(got["ssl.certificate.pem"], "CHAIN");
        assert_eq!(got["ssl.key.pem"], "KEY");
    }

    #[test]
    fn a_pkcs12_trust_store_reaches_librdkafka_as_pem() {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = crate::test_pki::key();
        let ca = crate::test_pki::cert("Trusted CA", &ca_key, None);
        let mut certs = openssl::stack::Stack::new().unwrap();
        certs.push(ca.clone()).unwrap();
        let p12 = openssl::pkcs12::Pkcs12::builder()
            .ca(certs)
            .build2("trustpw")
            .unwrap();
        let store = dir.path().join("truststore.p12");
        std::fs::write(&store, p12.to_der().unwrap()).unwrap();
        let location = store.to_str().unwrap();
        let got = map(to_librdkafka(
            &kv(&[
                ("ssl.truststore.type", "PKCS12"),
                ("ssl.truststore.location", location),
                ("ssl.truststore.password", "trustpw"),
            ]),
            "",
        )
        .unwrap());
        assert_eq!(
            got["ssl.ca.pem"],
            String::from_utf8(ca.to_pem().unwrap()).unwrap()
        );
        assert!(!got.contains_key("ssl.ca.location"));
        let e = to_librdkafka(
            &kv(&[
                ("ssl.truststore.location", location),
                ("ssl.truststore.password", "bad-pass"),
            ]),
            "producer.",
        )
        .unwrap_err();
        assert_eq!(e.key, "producer.ssl.truststore.location");
        assert!(!e.message.contains("bad-pass"), "{e}");
    }

    #[test]
    fn secret_keys_are_known_by_name_with_any_prefix() {
        for key in [
            "sasl.jaas.config",
            "producer.override.sasl.jaas.config",
            "consumer.ssl.keystore.password",
            "connection.password",
            "sasl.oauthbearer.client.secret",
            "admin.override.ssl.key.password",
            "ssl.keystore.key",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "topic",
            "ssl.truststore.location",
            "sasl.username",
            "password.policy.name",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    /// librdkafka is built with curl, so a Java OIDC client-credentials login works: the
    /// client asks the token endpoint (here one in the test process) with the client id and
    /// secret, the `client_credentials` grant and the scope, as Kafka's login handler does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_oidc_login_asks_the_token_endpoint_with_the_client_credentials() {
        use rdkafka::producer::BaseProducer;
        let (tx, rx) = std::sync::mpsc::channel::<(String, String)>();
        let tx = std::sync::Arc::new(std::sync::Mutex::new(tx));
        let app = axum::Router::new().route(
            "/token",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let _ = tx.lock().unwrap().send((auth, body));
                async {
                    axum::Json(serde_json::json!({
                        "access_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0cmlidXRhcnkiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMH0.",
                        "token_type": "bearer",
                        "expires_in": 3600
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let settings = to_librdkafka(
            &kv(&[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "OAUTHBEARER"),
                ("sasl.oauthbearer.token.endpoint.url", &url),
                (
                    "sasl.login.callback.handler.class",
                    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
                ),
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
                     required clientId=\"tributary\" clientSecret=\"s3cret\" scope=\"kafka\";",
                ),
            ]),
            "",
        )
        .unwrap();
        let got = tokio::task::spawn_blocking(move || {
            let mut config = rdkafka::ClientConfig::new();
            for (k, v) in &settings {
                config.set(k, v);
            }
            // No broker is needed to see the token request.
            config.set("bootstrap.servers", "127.0.0.1:1");
            let producer: BaseProducer = config
                .create()
                .expect("librdkafka takes the OIDC settings (built with curl)");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                producer.poll(std::time::Duration::from_millis(100));
                if let Ok(request) = rx.try_recv() {
                    return request;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no token request within 30 s"
                );
            }
        })
        .await
        .unwrap();
        let (auth, body) = got;
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "tributary:s3cret",
        );
        assert_eq!(auth, format!("Basic {basic}"));
        assert!(body.contains("grant_type=client_credentials"), "{body}");
        assert!(body.contains("scope=kafka"), "{body}");
    }
}
