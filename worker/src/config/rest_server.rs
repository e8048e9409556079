//! The REST server's settings, read as Kafka Connect's `RestServerConfig` and `SSLUtils` read
//! them (security-metrics spec §2): `listeners` and `admin.listeners`, the advertised URL, the
//! HTTPS key and trust stores with Java's all-or-nothing `listeners.https.` prefix,
//! `ssl.client.auth`, the `BasicAuthSecurityRestExtension` with its JAAS file and credentials
//! file, CORS and `response.http.headers.config`.
//!
//! Everything is checked here, at start-up, and every error names the key. Secrets (store
//! passwords, user passwords) are kept in [`Secret`], whose `Debug` never shows them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tributary_connector_api::Props;

use super::client_security::{sniff, StoreKind};
use super::error::WorkerConfigError;
use super::jaas;
use super::values::{get, list};

/// The class name of Kafka Connect's basic authentication extension.
pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
/// The one login module that extension can use here.
pub const PROPERTY_FILE_LOGIN_MODULE: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";
/// The JVM system property naming the JAAS file; also read as a worker property.
pub const JAAS_CONFIG_KEY: &str = "java.security.auth.login.config";
/// The JAAS section the extension logs in with.
pub const JAAS_SECTION: &str = "KafkaConnect";
/// The server-side prefix of the HTTPS settings.
pub const HTTPS_PREFIX: &str = "listeners.https.";
/// The prefix of the admin listeners' HTTPS settings.
pub const ADMIN_HTTPS_PREFIX: &str = "admin.listeners.https.";

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[hidden]")
    }
}

/// One entry of `listeners` / `admin.listeners`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestListener {
    pub https: bool,
    /// Empty: every interface.
    pub host: String,
    pub port: u16,
}

impl RestListener {
    /// The address to bind.
    pub fn bind_host(&self) -> &str {
        if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        }
    }

    fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }
}

/// Where the admin endpoints (`/admin/loggers`) are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminListeners {
    /// `admin.listeners` unset: on the main listeners.
    Main,
    /// `admin.listeners` empty: nowhere.
    Disabled,
    /// On these listeners only (without the REST extensions, CORS and response headers, as in
    /// Connect).
    Separate(Vec<RestListener>),
}

/// A key or trust store file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// The key naming the file, with its prefix (for error messages).
    pub key: String,
    pub location: PathBuf,
    pub password: Option<Secret>,
    /// What the file holds, from its bytes (the declared type is only checked).
    pub kind: StoreKind,
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    /// A client certificate is asked for and verified if sent.
    Requested,
    /// A verified client certificate is mandatory.
    Required,
}

/// The TLS settings of one kind of listener (and of the inter-worker client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The prefix the keys were read with (`listeners.https.` or empty).
    pub prefix: String,
    pub keystore: Option<Store>,
    pub key_password: Option<Secret>,
    pub truststore: Option<Store>,
    /// `ssl.enabled.protocols` (Java's default `TLSv1.2,TLSv1.3`).
    pub enabled_protocols: Vec<String>,
    pub client_auth: ClientAuth,
    /// `ssl.endpoint.identification.algorithm` is `https` (the default): the inter-worker
    /// client checks the host name.
    pub verify_hostname: bool,
}

/// The users of the basic authentication extension (`PropertyFileLoginModule` credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuthUsers {
    users: BTreeMap<String, Secret>,
}

impl std::fmt::Debug for BasicAuthUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuthUsers")
            .field("users", &self.users.len())
            .finish()
    }
}

