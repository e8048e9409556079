//! The framework keys of every connector config (Kafka's `ConnectorConfig`,
//! `SinkConnectorConfig`, `SourceConnectorConfig`): declared once here, they drive validation,
//! the REST config listing and typed access.

use tributary_connector_api::config::{
    ConfigKey, ConfigType, Default, Importance, Validator, Width,
};
use tributary_connector_api::{abi::ConnectorKind, ConfigDef, ConfigValueInfo, Props};

pub const NAME: &str = "name";
pub const CONNECTOR_CLASS: &str = "connector.class";
pub const TASKS_MAX: &str = "tasks.max";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const TOPICS: &str = "topics";
pub const TOPICS_REGEX: &str = "topics.regex";
/// Source connectors (KIP-618): `requested` or `required`.
pub const EXACTLY_ONCE_SUPPORT: &str = "exactly.once.support";
/// Source connectors (KIP-618): `poll`, `interval` or `connector`.
pub const TRANSACTION_BOUNDARY: &str = "transaction.boundary";
/// Source connectors (KIP-618): the interval of `transaction.boundary=interval`.
pub const TRANSACTION_BOUNDARY_INTERVAL_MS: &str = "transaction.boundary.interval.ms";
/// Source connectors (KIP-618): the connector's own offsets topic.
pub const OFFSETS_STORAGE_TOPIC: &str = "offsets.storage.topic";

const COMMON: &str = "Common";
const ERRORS: &str = "Error Handling";

fn key(name: &str, t: ConfigType, d: Default, imp: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t, d, imp, doc)
}

fn common_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    let null = || Default::Null;
    let val = |s: &str| Default::Value(s.to_owned());
    ConfigDef::new()
        .define(
            key(NAME, String, Default::Required, High, "Globally unique name to use for this connector.")
                .validator(Validator::NonEmptyString)
                .group(COMMON, 1)
                .width(Width::Medium)
                .display_name("Connector name"),
        )
        .define(
            key(CONNECTOR_CLASS, String, Default::Required, High,
                "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector.")
                .group(COMMON, 2)
                .width(Width::Long)
                .display_name("Connector class"),
        )
        .define(
            key(TASKS_MAX, Int, val("1"), High, "Maximum number of tasks to use for this connector.")
                .validator(Validator::AtLeast(1.0))
                .group(COMMON, 3)
                .width(Width::Short)
                .display_name("Tasks max"),
        )
        .define(
            key("tasks.max.enforce", Boolean, val("true"), Low,
                "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector.")
                .group(COMMON, 4).width(Width::Short).display_name("Enforce tasks max"),
        )
        .define(
            key(KEY_CONVERTER, Class, null(), Low,
                "Converter class used to convert between Kafka Connect format and the serialized form written to Kafka; overrides the worker setting.")
                .group(COMMON, 5).width(Width::Short).display_name("Key converter class"),
        )
        .define(
            key(VALUE_CONVERTER, Class, null(), Low,
                "Converter class for record values; overrides the worker setting.")
                .group(COMMON, 6).width(Width::Short).display_name("Value converter class"),
        )
        .define(
            key(HEADER_CONVERTER, Class, null(), Low,
                "HeaderConverter class for record headers; overrides the worker setting.")
                .group(COMMON, 7).width(Width::Short).display_name("Header converter class"),
        )
        .define(
            key("transforms", List, val(""), Low, "Aliases for the transformations to be applied to records.")
                .group("Transforms", 8).width(Width::Long).display_name("Transforms"),
        )
        .define(
            key("predicates", List, val(""), Low, "Aliases for the predicates used by transformations.")
                .group("Predicates", 9).width(Width::Long).display_name("Predicates"),
        )
        .define(
            key("config.action.reload", String, val("restart"), Low,
                "What to do when a config provider reports a changed value: restart or none.")
                .validator(Validator::OneOf(vec!["none".into(), "restart".into()], true))
                .group(COMMON, 10).width(Width::Medium).display_name("Reload Action"),
        )
        .define(
            key("errors.retry.timeout", Long, val("0"), Medium,
                "Maximum duration in milliseconds that a failed operation is retried; 0 means no retries, -1 infinite.")
                .group(ERRORS, 1).width(Width::Medium).display_name("Retry Timeout for Errors"),
        )
        .define(
            key("errors.retry.delay.max.ms", Long, val("60000"), Medium,
                "Maximum duration in milliseconds between consecutive retry attempts.")
                .group(ERRORS, 2).width(Width::Medium).display_name("Maximum Delay Between Retries for Errors"),
        )
        .define(
            key("errors.tolerance", String, val("none"), Medium,
                "Behavior for tolerating errors during connector operation: none fails the task, all skips problematic records.")
                .validator(Validator::OneOf(vec!["none".into(), "all".into()], true))
                .group(ERRORS, 3).width(Width::Short).display_name("Error Tolerance"),
        )
        .define(
            key("errors.log.enable", Boolean, val("false"), Medium,
                "Log each error with the failed operation and the problematic record.")
                .group(ERRORS, 4).width(Width::Short).display_name("Log Errors"),
        )
        .define(
            key("errors.log.include.messages", Boolean, val("false"), Medium,
                "Include the record in the error log.")
                .group(ERRORS, 5).width(Width::Short).display_name("Log Error Details"),
        )
}

