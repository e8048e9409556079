//! The built-in predicates (`org.apache.kafka.connect.transforms.predicates.*`).

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props};

use crate::config;
use crate::plugin::{Predicate, PredicatePlugin};
use crate::record::ConnectRecord;

pub const HAS_HEADER_KEY: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";
pub const RECORD_IS_TOMBSTONE: &str =
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";
pub const TOPIC_NAME_MATCHES: &str =
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";

/// Every built-in predicate.
pub fn plugins() -> Vec<PredicatePlugin> {
    vec![
        PredicatePlugin {
            class: HAS_HEADER_KEY,
            config_def: has_header_key_def,
            create: HasHeaderKey::create,
        },
        PredicatePlugin {
            class: RECORD_IS_TOMBSTONE,
            config_def: ConfigDef::new,
            create: |_| Ok(Box::new(RecordIsTombstone)),
        },
        PredicatePlugin {
            class: TOPIC_NAME_MATCHES,
            config_def: topic_name_matches_def,
            create: TopicNameMatches::create,
        },
    ]
}

fn has_header_key_def() -> ConfigDef {
    ConfigDef::new().define(
        config::required(
            "name",
            ConfigType::String,
            Importance::Medium,
            "The header name.",
        )
        .validator(Validator::NonEmptyString),
    )
}

/// True when the record has at least one header with the configured key.
pub struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    fn create(props: &Props) -> Result<Box<dyn Predicate>, ConfigError> {
        let cfg = config::parse(&has_header_key_def(), props)?;
        Ok(Box::new(HasHeaderKey {
            name: cfg.get_string("name").unwrap_or_default(),
        }))
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &dyn ConnectRecord) -> bool {
        record.headers().iter().any(|h| h.key == self.name)
    }
}

/// True when the record's value is null (a tombstone).
pub struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &dyn ConnectRecord) -> bool {
        record.value().is_null()
    }
}

fn topic_name_matches_def() -> ConfigDef {
    ConfigDef::new().define(
        config::required(
            "pattern",
            ConfigType::String,
            Importance::Medium,
            "A Java regular expression for matching against the name of a record's topic.",
        )
        .validator(Validator::Regex),
    )
}

/// True when the whole topic name matches the configured regular expression.
pub struct TopicNameMatches {
    pattern: regex::Regex,
}

impl TopicNameMatches {
    fn create(props: &Props) -> Result<Box<dyn Predicate>, ConfigError> {
        let cfg = config::parse(&topic_name_matches_def(), props)?;
        let pattern = cfg.get("pattern").unwrap_or_default();
        if pattern.is_empty() {
            return Err(config::invalid(
                "pattern",
                pattern,
                "String must be non-empty",
            ));
        }
        Ok(Box::new(TopicNameMatches {
            pattern: config::whole_regex("pattern", pattern)?,
        }))
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &dyn ConnectRecord) -> bool {
        self.pattern.is_match(record.topic())
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{Schema, Value};

    use super::*;
    use crate::smt::testing::{props, sink, source};

    fn build(class: &str, pairs: &[(&str, &str)]) -> Result<Box<dyn Predicate>, ConfigError> {
        crate::find_predicate(class).unwrap().build(&props(pairs))
    }

    #[test]
    fn has_header_key_with_and_without_schemas() {
        let p = build(HAS_HEADER_KEY, &[("name", "trace-id")]).unwrap();
        let mut r = sink("t", None, Value::Null, None, Value::from("v"));
        assert!(!p.test(&r));
        r.headers.add("other", None, Value::Null);
        assert!(!p.test(&r));
        r.headers
            .add("trace-id", Some(Schema::string()), Value::from("abc"));
        assert!(p.test(&r));
        // A null header value still counts: the key is present.
        let mut s = source("t", None, Value::Null, None, Value::Null);
        s.headers.add("trace-id", None, Value::Null);
        assert!(p.test(&s));
    }

    #[test]
    fn has_header_key_config_errors() {
        assert_eq!(build(HAS_HEADER_KEY, &[]).err().unwrap().key, "name");
        assert_eq!(
            build(HAS_HEADER_KEY, &[("name", "")]).err().unwrap().key,
            "name"
        );
    }

    #[test]
    fn record_is_tombstone() {
        let p = build("RecordIsTombstone", &[]).unwrap();
        assert!(p.test(&sink("t", None, Value::from("k"), None, Value::Null)));
        let optional = Some(Schema::optional_string());
        assert!(p.test(&sink("t", None, Value::Null, optional.clone(), Value::Null)));
        assert!(!p.test(&sink("t", None, Value::Null, optional, Value::from(""))));
        assert!(!p.test(&source("t", None, Value::Null, None, Value::Int32(0))));
    }

    #[test]
    fn topic_name_matches_the_whole_name() {
        let p = build(TOPIC_NAME_MATCHES, &[("pattern", "orders-.*")]).unwrap();
        assert!(p.test(&sink("orders-eu", None, Value::Null, None, Value::Null)));
        assert!(!p.test(&sink("old-orders-eu", None, Value::Null, None, Value::Null)));
        let p = build(TOPIC_NAME_MATCHES, &[("pattern", "a|b")]).unwrap();
        assert!(p.test(&source("b", None, Value::Null, None, Value::Null)));
        assert!(!p.test(&source("ab", None, Value::Null, None, Value::Null)));
    }

    #[test]
    fn topic_name_matches_config_errors() {
        assert_eq!(build(TOPIC_NAME_MATCHES, &[]).err().unwrap().key, "pattern");
        let err = build(TOPIC_NAME_MATCHES, &[("pattern", "([a-z")])
            .err()
            .unwrap();
        assert_eq!(err.key, "pattern");
        assert!(err.message.contains("([a-z"), "{}", err.message);
    }
}
