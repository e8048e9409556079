//! Java client settings that librdkafka names differently, takes in other units, or has no
//! use for (Java classes, JMX metrics): a worker or connector config written for Java's
//! clients (`producer.buffer.memory`, `consumer.max.poll.records`, …) starts unchanged.
//! Settings not listed here pass through as they are (librdkafka accepts most Java names).

/// What becomes of one Java client setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated {
    /// librdkafka's name and value for it.
    Set(String, String),
    /// Nothing in librdkafka does it (a JVM concern, or the worker's own job); the reason.
    Dropped(&'static str),
    /// Not a setting this table knows: passed through unchanged.
    Unchanged,
}

/// Settings with no librdkafka counterpart, and why they do not matter here.
const DROPPED: &[(&str, &str)] = &[
    (
        "max.block.ms",
        "the worker waits for room in the producer's queue itself",
    ),
    (
        "max.poll.records",
        "the worker sizes its own batches from what the consumer has fetched",
    ),
    ("default.api.timeout.ms", "a Java consumer API timeout"),
    (
        "exclude.internal.topics",
        "only subscriptions by pattern read other topics, and the worker's name their topics",
    ),
    ("metric.reporters", "Java metrics reporters (JMX)"),
    ("metrics.sample.window.ms", "Java client metrics"),
    ("metrics.num.samples", "Java client metrics"),
    ("metrics.recording.level", "Java client metrics"),
    ("auto.include.jmx.reporter", "Java client metrics"),
    (
        "partitioner.class",
        "a Java class; the worker's producers partition keys as Java's default partitioner does",
    ),
    (
        "interceptor.classes",
        "Java interceptor classes cannot be loaded; records are sent without them",
    ),
];

/// librdkafka's form of a Java client setting (key without `producer.`/`consumer.` prefix).
/// An error names what is wrong with the value.
pub fn translate(key: &str, value: &str) -> Result<Translated, String> {
    let set = |k: &str, v: String| Ok(Translated::Set(k.to_owned(), v));
    let number = || -> Result<i64, String> {
        value
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("'{value}' is not a number"))
    };
    match key {
        // Bytes in Java, kibibytes in librdkafka.
        "buffer.memory" => {
            let bytes = number()?;
            if bytes < 1 {
                return Err("must be at least 1 byte".into());
            }
            set(
                "queue.buffering.max.kbytes",
                (bytes / 1024 + i64::from(bytes % 1024 != 0)).to_string(),
            )
        }
        "max.request.size" => set("message.max.bytes", number()?.to_string()),
        // -1 is the OS default in Java, 0 in librdkafka.
        "send.buffer.bytes" | "receive.buffer.bytes" => {
            let n = number()?;
            let name = if key == "send.buffer.bytes" {
                "socket.send.buffer.bytes"
            } else {
                "socket.receive.buffer.bytes"
            };
            set(name, if n < 0 { 0 } else { n }.to_string())
        }
        "fetch.max.wait.ms" => set("fetch.wait.max.ms", number()?.to_string()),
        "compression.gzip.level" | "compression.lz4.level" | "compression.zstd.level" => {
            set("compression.level", number()?.to_string())
        }
        "partition.assignment.strategy" => assignors(value),
        _ => Ok(DROPPED
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(Translated::Unchanged, |(_, why)| Translated::Dropped(why))),
    }
}

/// Java's assignor classes as librdkafka's strategy names.
fn assignors(value: &str) -> Result<Translated, String> {
    let mut names = Vec::new();
    for class in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let short = class.rsplit('.').next().unwrap_or(class);
        let name = match short {
            "RangeAssignor" | "range" => "range",
            "RoundRobinAssignor" | "roundrobin" => "roundrobin",
            "CooperativeStickyAssignor" | "cooperative-sticky" => "cooperative-sticky",
            _ => {
                return Err(format!(
                    "'{class}' is not an assignor librdkafka has (RangeAssignor, \
                     RoundRobinAssignor or CooperativeStickyAssignor)"
                ))
            }
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Ok(Translated::Dropped("no assignor named"));
    }
    Ok(Translated::Set(
        "partition.assignment.strategy".into(),
        names.join(","),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> Result<Translated, String> {
        Ok(Translated::Set(k.into(), v.into()))
    }

    #[test]
    fn java_names_and_units_become_librdkafkas() {
        assert_eq!(
            translate("buffer.memory", "33554432"),
            set("queue.buffering.max.kbytes", "32768")
        );
        assert_eq!(
            translate("buffer.memory", "1000"),
            set("queue.buffering.max.kbytes", "1")
        );
        assert_eq!(
            translate("max.request.size", "1048576"),
            set("message.max.bytes", "1048576")
        );
        assert_eq!(
            translate("send.buffer.bytes", "-1"),
            set("socket.send.buffer.bytes", "0")
        );
        assert_eq!(
            translate("receive.buffer.bytes", "65536"),
            set("socket.receive.buffer.bytes", "65536")
        );
        assert_eq!(
            translate("fetch.max.wait.ms", "500"),
            set("fetch.wait.max.ms", "500")
        );
        assert_eq!(
            translate("compression.zstd.level", "3"),
            set("compression.level", "3")
        );
        assert_eq!(
            translate(
                "partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.RangeAssignor, \
                 org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            ),
            set("partition.assignment.strategy", "range,cooperative-sticky")
        );
    }

    #[test]
    fn java_only_settings_are_dropped_and_others_pass() {
        assert!(matches!(
            translate("max.block.ms", "60000"),
            Ok(Translated::Dropped(_))
        ));
        assert!(matches!(
            translate("interceptor.classes", "io.confluent.monitoring.X"),
            Ok(Translated::Dropped(_))
        ));
        assert_eq!(translate("linger.ms", "5"), Ok(Translated::Unchanged));
        assert_eq!(translate("acks", "all"), Ok(Translated::Unchanged));
    }

    #[test]
    fn bad_values_say_why() {
        assert!(translate("buffer.memory", "lots")
            .unwrap_err()
            .contains("not a number"));
        assert!(translate("buffer.memory", "0").is_err());
        assert!(translate(
            "partition.assignment.strategy",
            "org.apache.kafka.clients.consumer.StickyAssignor"
        )
        .unwrap_err()
        .contains("StickyAssignor"));
    }
}