/// The framework definition for a connector of `kind`.
pub fn framework_def(kind: ConnectorKind) -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    let mut def = common_def();
    match kind {
        ConnectorKind::Sink => {
            def = def
                .define(
                    key(TOPICS, List, Default::Value(std::string::String::new()), High,
                        "List of topics to consume, separated by commas.")
                        .group(COMMON, 4).width(Width::Long).display_name("Topics"),
                )
                .define(
                    key(TOPICS_REGEX, String, Default::Value(std::string::String::new()), High,
                        "Regular expression giving topics to consume. Only one of topics or topics.regex should be specified.")
                        .group(COMMON, 4).width(Width::Long).display_name("Topics regex"),
                )
                .define(
                    key("errors.deadletterqueue.topic.name", String, Default::Value(std::string::String::new()), Medium,
                        "The name of the topic to be used as the dead letter queue for messages that fail processing.")
                        .group(ERRORS, 6).width(Width::Medium).display_name("Dead Letter Queue Topic Name"),
                )
                .define(
                    key("errors.deadletterqueue.topic.replication.factor", Short, Default::Value("3".into()), Medium,
                        "Replication factor used to create the dead letter queue topic when it doesn't already exist.")
                        .group(ERRORS, 7).width(Width::Medium).display_name("Dead Letter Queue Topic Replication Factor"),
                )
                .define(
                    key("errors.deadletterqueue.context.headers.enable", Boolean, Default::Value("false".into()), Medium,
                        "Add headers with error context to the records written to the dead letter queue.")
                        .group(ERRORS, 8).width(Width::Medium).display_name("Enable Error Context Headers"),
                );
        }
        ConnectorKind::Source => {
            def = def
                .define(
                    key(EXACTLY_ONCE_SUPPORT, String, Default::Value("requested".into()), Medium,
                        "Whether exactly-once guarantees are required for this connector: requested or required.")
                        .validator(Validator::OneOf(vec!["requested".into(), "required".into()], true))
                        .group("Exactly Once Support", 1).width(Width::Short).display_name("Exactly once support"),
                )
                .define(
                    key(TRANSACTION_BOUNDARY, String, Default::Value("poll".into()), Medium,
                        "Where transactions are committed: poll, interval or connector.")
                        .validator(Validator::OneOf(vec!["poll".into(), "interval".into(), "connector".into()], true))
                        .group("Exactly Once Support", 2).width(Width::Short).display_name("Transaction Boundary"),
                )
                .define(
                    key(TRANSACTION_BOUNDARY_INTERVAL_MS, Long, Default::Null, Low,
                        "With transaction.boundary=interval, how often transactions are committed; unset means the worker's offset.flush.interval.ms.")
                        .validator(Validator::AtLeast(0.0))
                        .group("Exactly Once Support", 3).width(Width::Short).display_name("Transaction boundary interval"),
                )
                .define(
                    key(OFFSETS_STORAGE_TOPIC, String, Default::Null, Low,
                        "The name of a separate offsets topic to use for this connector.")
                        .validator(Validator::NonEmptyString)
                        .group("offsets.topic", 1).width(Width::Long).display_name("Offsets topic"),
                );
        }
    }
    def
}

/// Why `name` cannot be a Kafka topic name (Kafka's `Topic.validate`), if it cannot.
pub fn illegal_topic_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Some("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return Some(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII \
             alphanumerics, '.', '_' and '-'"
        ));
    }
    None
}

