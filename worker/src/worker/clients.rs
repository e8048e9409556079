//! Kafka client configs for task producers and consumers (connect-compat §3).

use rdkafka::ClientConfig;
use tributary_connector_api::Props;

use crate::config::client_security::{self, ClientConfigError};
use crate::config::WorkerConfig;
use crate::runtime::TaskClients;

/// Sets one layer of settings (`prefix` stripped), Java's names translated to librdkafka's.
fn apply(
    config: &mut ClientConfig,
    entries: Vec<(String, String)>,
    prefix: &str,
) -> Result<(), ClientConfigError> {
    for (k, v) in client_security::to_librdkafka(&entries, prefix)? {
        // Java's serializer settings have no librdkafka equivalent: bytes always.
        if k.ends_with(".serializer") || k.ends_with(".deserializer") {
            continue;
        }
        config.set(k, v);
    }
    Ok(())
}

fn overrides(connector: &Props, prefix: &str) -> Vec<(String, String)> {
    connector
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
        .collect()
}

/// A task producer: the worker's `producer.*` settings and the connector's
/// `producer.override.*` over `fixed`, which they may override; acknowledged by all replicas.
fn producer(
    worker: &WorkerConfig,
    connector: &Props,
    client_id: String,
    fixed: &[(&str, &str)],
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = worker.base_client_config();
    c.set("client.id", client_id).set("acks", "all");
    for (k, v) in fixed {
        c.set(*k, *v);
    }
    apply(&mut c, worker.prefixed("producer."), "producer.")?;
    apply(
        &mut c,
        overrides(connector, "producer.override."),
        "producer.override.",
    )?;
    Ok(c)
}

/// The source task producer: `acks=all`, one request in flight (ordering), retries forever.
pub fn source_producer(
    worker: &WorkerConfig,
    connector: &Props,
    name: &str,
    task: u32,
) -> Result<ClientConfig, ClientConfigError> {
    producer(
        worker,
        connector,
        format!("connector-producer-{name}-{task}"),
        &[
            ("max.in.flight.requests.per.connection", "1"),
            ("enable.idempotence", "false"),
            // 0 = no delivery timeout, as Java's delivery.timeout.ms = Int.MAX.
            ("message.timeout.ms", "0"),
            // Java's buffer.memory (32 MiB): records waiting for the broker take at most
            // this much, and the source waits for room (librdkafka's default is 1 GiB).
            ("queue.buffering.max.kbytes", "32768"),
        ],
    )
}

/// The producer of an exactly-once source task (KIP-618): the source producer's settings, but
/// idempotent and transactional with `transactional.id = <group.id>-<connector>-<task>`, and
/// librdkafka's delivery timeout (it must not exceed the transaction timeout, so the source
/// producer's "never" does not apply). `transactional.id`, `enable.idempotence=true` and
/// `acks=all` are forced over any override, as Java's worker forces them.
pub fn exactly_once_producer(
    worker: &WorkerConfig,
    connector: &Props,
    name: &str,
    task: u32,
    transactional_id: &str,
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = producer(
        worker,
        connector,
        format!("connector-producer-{name}-{task}"),
        &[("max.in.flight.requests.per.connection", "1")],
    )?;
    crate::storage::transactions::make_transactional(&mut c, transactional_id);
    Ok(c)
}

/// The `transactional.id` of an exactly-once source task: `<group.id>-<connector>-<task>`.
pub fn task_transactional_id(group_id: &str, connector: &str, task: u32) -> String {
    format!("{group_id}-{connector}-{task}")
}

/// The producer of a sink task's dead letter queue.
pub fn dlq_producer(
    worker: &WorkerConfig,
    connector: &Props,
    name: &str,
    task: u32,
) -> Result<ClientConfig, ClientConfigError> {
    producer(
        worker,
        connector,
        format!("connector-dlq-producer-{name}-{task}"),
        &[],
    )
}

