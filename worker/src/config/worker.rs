//! The worker config (connect-compat §3) for the parts this worker uses.

use std::path::PathBuf;
use std::sync::Arc;

use super::client_security;
use super::override_policy::{self, OverridePolicy};
use super::rest_server::RestServerConfig;

use tributary_connector_api::Props;

use super::providers::ConfigProviders;
use super::values::{get, list};

pub use super::error::WorkerConfigError;

/// Client settings librdkafka understands under the same name as the Java clients; the worker
/// passes these, and every top-level `security.protocol`, `sasl.*` and `ssl.*` setting (Java's
/// names translated, see [`client_security`]), to every Kafka client it makes.
const SHARED_CLIENT_KEYS: &[&str] = &[
    "bootstrap.servers",
    "metadata.max.age.ms",
    "client.dns.lookup",
    "socket.connection.setup.timeout.ms",
];

/// Whether a top-level key is a client setting every Kafka client of the worker gets.
fn is_shared_client_key(key: &str) -> bool {
    SHARED_CLIENT_KEYS.contains(&key)
        || key == "security.protocol"
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
}

/// The Kafka client settings of the worker's top level, in librdkafka's names.
fn shared_client_settings(props: &Props) -> Result<Vec<(String, String)>, WorkerConfigError> {
    let shared: Vec<(String, String)> = props
        .iter()
        .filter(|(k, _)| is_shared_client_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let translated =
        client_security::to_librdkafka(&shared, "").map_err(|e| WorkerConfigError {
            key: e.key,
            message: e.message,
        })?;
    // The task clients' own layers are checked now too, so a bad one stops the worker at
    // start-up rather than failing every task.
    for prefix in ["producer.", "consumer.", "admin."] {
        let layer: Vec<(String, String)> = props
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect();
        client_security::to_librdkafka(&layer, prefix).map_err(|e| WorkerConfigError {
            key: e.key,
            message: e.message,
        })?;
    }
    Ok(translated)
}

/// The worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub props: Props,
    pub bootstrap_servers: String,
    pub key_converter: String,
    pub value_converter: String,
    pub header_converter: String,
    pub offset_flush_interval_ms: u64,
    pub offset_flush_timeout_ms: u64,
    pub task_shutdown_graceful_timeout_ms: u64,
    /// The REST server's listeners, TLS and authentication.
    pub rest: RestServerConfig,
    /// `<host>:<port>` reported as `worker_id`.
    pub worker_id: String,
    pub plugin_path: Vec<PathBuf>,
    pub offset_storage_file: Option<PathBuf>,
    /// The `config.providers` that resolve placeholders in connector configs.
    pub config_providers: Arc<ConfigProviders>,
    /// The top-level Kafka client settings every client gets, in librdkafka's names.
    pub client_settings: Vec<(String, String)>,
    /// `connector.client.config.override.policy`.
    pub override_policy: OverridePolicy,
    /// `topic.tracking.enable` (KIP-558): tasks record the topics they use, and
    /// `GET /connectors/<name>/topics` lists them.
    pub topic_tracking_enable: bool,
    /// `topic.tracking.allow.reset`: `PUT /connectors/<name>/topics/reset` is permitted.
    pub topic_tracking_allow_reset: bool,
}

/// `plugin.path`: the directories and files plugins are loaded from.
pub fn plugin_path(props: &Props) -> Vec<PathBuf> {
    get(props, "plugin.path")
        .map(|p| list(p).into_iter().map(PathBuf::from).collect())
        .unwrap_or_default()
}

fn number(props: &Props, key: &str, default: u64) -> Result<u64, WorkerConfigError> {
    match get(props, key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| WorkerConfigError {
            key: key.into(),
            message: format!("{v} is not a non-negative number"),
        }),
    }
}

/// A boolean as Java's `ConfigDef` reads one: `true` or `false` in any case, surrounding
/// whitespace ignored; anything else (an empty value too) is an error naming the key.
fn boolean(props: &Props, key: &str, default: bool) -> Result<bool, WorkerConfigError> {
    let Some(raw) = props.get(key) else {
        return Ok(default);
    };
    let v = raw.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(WorkerConfigError {
            key: key.into(),
            message: format!("Invalid value {v} for configuration {key}: Expected value to be either true or false"),
        })
    }
}

fn required(props: &Props, key: &str) -> Result<String, WorkerConfigError> {
    get(props, key)
        .map(str::to_owned)
        .ok_or_else(|| WorkerConfigError {
            key: key.into(),
            message: "missing required configuration which has no default value".into(),
        })
}

impl WorkerConfig {
    /// Parses worker properties. Placeholders of the declared config providers are resolved
    /// in the worker's own values too (`props` keeps them resolved).
    pub fn from_props(props: Props) -> Result<WorkerConfig, WorkerConfigError> {
        Self::from_props_with(props, &|_, _| None)
    }

