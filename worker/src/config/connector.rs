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
                    key("exactly.once.support", String, Default::Value("requested".into()), Medium,
                        "Whether exactly-once guarantees are required for this connector: requested or required.")
                        .validator(Validator::OneOf(vec!["requested".into(), "required".into()], true))
                        .group("Exactly Once Support", 1).width(Width::Short).display_name("Exactly once support"),
                )
                .define(
                    key("transaction.boundary", String, Default::Value("poll".into()), Medium,
                        "Where transactions are committed: poll, interval or connector.")
                        .validator(Validator::OneOf(vec!["poll".into(), "interval".into(), "connector".into()], true))
                        .group("Exactly Once Support", 2).width(Width::Short).display_name("Transaction Boundary"),
                )
                .define(
                    key("offsets.storage.topic", String, Default::Null, Low,
                        "The name of a separate offsets topic to use for this connector.")
                        .group("offsets.topic", 1).width(Width::Long).display_name("Offsets topic"),
                );
        }
    }
    def
}

/// Checks the framework rules across keys (sink topics) and returns extra errors as
/// `(key, message)`.
pub fn cross_checks(kind: ConnectorKind, props: &Props) -> Vec<(String, String)> {
    let mut errors = Vec::new();
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
}