/// The consumer group of a sink connector: the connector's `consumer.override.group.id`, else
/// the worker's `consumer.group.id`, else `connect-<name>` (the precedence Java's prefix merging
/// gives). Task consumers and the offsets endpoints both use this.
pub fn sink_group_id(worker: &WorkerConfig, connector: &Props, name: &str) -> String {
    let set = |v: Option<&String>| v.map(|g| g.trim().to_owned()).filter(|g| !g.is_empty());
    set(connector.get("consumer.override.group.id"))
        .or_else(|| set(worker.props.get("consumer.group.id")))
        .unwrap_or_else(|| format!("connect-{name}"))
}

/// The sink task consumer: group `connect-<name>`, manual commits, from the earliest offset,
/// fetching again as soon as the task takes records.
pub fn sink_consumer(
    worker: &WorkerConfig,
    connector: &Props,
    name: &str,
    task: u32,
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = worker.base_client_config();
    c.set("client.id", format!("connector-consumer-{name}-{task}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // librdkafka waits a whole second (its default) before fetching again once its
        // pre-fetch queue is full, which leaves a fast sink idle most of the time; Java's
        // consumer fetches as soon as records are taken. Overridable like any setting.
        .set("fetch.queue.backoff.ms", "10");
    apply(&mut c, worker.prefixed("consumer."), "consumer.")?;
    apply(
        &mut c,
        overrides(connector, "consumer.override."),
        "consumer.override.",
    )?;
    c.set("group.id", sink_group_id(worker, connector, name));
    Ok(c)
}

/// The Kafka client configs of one task.
pub fn task_clients(
    worker: &WorkerConfig,
    connector: &Props,
    name: &str,
    task: u32,
) -> Result<TaskClients, ClientConfigError> {
    Ok(TaskClients {
        producer: source_producer(worker, connector, name, task)?,
        consumer: sink_consumer(worker, connector, name, task)?,
        dlq_producer: dlq_producer(worker, connector, name, task)?,
        admin: worker.base_client_config(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::producer::BaseProducer;

    /// A worker and connector written for Java's clients: librdkafka takes every setting
    /// (translated, or left out where it has no counterpart).
    #[test]
    fn java_client_settings_make_working_clients() {
        let worker: Props = [
            ("bootstrap.servers", "127.0.0.1:9"),
            ("group.id", "g"),
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("listeners", "http://127.0.0.1:18083"),
            ("producer.buffer.memory", "8388608"),
            ("producer.max.block.ms", "60000"),
            ("producer.max.request.size", "2097152"),
            ("producer.send.buffer.bytes", "-1"),
            (
                "producer.interceptor.classes",
                "io.confluent.monitoring.clients.interceptor.MonitoringProducerInterceptor",
            ),
            ("consumer.max.poll.records", "500"),
            ("consumer.fetch.max.wait.ms", "100"),
            (
                "consumer.partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let worker = WorkerConfig::from_props(worker).expect("worker config");
        let connector: Props = [("producer.override.buffer.memory", "4194304")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let producer = source_producer(&worker, &connector, "c", 0).expect("producer config");
        assert_eq!(
            producer.get("queue.buffering.max.kbytes"),
            Some("4096"),
            "the connector's override wins"
        );
        assert_eq!(producer.get("message.max.bytes"), Some("2097152"));
        assert!(producer.get("interceptor.classes").is_none());
        producer
            .create::<BaseProducer>()
            .expect("librdkafka takes it");
        let consumer = sink_consumer(&worker, &connector, "c", 0).expect("consumer config");
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("100"));
        assert_eq!(
            consumer.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        consumer
            .create::<BaseConsumer>()
            .expect("librdkafka takes it");
        let bad: Props = [("producer.override.buffer.memory", "lots")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let e = source_producer(&worker, &bad, "c", 0).unwrap_err();
        assert_eq!(e.key, "producer.override.buffer.memory");
    }
}