    /// [`WorkerConfig::from_props`] with config providers from plugin libraries too.
    pub fn from_props_with(
        props: Props,
        external: &super::providers::ExternalProviders<'_>,
    ) -> Result<WorkerConfig, WorkerConfigError> {
        let providers =
            ConfigProviders::from_worker_with(&props, external).map_err(|e| WorkerConfigError {
                key: e.key,
                message: e.message,
            })?;
        let props = providers.resolve(&props).map_err(|e| WorkerConfigError {
            key: e.key,
            message: e.message,
        })?;
        let kafka_opts = std::env::var("KAFKA_OPTS").ok();
        let rest = RestServerConfig::from_props(&props, kafka_opts.as_deref())?;
        Ok(WorkerConfig {
            bootstrap_servers: get(&props, "bootstrap.servers")
                .unwrap_or("localhost:9092")
                .to_owned(),
            key_converter: required(&props, "key.converter")?,
            value_converter: required(&props, "value.converter")?,
            header_converter: get(&props, "header.converter")
                .unwrap_or("org.apache.kafka.connect.storage.SimpleHeaderConverter")
                .to_owned(),
            offset_flush_interval_ms: number(&props, "offset.flush.interval.ms", 60_000)?,
            offset_flush_timeout_ms: number(&props, "offset.flush.timeout.ms", 5_000)?,
            task_shutdown_graceful_timeout_ms: number(
                &props,
                "task.shutdown.graceful.timeout.ms",
                5_000,
            )?,
            worker_id: rest.worker_id.clone(),
            rest,
            plugin_path: plugin_path(&props),
            offset_storage_file: get(&props, "offset.storage.file.filename").map(PathBuf::from),
            config_providers: Arc::new(providers),
            client_settings: shared_client_settings(&props)?,
            override_policy: OverridePolicy::parse(get(&props, override_policy::KEY)).map_err(
                |message| WorkerConfigError {
                    key: override_policy::KEY.to_owned(),
                    message,
                },
            )?,
            topic_tracking_enable: boolean(&props, "topic.tracking.enable", true)?,
            topic_tracking_allow_reset: boolean(&props, "topic.tracking.allow.reset", true)?,
            props,
        })
    }

    /// The settings every Kafka client of this worker starts from.
    pub fn base_client_config(&self) -> rdkafka::ClientConfig {
        let mut config = rdkafka::ClientConfig::new();
        for (k, v) in &self.client_settings {
            config.set(k, v);
        }
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config
    }

    /// `<prefix>.*` worker settings with the prefix removed (`producer.`, `consumer.`).
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.props
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect()
    }

    /// The sub-config of a converter (`key.converter.` etc.).
    pub fn converter_config(&self, prefix: &str) -> Props {
        self.prefixed(prefix).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Props {
        [
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("listeners", "http://127.0.0.1:18083"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn defaults_and_listener() {
        let c = WorkerConfig::from_props(base()).unwrap();
        assert_eq!(c.rest.listeners[0].bind_host(), "127.0.0.1");
        assert_eq!(c.rest.listeners[0].port, 18083);
        assert_eq!(c.worker_id, "127.0.0.1:18083");
        assert_eq!(c.offset_flush_interval_ms, 60_000);
        assert_eq!(c.bootstrap_servers, "localhost:9092");
        assert!(c.topic_tracking_enable);
        assert!(c.topic_tracking_allow_reset);
    }

    #[test]
    fn topic_tracking_booleans_parse_as_java_does() {
        let with = |key: &str, value: &str| {
            let mut p = base();
            p.insert(key.into(), value.into());
            WorkerConfig::from_props(p)
        };
        let c = with("topic.tracking.enable", " FALSE ").unwrap();
        assert!(!c.topic_tracking_enable);
        assert!(c.topic_tracking_allow_reset);
        let c = with("topic.tracking.allow.reset", "False").unwrap();
        assert!(c.topic_tracking_enable);
        assert!(!c.topic_tracking_allow_reset);
        assert!(
            with("topic.tracking.enable", "TRUE")
                .unwrap()
                .topic_tracking_enable
        );
        for bad in ["yes", "1", "", "truee"] {
            for key in ["topic.tracking.enable", "topic.tracking.allow.reset"] {
                let e = with(key, bad).unwrap_err();
                assert_eq!(e.key, key, "{bad:?}");
                assert!(e.message.contains("either true or false"), "{e}");
            }
        }
    }

    #[test]
    fn errors_name_the_key() {
        let mut p = base();
        p.remove("value.converter");
        assert_eq!(
            WorkerConfig::from_props(p).unwrap_err().key,
            "value.converter"
        );
        let mut p = base();
        p.insert("offset.flush.interval.ms".into(), "soon".into());
        assert_eq!(
            WorkerConfig::from_props(p).unwrap_err().key,
            "offset.flush.interval.ms"
        );
    }
}