/// Checks the framework rules across keys (sink topics, a source connector's offsets topic)
/// and returns extra errors as `(key, message)`.
pub fn cross_checks(kind: ConnectorKind, props: &Props) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if kind == ConnectorKind::Source {
        let topic = props.get(OFFSETS_STORAGE_TOPIC).map(|s| s.trim());
        if let Some(why) = topic.filter(|t| !t.is_empty()).and_then(illegal_topic_name) {
            errors.push((
                OFFSETS_STORAGE_TOPIC.to_owned(),
                format!(
                    "Invalid value {} for configuration {OFFSETS_STORAGE_TOPIC}: {why}",
                    topic.unwrap_or_default()
                ),
            ));
        }
    }
    if kind == ConnectorKind::Sink {
        let topics = props
            .get(TOPICS)
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false);
        let regex = props
            .get(TOPICS_REGEX)
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false);
        match (topics, regex) {
            (true, true) => {
                let msg =
                    "topics and topics.regex are mutually exclusive options, but both are set.";
                errors.push((TOPICS.to_owned(), msg.to_owned()));
                errors.push((TOPICS_REGEX.to_owned(), msg.to_owned()));
            }
            (false, false) => {
                let msg = "Must configure one of topics or topics.regex";
                errors.push((TOPICS.to_owned(), msg.to_owned()));
                errors.push((TOPICS_REGEX.to_owned(), msg.to_owned()));
            }
            _ => {}
        }
        if regex {
            if let Some(r) = props.get(TOPICS_REGEX) {
                if let Err(e) = regex::Regex::new(r) {
                    errors.push((TOPICS_REGEX.to_owned(), format!("Invalid regex: {e}")));
                }
            }
        }
        let dlq = props
            .get("errors.deadletterqueue.topic.name")
            .map(|s| s.trim())
            .unwrap_or("");
        if !dlq.is_empty()
            && props
                .get(TOPICS)
                .map(|t| t.split(',').any(|x| x.trim() == dlq))
                .unwrap_or(false)
        {
            errors.push((
                "errors.deadletterqueue.topic.name".to_owned(),
                format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics=...') consumed by the connector"),
            ));
        }
        let dlq_matches_regex = props
            .get(TOPICS_REGEX)
            .filter(|r| !dlq.is_empty() && !r.trim().is_empty())
            .and_then(|r| regex::Regex::new(&format!("^(?:{r})$")).ok())
            .is_some_and(|r| r.is_match(dlq));
        if dlq_matches_regex {
            errors.push((
                "errors.deadletterqueue.topic.name".to_owned(),
                format!("The DLQ topic '{dlq}' may not be included in the regex matching the topics ('topics.regex=...') consumed by the connector"),
            ));
        }
    }
    errors
}

/// Merges cross-check errors into validation results.
pub fn apply_cross_checks(values: &mut [ConfigValueInfo], errors: Vec<(String, String)>) {
    for (key, message) in errors {
        if let Some(v) = values.iter_mut().find(|v| v.name == key) {
            if !v.errors.contains(&message) {
                v.errors.push(message);
            }
        }
    }
}

/// `transaction.boundary` (KIP-618): where a source task's transactions end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBoundary {
    /// One transaction per batch of records the task polled (the default).
    Poll,
    /// A transaction every `transaction.boundary.interval.ms`.
    Interval,
    /// The connector defines the boundaries (refused by validation: no connector can yet).
    Connector,
}

/// The source-only framework settings of KIP-618, parsed leniently (validation has checked
/// them already; a value it would refuse reads as the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSettings {
    /// `exactly.once.support=required`.
    pub exactly_once_required: bool,
    pub transaction_boundary: TransactionBoundary,
    /// `transaction.boundary.interval.ms`, if set.
    pub transaction_boundary_interval_ms: Option<u64>,
    /// `offsets.storage.topic`, if set.
    pub offsets_topic: Option<String>,
}

impl SourceSettings {
    pub fn from_props(props: &Props) -> SourceSettings {
        let get = |k: &str| {
            props
                .get(k)
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
        };
        SourceSettings {
            exactly_once_required: get(EXACTLY_ONCE_SUPPORT).as_deref() == Some("required"),
            transaction_boundary: match get(TRANSACTION_BOUNDARY).as_deref() {
                Some("interval") => TransactionBoundary::Interval,
                Some("connector") => TransactionBoundary::Connector,
                _ => TransactionBoundary::Poll,
            },
            transaction_boundary_interval_ms: get(TRANSACTION_BOUNDARY_INTERVAL_MS)
                .and_then(|v| v.parse().ok()),
            offsets_topic: props
                .get(OFFSETS_STORAGE_TOPIC)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        }
    }
}

/// The framework settings a running connector needs, parsed.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    pub name: String,
    pub class: String,
    pub tasks_max: usize,
    pub key_converter: Option<String>,
    pub value_converter: Option<String>,
    pub header_converter: Option<String>,
    pub topics: Vec<String>,
    pub topics_regex: Option<String>,
}