impl BasicAuthUsers {
    /// An empty credentials file lets every request through, as in Connect.
    pub fn allows_everyone(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` has `password` (compared in time independent of where they differ).
    pub fn check(&self, user: &str, password: &str) -> bool {
        let Some(Secret(expected)) = self.users.get(user) else {
            return false;
        };
        let (a, b) = (expected.as_bytes(), password.as_bytes());
        let mut diff = a.len() ^ b.len();
        for i in 0..a.len().max(b.len()) {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            diff |= usize::from(x ^ y);
        }
        diff == 0
    }
}

/// `access.control.allow.origin` / `access.control.allow.methods`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins; `*` alone allows any, a `*` inside an entry matches any text.
    pub origins: Vec<String>,
    pub methods: Vec<String>,
}

/// One rule of `response.http.headers.config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    pub action: HeaderAction,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderAction {
    Set,
    Add,
    /// The value is milliseconds from now, sent as an HTTP date.
    SetDate,
    AddDate,
}

/// Everything the REST server needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestServerConfig {
    pub listeners: Vec<RestListener>,
    pub admin_listeners: AdminListeners,
    /// `http(s)://host:port/`, what other workers use to reach this one.
    pub advertised_url: String,
    /// `<host>:<port>` reported as `worker_id`.
    pub worker_id: String,
    /// The main listeners' TLS settings (`listeners.https.` or top-level `ssl.`); also the
    /// inter-worker client's.
    pub https: TlsSettings,
    /// The admin listeners' TLS settings (`admin.listeners.https.` or top-level `ssl.`).
    pub admin_https: TlsSettings,
    /// `None`: no basic authentication.
    pub basic_auth: Option<BasicAuthUsers>,
    pub cors: Option<Cors>,
    pub response_headers: Vec<HeaderRule>,
}

fn bad(key: &str, message: impl Into<String>) -> WorkerConfigError {
    WorkerConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Parses one `listeners` entry as Connect's regex does:
/// `^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)`.
fn parse_listener(key: &str, entry: &str) -> Result<RestListener, WorkerConfigError> {
    let fail = |m: &str| bad(key, format!("{entry}: {m}"));
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| fail("expected PROTOCOL://HOST:PORT"))?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => {
            return Err(fail(
                "Listener protocol must be either \"http\" or \"https\"",
            ))
        }
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| fail("expected PROTOCOL://HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-%._:".contains(c))
    {
        return Err(fail("the host holds characters a host name cannot have"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| fail("the port is not a number from 0 to 65535"))?;
    Ok(RestListener {
        https,
        host: host.to_owned(),
        port,
    })
}

fn parse_listeners(key: &str, value: &str) -> Result<Vec<RestListener>, WorkerConfigError> {
    list(value)
        .iter()
        .map(|entry| parse_listener(key, entry))
        .collect()
}

/// The TLS keys under `prefix` if any key has it, else the top-level `ssl.*` keys (Java's
/// `valuesWithPrefixAllOrNothing`).
fn tls_settings(props: &Props, prefix: &str) -> Result<TlsSettings, WorkerConfigError> {
    let prefixed = props.keys().any(|k| k.starts_with(prefix));
    let prefix = if prefixed { prefix } else { "" };
    let key = |name: &str| format!("{prefix}{name}");
    let value = |name: &str| get(props, &key(name)).map(str::to_owned);
    let store = |what: &str| -> Result<Option<Store>, WorkerConfigError> {
        let location_key = key(&format!("ssl.{what}.location"));
        let Some(location) = get(props, &location_key) else {
            return Ok(None);
        };
        let type_key = key(&format!("ssl.{what}.type"));
        let kind = sniff(location).ok_or_else(|| {
            bad(
                &location_key,
                format!("cannot read {location} as a PKCS12 or PEM {what}"),
            )
        })?;
        if kind == StoreKind::Jks {
            let hint = if what == "keystore" {
                format!(
                    "keytool -importkeystore -srckeystore {location} -destkeystore \
                     {location}.p12 -deststoretype PKCS12"
                )
            } else {
                format!(
                    "keytool -exportcert -rfc -keystore {location} -alias <alias> -file \
                     {location}.pem (one per certificate), or convert it to PKCS12 with \
                     keytool -importkeystore"
                )
            };
            return Err(bad(
                &location_key,
                format!("JKS {what}s cannot be read; convert it: {hint}"),
            ));
        }
        if let Some(declared) = get(props, &type_key) {
            if !["JKS", "PKCS12", "PEM"].contains(&declared.to_ascii_uppercase().as_str()) {
                return Err(bad(
                    &type_key,
                    format!("unknown store type {declared}; expected JKS, PKCS12 or PEM"),
                ));
            }
        }
        Ok(Some(Store {
            key: location_key,
            location: PathBuf::from(location),
            password: value(&format!("ssl.{what}.password")).map(Secret),
            kind,
        }))
    };
    let client_auth_key = key("ssl.client.auth");
    let client_auth = match get(props, &client_auth_key) {
        None | Some("none") => ClientAuth::None,
        Some("requested") => ClientAuth::Requested,
        Some("required") => ClientAuth::Required,
        Some(other) => {
            return Err(bad(
                &client_auth_key,
                format!("{other}: expected none, requested or required (lower case)"),
            ))
        }
    };
    let protocols_key = key("ssl.enabled.protocols");
    let enabled_protocols = match get(props, &protocols_key) {
        None => vec!["TLSv1.2".to_owned(), "TLSv1.3".to_owned()],
        Some(v) => {
            let protocols = list(v);
            if let Some(p) = protocols
                .iter()
                .find(|p| !["TLSv1.2", "TLSv1.3"].contains(&p.as_str()))
            {
                return Err(bad(
                    &protocols_key,
                    format!("{p}: only TLSv1.2 and TLSv1.3 are offered"),
                ));
            }
            protocols
        }
    };
    let verify_hostname = props
        .get(&key("ssl.endpoint.identification.algorithm"))
        .map(|v| !v.trim().is_empty())
        .unwrap_or(true);
    Ok(TlsSettings {
        prefix: prefix.to_owned(),
        keystore: store("keystore")?,
        key_password: value("ssl.key.password").map(Secret),
        truststore: store("truststore")?,
        enabled_protocols,
        client_auth,
        verify_hostname,
    })
}

/// The JAAS file named by `-Djava.security.auth.login.config=…` (or `==…`) in `KAFKA_OPTS`.
pub fn jaas_path_from_kafka_opts(kafka_opts: &str) -> Option<String> {
    let flag = format!("-D{JAAS_CONFIG_KEY}=");
    kafka_opts.split_whitespace().find_map(|word| {
        let value = word.strip_prefix(&flag)?;
        let value = value.strip_prefix('=').unwrap_or(value);
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// The users of the basic authentication extension, from the JAAS file at `jaas_path`.
fn basic_auth_users(jaas_path: &str) -> Result<BasicAuthUsers, WorkerConfigError> {
    let text = std::fs::read_to_string(jaas_path)
        .map_err(|e| bad(JAAS_CONFIG_KEY, format!("cannot read {jaas_path}: {e}")))?;
    let sections =
        jaas::parse_file(&text).map_err(|e| bad(JAAS_CONFIG_KEY, format!("{jaas_path}: {e}")))?;
    let entries = sections.get(JAAS_SECTION).ok_or_else(|| {
        bad(
            JAAS_CONFIG_KEY,
            format!("{jaas_path} has no {JAAS_SECTION} section, so nobody could log in"),
        )
    })?;
    let [entry] = entries.as_slice() else {
        return Err(bad(
            JAAS_CONFIG_KEY,
            format!(
                "the {JAAS_SECTION} section of {jaas_path} must hold exactly one login module, \
                 {PROPERTY_FILE_LOGIN_MODULE}"
            ),
        ));
    };
    if entry.module != PROPERTY_FILE_LOGIN_MODULE {
        return Err(bad(
            JAAS_CONFIG_KEY,
            format!(
                "login module {} is Java code; only {PROPERTY_FILE_LOGIN_MODULE} is built in",
                entry.module
            ),
        ));
    }
    let file = entry.options.get("file").ok_or_else(|| {
        bad(
            JAAS_CONFIG_KEY,
            format!("{PROPERTY_FILE_LOGIN_MODULE} in {jaas_path} has no file option"),
        )
    })?;
    let reader = std::fs::File::open(file).map_err(|e| {
        bad(
            JAAS_CONFIG_KEY,
            format!("cannot read credentials {file}: {e}"),
        )
    })?;
    let users = java_properties::read(std::io::BufReader::new(reader)).map_err(|e| {
        bad(
            JAAS_CONFIG_KEY,
            format!("cannot read credentials {file}: {e}"),
        )
    })?;
    Ok(BasicAuthUsers {
        users: users.into_iter().map(|(u, p)| (u, Secret(p))).collect(),
    })
}

/// Splits `response.http.headers.config` at commas outside double quotes (Jetty's
/// `StringUtil.csvSplit`), trimming each part and removing the quotes.
fn csv_split(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_header_rules(value: &str) -> Result<Vec<HeaderRule>, WorkerConfigError> {
    const KEY: &str = "response.http.headers.config";
    csv_split(value)
        .into_iter()
        .map(|rule| {
            let fail = |m: &str| bad(KEY, format!("Invalid header config '{rule}': {m}"));
            let (action, header) = rule
                .split_once(char::is_whitespace)
                .ok_or_else(|| fail("expected '<action> <name>:<value>'"))?;
            let action = match action.to_ascii_lowercase().as_str() {
                "set" => HeaderAction::Set,
                "add" => HeaderAction::Add,
                "setdate" => HeaderAction::SetDate,
                "adddate" => HeaderAction::AddDate,
                _ => return Err(fail("the action must be set, add, setDate or addDate")),
            };
            let parts: Vec<&str> = header.split(':').collect();
            let [name, value] = parts.as_slice() else {
                return Err(fail(
                    "expected exactly one ':' between the name and the value",
                ));
            };
            let name = name.trim();
            let value = value.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(fail("the header name is empty or holds whitespace"));
            }
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || axum::http::HeaderValue::from_str(value).is_err()
            {
                return Err(fail("not a valid HTTP header"));
            }
            if matches!(action, HeaderAction::SetDate | HeaderAction::AddDate)
                && value.parse::<i64>().is_err()
            {
                return Err(fail("a date action's value is a number of milliseconds"));
            }
            Ok(HeaderRule {
                action,
                name: name.to_owned(),
                value: value.to_owned(),
            })
        })
        .collect()
}

/// The host a worker on every interface advertises.
fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

impl RestServerConfig {
    /// Reads the REST settings of a worker config; `kafka_opts` is the `KAFKA_OPTS`
    /// environment variable, where Kafka's scripts pass the JAAS file.
    pub fn from_props(
        props: &Props,
        kafka_opts: Option<&str>,
    ) -> Result<RestServerConfig, WorkerConfigError> {
        let raw_listeners = get(props, "listeners").unwrap_or("http://:8083");
        let listeners = parse_listeners("listeners", raw_listeners)?;
        if listeners.is_empty() {
            return Err(bad("listeners", "must list at least one listener"));
        }
        let admin_listeners = match props.get("admin.listeners") {
            None => AdminListeners::Main,
            Some(v) if v.trim().is_empty() => AdminListeners::Disabled,
            Some(v) => AdminListeners::Separate(parse_listeners("admin.listeners", v)?),
        };

        let advertised_https = match get(props, "rest.advertised.listener") {
            Some(v) if v.eq_ignore_ascii_case("https") => true,
            Some(v) if v.eq_ignore_ascii_case("http") => false,
            Some(v) => {
                return Err(bad(
                    "rest.advertised.listener",
                    format!("{v}: expected http or https"),
                ))
            }
            None => !raw_listeners.contains("http://") && raw_listeners.contains("https://"),
        };
        let listener = listeners
            .iter()
            .find(|l| l.https == advertised_https)
            .ok_or_else(|| {
                bad(
                    "rest.advertised.listener",
                    format!(
                        "no {} listener in listeners",
                        if advertised_https { "https" } else { "http" }
                    ),
                )
            })?;
        let host = get(props, "rest.advertised.host.name")
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if listener.host.is_empty() || listener.host == "0.0.0.0" {
                    local_hostname()
                } else {
                    listener.host.clone()
                }
            });
        let port = match get(props, "rest.advertised.port") {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| bad("rest.advertised.port", format!("{p} is not a port")))?,
            None => listener.port,
        };

        let basic_auth = match get(props, "rest.extension.classes") {
            None => None,
            Some(classes) => {
                let mut basic = false;
                for class in list(classes) {
                    if class == BASIC_AUTH_EXTENSION {
                        basic = true;
                    } else {
                        return Err(bad(
                            "rest.extension.classes",
                            format!(
                                "{class} is Java code; the one REST extension built in is \
                                 {BASIC_AUTH_EXTENSION}"
                            ),
                        ));
                    }
                }
                if basic {
                    let path = get(props, JAAS_CONFIG_KEY)
                        .map(str::to_owned)
                        .or_else(|| kafka_opts.and_then(jaas_path_from_kafka_opts))
                        .ok_or_else(|| {
                            bad(
                                JAAS_CONFIG_KEY,
                                format!(
                                    "{BASIC_AUTH_EXTENSION} needs a JAAS file: set \
                                     {JAAS_CONFIG_KEY} in the worker config or \
                                     KAFKA_OPTS=-D{JAAS_CONFIG_KEY}=<file>"
                                ),
                            )
                        })?;
                    Some(basic_auth_users(&path)?)
                } else {
                    None
                }
            }
        };

        let cors = get(props, "access.control.allow.origin").map(|origins| Cors {
            origins: list(origins),
            methods: get(props, "access.control.allow.methods")
                .map(list)
                .unwrap_or_else(|| vec!["GET".into(), "POST".into(), "HEAD".into()]),
        });
        let response_headers = match get(props, "response.http.headers.config") {
            None => Vec::new(),
            Some(v) => parse_header_rules(v)?,
        };

        let https = tls_settings(props, HTTPS_PREFIX)?;
        let admin_https = tls_settings(props, ADMIN_HTTPS_PREFIX)?;
        let needs_keystore = |settings: &TlsSettings, listeners: &[RestListener]| {
            if listeners.iter().any(|l| l.https) && settings.keystore.is_none() {
                Err(bad(
                    &format!("{}ssl.keystore.location", settings.prefix),
                    "an https listener needs a key store",
                ))
            } else {
                Ok(())
            }
        };
        needs_keystore(&https, &listeners)?;
        if let AdminListeners::Separate(admin) = &admin_listeners {
            needs_keystore(&admin_https, admin)?;
        }
        let scheme = listener.scheme();
        Ok(RestServerConfig {
            advertised_url: format!("{scheme}://{host}:{port}/"),
            worker_id: format!("{host}:{port}"),
            listeners,
            admin_listeners,
            https,
            admin_https,
            basic_auth,
            cors,
            response_headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<RestServerConfig, WorkerConfigError> {
        RestServerConfig::from_props(&props(pairs), None)
    }

    #[test]
    fn listeners_follow_connects_rules() {
        let c = parse(&[("listeners", "http://127.0.0.1:8083, HTTP://[::1]:0")]).unwrap();
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(c.listeners[1].host, "::1");
        assert_eq!(c.advertised_url, "http://127.0.0.1:8083/");
        assert_eq!(c.worker_id, "127.0.0.1:8083");
        assert_eq!(c.admin_listeners, AdminListeners::Main);
        let c = parse(&[("admin.listeners", "")]).unwrap();
        assert_eq!(c.admin_listeners, AdminListeners::Disabled);
        let c = parse(&[("admin.listeners", "http://localhost:9093")]).unwrap();
        assert!(matches!(c.admin_listeners, AdminListeners::Separate(ref l) if l[0].port == 9093));
        let c = parse(&[
            ("listeners", "http://:8083"),
            ("rest.advertised.host.name", "w1"),
            ("rest.advertised.port", "18083"),
        ])
        .unwrap();
        assert_eq!(c.worker_id, "w1:18083");
        for (key, value, expected_key) in [
            ("listeners", "ftp://a:1", "listeners"),
            ("listeners", "http://a", "listeners"),
            ("listeners", "http://a:99999", "listeners"),
            ("listeners", "http://a b:1", "listeners"),
            ("listeners", ",", "listeners"),
            ("admin.listeners", "gopher://x:1", "admin.listeners"),
            (
                "rest.advertised.listener",
                "ftp",
                "rest.advertised.listener",
            ),
            (
                "rest.advertised.listener",
                "https",
                "rest.advertised.listener",
            ),
            ("rest.advertised.port", "-1", "rest.advertised.port"),
            ("listeners", "https://a:1", "ssl.keystore.location"),
        ] {
            let e = parse(&[(key, value)]).unwrap_err();
            assert_eq!(e.key, expected_key, "{key}={value}: {e}");
        }
    }

    #[test]
    fn https_settings_are_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ks.pem");
        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let p12 = dir.path().join("ks.p12");
        std::fs::write(&p12, [0x30, 0x82, 0x01]).unwrap();
        let jks = dir.path().join("ks.jks");
        std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0]).unwrap();
        let (pem, p12, jks) = (
            pem.to_str().unwrap(),
            p12.to_str().unwrap(),
            jks.to_str().unwrap(),
        );

        // No prefixed key: the top-level ssl.* keys.
        let c = parse(&[
            ("listeners", "https://localhost:8443"),
            ("ssl.keystore.location", p12),
            ("ssl.keystore.password", "pw"),
            ("ssl.truststore.location", pem),
            ("ssl.client.auth", "required"),
        ])
        .unwrap();
        assert_eq!(c.advertised_url, "https://localhost:8443/");
        assert_eq!(c.https.prefix, "");
        assert_eq!(c.https.keystore.as_ref().unwrap().kind, StoreKind::Pkcs12);
        assert_eq!(c.https.truststore.as_ref().unwrap().kind, StoreKind::Pem);
        assert_eq!(c.https.client_auth, ClientAuth::Required);
        assert!(c.https.verify_hostname);
        assert!(!format!("{c:?}").contains("pw"), "secrets in Debug");

        // One prefixed key: only prefixed keys count, top-level ones are ignored.
        let e = parse(&[
            ("listeners", "https://localhost:8443"),
            ("ssl.keystore.location", p12),
            ("listeners.https.ssl.truststore.location", pem),
        ])
        .unwrap_err();
        assert_eq!(e.key, "listeners.https.ssl.keystore.location");
        let c = parse(&[
            ("listeners", "https://localhost:8443"),
            ("ssl.client.auth", "required"),
            ("listeners.https.ssl.keystore.location", p12),
            ("listeners.https.ssl.endpoint.identification.algorithm", ""),
        ])
        .unwrap();
        assert_eq!(c.https.prefix, HTTPS_PREFIX);
        assert_eq!(c.https.client_auth, ClientAuth::None);
        assert!(!c.https.verify_hostname);

        for (pairs, key) in [
            (
                vec![("listeners", "https://h:1"), ("ssl.keystore.location", jks)],
                "ssl.keystore.location",
            ),
            (
                vec![
                    ("listeners", "https://h:1"),
                    ("ssl.keystore.location", p12),
                    ("ssl.client.auth", "REQUIRED"),
                ],
                "ssl.client.auth",
            ),
            (
                vec![
                    ("ssl.keystore.location", p12),
                    ("ssl.enabled.protocols", "TLSv1"),
                ],
                "ssl.enabled.protocols",
            ),
            (
                vec![("ssl.keystore.location", "/nonexistent/ks.p12")],
                "ssl.keystore.location",
            ),
            (
                vec![("ssl.keystore.location", p12), ("ssl.keystore.type", "BKS")],
                "ssl.keystore.type",
            ),
        ] {
            let e = parse(&pairs).unwrap_err();
            assert_eq!(e.key, key, "{pairs:?}: {e}");
        }
        let e = parse(&[("listeners", "https://h:1"), ("ssl.keystore.location", jks)]).unwrap_err();
        assert!(e.message.contains("keytool -importkeystore"), "{e}");
    }

    #[test]
    fn basic_auth_reads_the_jaas_file_and_its_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("connect.password");
        std::fs::write(&creds, "# users\nalice=alice-secret\nbob: bob:secret\n").unwrap();
        let jaas = dir.path().join("connect_jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "KafkaConnect {{\n  {PROPERTY_FILE_LOGIN_MODULE} required\n  file=\"{}\";\n}};\n",
                creds.display()
            ),
        )
        .unwrap();
        let jaas = jaas.to_str().unwrap();
        let ext = ("rest.extension.classes", BASIC_AUTH_EXTENSION);

        let c = parse(&[ext, (JAAS_CONFIG_KEY, jaas)]).unwrap();
        let users = c.basic_auth.unwrap();
        assert!(users.check("alice", "alice-secret"));
        assert!(users.check("bob", "bob:secret"));
        assert!(!users.check("alice", "alice-secreT"));
        assert!(!users.check("alice", "alice-secret "));
        assert!(!users.check("carol", ""));
        assert!(!users.allows_everyone());
        assert!(!format!("{users:?}").contains("secret"));

        let opts = format!("-Xmx1G -Djava.security.auth.login.config={jaas} -Dx=y");
        let c = RestServerConfig::from_props(&props(&[ext]), Some(&opts)).unwrap();
        assert!(c.basic_auth.is_some());
        assert_eq!(
            jaas_path_from_kafka_opts("-Djava.security.auth.login.config='/etc/k.conf'"),
            Some("/etc/k.conf".into())
        );
        assert_eq!(
            jaas_path_from_kafka_opts("-Djava.security.auth.login.config==/etc/j.conf"),
            Some("/etc/j.conf".into())
        );
        assert_eq!(jaas_path_from_kafka_opts("-Dother=1"), None);

        // Without a JAAS file, with another extension, or another login module: start-up
        // errors naming the key.
        assert_eq!(parse(&[ext]).unwrap_err().key, JAAS_CONFIG_KEY);
        assert_eq!(
            parse(&[("rest.extension.classes", "com.example.Ext")])
                .unwrap_err()
                .key,
            "rest.extension.classes"
        );
        let other = dir.path().join("other.conf");
        std::fs::write(&other, "KafkaConnect { com.example.Ldap required; };").unwrap();
        let e = parse(&[ext, (JAAS_CONFIG_KEY, other.to_str().unwrap())]).unwrap_err();
        assert!(e.message.contains("Java code"), "{e}");
        std::fs::write(&other, "KafkaServer { a.B required; };").unwrap();
        let e = parse(&[ext, (JAAS_CONFIG_KEY, other.to_str().unwrap())]).unwrap_err();
        assert!(e.message.contains("no KafkaConnect section"), "{e}");

        // An empty credentials file lets everyone in, as in Connect.
        std::fs::write(&creds, "").unwrap();
        let c = parse(&[ext, (JAAS_CONFIG_KEY, jaas)]).unwrap();
        assert!(c.basic_auth.unwrap().allows_everyone());
    }

    #[test]
    fn cors_and_response_headers() {
        let c = parse(&[
            ("access.control.allow.origin", "https://a.example, https://*.b.example"),
            (
                "response.http.headers.config",
                "set X-Frame-Options: DENY,\"add Cache-Control: no-cache, no-store\",setDate Expires: 31540000000",
            ),
        ])
        .unwrap();
        let cors = c.cors.unwrap();
        assert_eq!(cors.origins, ["https://a.example", "https://*.b.example"]);
        assert_eq!(cors.methods, ["GET", "POST", "HEAD"]);
        assert_eq!(
            c.response_headers,
            [
                HeaderRule {
                    action: HeaderAction::Set,
                    name: "X-Frame-Options".into(),
                    value: "DENY".into()
                },
                HeaderRule {
                    action: HeaderAction::Add,
                    name: "Cache-Control".into(),
                    value: "no-cache, no-store".into()
                },
                HeaderRule {
                    action: HeaderAction::SetDate,
                    name: "Expires".into(),
                    value: "31540000000".into()
                },
            ]
        );
        assert!(parse(&[]).unwrap().cors.is_none());
        for bad in [
            "set X-A",
            "remove X-A: b",
            "set X-A: b: c",
            "set : b",
            "setDate Expires: soon",
            "set X-A: b\u{1}",
            "X-A: b",
        ] {
            let e = parse(&[("response.http.headers.config", bad)]).unwrap_err();
            assert_eq!(e.key, "response.http.headers.config", "{bad}");
        }
    }
}
