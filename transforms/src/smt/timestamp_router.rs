//! `org.apache.kafka.connect.transforms.TimestampRouter`: the topic becomes `topic.format`
//! with `${topic}` replaced by the original topic and `${timestamp}` by the record's
//! timestamp formatted with the Java `SimpleDateFormat` pattern `timestamp.format`, in UTC
//! (for sinks that name tables or indexes per day, e.g. `orders-20240115`). A record without
//! a timestamp is an error.

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::smt::date_format::JavaDateFormat;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.TimestampRouter";

const TOPIC_FORMAT: &str = "topic.format";
const TIMESTAMP_FORMAT: &str = "timestamp.format";

/// The single class (no `$Key` / `$Value` variants).
pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(
        CLASS,
        config_def,
        TimestampRouter::create,
    )]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(config::with_default(
            TOPIC_FORMAT,
            ConfigType::String,
            "${topic}-${timestamp}",
            Importance::High,
            "Format string which can contain ${topic} and ${timestamp} as placeholders for the \
             topic and timestamp, respectively.",
        ))
        .define(config::with_default(
            TIMESTAMP_FORMAT,
            ConfigType::String,
            "yyyyMMdd",
            Importance::High,
            "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.",
        ))
}

/// Rewrites the topic from the record timestamp.
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: JavaDateFormat,
}

impl TimestampRouter {
    fn create(_: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let topic_format = cfg.get_string(TOPIC_FORMAT).unwrap_or_default();
        let pattern = cfg.get(TIMESTAMP_FORMAT).unwrap_or_default();
        let timestamp_format = JavaDateFormat::parse_pattern(pattern)
            .map_err(|why| config::invalid(TIMESTAMP_FORMAT, pattern, why))?;
        Ok(Box::new(TimestampRouter {
            topic_format,
            timestamp_format,
        }))
    }
}

impl Transformation for TimestampRouter {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let Some(timestamp) = record.timestamp() else {
            return Err(TransformError::new(format!(
                "Timestamp missing on record: topic '{}', partition {}",
                record.topic(),
                record
                    .kafka_partition()
                    .map_or_else(|| "null".to_owned(), |p| p.to_string())
            )));
        };
        let formatted = self
            .timestamp_format
            .format_millis(timestamp)
            .map_err(TransformError::new)?;
        // Java replaces `${topic}` first, then `${timestamp}` in the result.
        let topic = self
            .topic_format
            .replace("${topic}", record.topic())
            .replace("${timestamp}", &formatted);
        record.set_topic(topic);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{Schema, Value};

    use super::*;
    use crate::smt::testing::{apply, build, sink, source, transform};

    fn routed(pairs: &[(&str, &str)], topic: &str, timestamp: i64) -> String {
        let mut t = transform(CLASS, pairs);
        let mut r = source(topic, None, Value::Null, None, Value::Null);
        r.timestamp = Some(timestamp);
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        r.topic
    }

    #[test]
    fn default_configuration() {
        // Java's test: 2017-01-03T06:30:01.864Z.
        assert_eq!(routed(&[], "test", 1_483_425_001_864), "test-20170103");
    }

    #[test]
    fn custom_formats() {
        let t = 1_700_000_000_000; // 2023-11-14T22:13:20Z
        assert_eq!(
            routed(
                &[
                    ("topic.format", "${topic}_${timestamp}"),
                    ("timestamp.format", "yyyy-MM-dd-HH")
                ],
                "orders",
                t
            ),
            "orders_2023-11-14-22"
        );
        assert_eq!(
            routed(
                &[
                    ("topic.format", "logs.${timestamp}"),
                    ("timestamp.format", "yyyy.MM")
                ],
                "ignored",
                t
            ),
            "logs.2023.11"
        );
        // Every occurrence is replaced; text without placeholders is kept as it is.
        assert_eq!(
            routed(
                &[("topic.format", "${topic}-${topic}-${timestamp}${timestamp}")],
                "a",
                t
            ),
            "a-a-2023111420231114"
        );
        assert_eq!(routed(&[("topic.format", "fixed")], "a", t), "fixed");
        // UTC, also before the epoch.
        assert_eq!(routed(&[], "t", -1), "t-19691231");
        // Quoted literals in the pattern.
        assert_eq!(
            routed(&[("timestamp.format", "'week-of-'yyyyMMdd")], "t", t),
            "t-week-of-20231114"
        );
    }

    #[test]
    fn sink_records_keep_key_value_and_schemas() {
        let mut t = transform(CLASS, &[]);
        let mut r = sink(
            "events",
            Some(Schema::string()),
            Value::from("k"),
            Some(Schema::int64()),
            Value::Int64(1),
        );
        r.timestamp = Some(1_483_425_001_864);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.topic, "events-20170103");
        assert_eq!(r.key, Value::from("k"));
        assert_eq!(r.value, Value::Int64(1));
        assert_eq!(r.kafka_partition, 0);
        assert_eq!(r.value_schema, Some(Schema::int64()));
    }

    #[test]
    fn a_record_without_timestamp_is_an_error() {
        let mut t = transform(CLASS, &[]);
        let mut r = source("t", None, Value::Null, None, Value::Null);
        let err = t.apply(&mut r).unwrap_err();
        assert!(err.message.contains("Timestamp missing"), "{}", err.message);
        assert!(!err.retriable);
        assert_eq!(r.topic, "t");
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[("timestamp.format", "bad-format")]), TIMESTAMP_FORMAT);
        assert_eq!(key(&[("timestamp.format", "yyyy'")]), TIMESTAMP_FORMAT);
        assert_eq!(key(&[("timestamp.format", "YYYY-ww")]), TIMESTAMP_FORMAT);
        let err = build(CLASS, &[("timestamp.format", "bad-format")])
            .err()
            .unwrap();
        assert!(err.message.contains("bad-format"), "{}", err.message);
        // An empty pattern formats as nothing.
        assert_eq!(routed(&[("timestamp.format", "")], "t", 0), "t-");
    }
}