impl ConnectorSettings {
    pub fn from_props(props: &Props) -> ConnectorSettings {
        let get = |k: &str| {
            props
                .get(k)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        ConnectorSettings {
            name: get(NAME).unwrap_or_default(),
            class: get(CONNECTOR_CLASS).unwrap_or_default(),
            tasks_max: get(TASKS_MAX).and_then(|t| t.parse().ok()).unwrap_or(1),
            key_converter: get(KEY_CONVERTER),
            value_converter: get(VALUE_CONVERTER),
            header_converter: get(HEADER_CONVERTER),
            topics: props
                .get(TOPICS)
                .map(|t| tributary_connector_api::config::split_list(t))
                .unwrap_or_default(),
            topics_regex: get(TOPICS_REGEX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_needs_exactly_one_of_topics_and_regex() {
        let mut p = Props::new();
        assert_eq!(cross_checks(ConnectorKind::Sink, &p).len(), 2);
        p.insert(TOPICS.into(), "a".into());
        assert!(cross_checks(ConnectorKind::Sink, &p).is_empty());
        p.insert(TOPICS_REGEX.into(), "a.*".into());
        assert_eq!(cross_checks(ConnectorKind::Sink, &p).len(), 2);
        p.remove(TOPICS);
        p.insert("errors.deadletterqueue.topic.name".into(), "a-dlq".into());
        let errors = cross_checks(ConnectorKind::Sink, &p);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "errors.deadletterqueue.topic.name");
        p.insert("errors.deadletterqueue.topic.name".into(), "dlq".into());
        assert!(cross_checks(ConnectorKind::Sink, &p).is_empty());
        assert!(cross_checks(ConnectorKind::Source, &Props::new()).is_empty());
    }

    fn source(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The errors framework validation gives a source config, as (key, message).
    fn source_errors(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let props = source(pairs);
        let mut values = framework_def(ConnectorKind::Source).validate(&props);
        apply_cross_checks(&mut values, cross_checks(ConnectorKind::Source, &props));
        values
            .into_iter()
            .flat_map(|v| {
                let name = v.name.clone();
                v.errors.into_iter().map(move |e| (name.clone(), e))
            })
            .collect()
    }

    #[test]
    fn exactly_once_keys_validate_naming_their_key() {
        let ok = [("name", "c"), ("connector.class", "X")];
        assert!(source_errors(&ok).is_empty(), "{:?}", source_errors(&ok));
        let with = |k: &'static str, v: &'static str| {
            let mut pairs = ok.to_vec();
            pairs.push((k, v));
            source_errors(&pairs)
        };
        for (key, good, bad) in [
            (EXACTLY_ONCE_SUPPORT, "REQUIRED", "always"),
            (TRANSACTION_BOUNDARY, "Interval", "sometimes"),
            (TRANSACTION_BOUNDARY_INTERVAL_MS, "250", "-1"),
            (TRANSACTION_BOUNDARY_INTERVAL_MS, "0", "soon"),
            (OFFSETS_STORAGE_TOPIC, "my-offsets.v2_x", "bad topic!"),
            (OFFSETS_STORAGE_TOPIC, "o", ".."),
            (OFFSETS_STORAGE_TOPIC, "p", ""),
        ] {
            assert!(
                with(key, good).is_empty(),
                "{key}={good}: {:?}",
                with(key, good)
            );
            let errors = with(key, bad);
            assert_eq!(errors.len(), 1, "{key}={bad}: {errors:?}");
            assert_eq!(errors[0].0, key, "{errors:?}");
        }
        let long = "t".repeat(250);
        assert!(illegal_topic_name(&long).is_some());
        assert!(illegal_topic_name(&long[..249]).is_none());
    }

    #[test]
    fn source_settings_parse_with_defaults() {
        let s = SourceSettings::from_props(&Props::new());
        assert_eq!(
            s,
            SourceSettings {
                exactly_once_required: false,
                transaction_boundary: TransactionBoundary::Poll,
                transaction_boundary_interval_ms: None,
                offsets_topic: None,
            }
        );
        let s = SourceSettings::from_props(&source(&[
            (EXACTLY_ONCE_SUPPORT, "Required"),
            (TRANSACTION_BOUNDARY, "INTERVAL"),
            (TRANSACTION_BOUNDARY_INTERVAL_MS, " 750 "),
            (OFFSETS_STORAGE_TOPIC, " conn-offsets "),
        ]));
        assert!(s.exactly_once_required);
        assert_eq!(s.transaction_boundary, TransactionBoundary::Interval);
        assert_eq!(s.transaction_boundary_interval_ms, Some(750));
        assert_eq!(s.offsets_topic.as_deref(), Some("conn-offsets"));
        assert_eq!(
            SourceSettings::from_props(&source(&[(TRANSACTION_BOUNDARY, "connector")]))
                .transaction_boundary,
            TransactionBoundary::Connector
        );
    }
}
