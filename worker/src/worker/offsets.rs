//! Reading and writing a connector's offsets (`GET/PATCH/DELETE /connectors/<name>/offsets`):
//! sink connectors keep them in their consumer group, source connectors in the offset store.
//! The herder checks first that the connector is stopped.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tributary_connector_api::abi::ConnectorRequest;
use tributary_connector_api::Props;

use super::{clients, Worker, WorkerError};
use crate::config::connector::ConnectorSettings;
use crate::config::WorkerConfig;
use crate::model::{ConnectorOffset, ConnectorOffsets, ConnectorType};

pub const ALTERED: &str = "The offsets for this connector have been altered successfully";
pub const RESET: &str = "The offsets for this connector have been reset successfully";

/// A consumer in the sink connector's group (for reading and writing its offsets), with the
/// same client settings as the connector's task consumers.
fn sink_consumer(
    worker: &WorkerConfig,
    name: &str,
    config: &Props,
) -> Result<BaseConsumer, WorkerError> {
    let mut c = clients::sink_consumer(worker, config, name, 0)
        .map_err(|e| WorkerError::BadRequest(e.to_string()))?;
    c.set("client.id", format!("connector-offsets-{name}"));
    c.create()
        .map_err(|e| WorkerError::Internal(format!("cannot create consumer: {e}")))
}

/// The partitions a sink connector reads, from broker metadata.
fn sink_partitions(
    consumer: &BaseConsumer,
    config: &Props,
) -> Result<TopicPartitionList, WorkerError> {
    let settings = ConnectorSettings::from_props(config);
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|e| WorkerError::Internal(format!("cannot read topic metadata: {e}")))?;
    let regex = match &settings.topics_regex {
        Some(r) => Some(
            regex::Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| WorkerError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let mut list = TopicPartitionList::new();
    for topic in metadata.topics() {
        let wanted = match &regex {
            Some(r) => r.is_match(topic.name()),
            None => settings.topics.iter().any(|t| t == topic.name()),
        };
        if wanted {
            for p in topic.partitions() {
                list.add_partition(topic.name(), p.id());
            }
        }
    }
    Ok(list)
}

impl Worker {
    /// `GET /offsets`.
    pub fn read_offsets(
        &self,
        kind: ConnectorType,
        name: &str,
        config: &Props,
    ) -> Result<ConnectorOffsets, WorkerError> {
        if kind != ConnectorType::Sink {
            return Ok(ConnectorOffsets {
                offsets: self
                    .offsets_for(config)?
                    .offsets(name)
                    .map_err(|e| WorkerError::Internal(e.to_string()))?
                    .into_iter()
                    .map(|(partition, offset)| ConnectorOffset {
                        partition,
                        offset: Some(offset),
                    })
                    .collect(),
            });
        }
        {
            let consumer = sink_consumer(&self.config, name, config)?;
            let list = sink_partitions(&consumer, config)?;
            let committed = consumer
                .committed_offsets(list, Duration::from_secs(10))
                .map_err(|e| {
                    WorkerError::Internal(format!("cannot read committed offsets: {e}"))
                })?;
            let offsets = committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(ConnectorOffset {
                    partition: serde_json::json!({"kafka_topic": e.topic(), "kafka_partition": e.partition()})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    offset: serde_json::json!({"kafka_offset": o}).as_object().cloned(),
                }),
                _ => None,
            })
            .collect();
            Ok(ConnectorOffsets { offsets })
        }
    }

    /// `PATCH /offsets` (the caller checked that the connector is stopped).
    pub fn alter_offsets(
        &self,
        kind: ConnectorType,
        name: &str,
        config: &Props,
        offsets: ConnectorOffsets,
    ) -> Result<String, WorkerError> {
        if kind == ConnectorType::Sink {
            let mut parsed = tributary_connector_api::SinkOffsets::new();
            for o in &offsets.offsets {
                let topic = o.partition.get("kafka_topic").and_then(|t| t.as_str());
                let partition = o.partition.get("kafka_partition").and_then(|p| {
                    p.as_i64()
                        .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                });
                let (Some(topic), Some(partition)) = (topic, partition) else {
                    return Err(WorkerError::BadRequest(
                    "Sink connector offsets need kafka_topic and kafka_partition in each partition"
                        .into(),
                ));
                };
                let offset = o
                    .offset
                    .as_ref()
                    .and_then(|m| m.get("kafka_offset"))
                    .and_then(|v| {
                        v.as_i64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    });
                let Some(offset) = offset else {
                    return Err(WorkerError::BadRequest(
                    "Resetting single sink partitions (null offset) is not supported yet; use DELETE /offsets".into(),
                ));
                };
                parsed.insert(
                    tributary_connector_api::TopicPartition::new(topic, partition as i32),
                    offset,
                );
            }
            {
                let mut c = self
                    .plugin_for(config)
                    .map_err(WorkerError::Internal)?
                    .new_connector()
                    .map_err(|e| WorkerError::Internal(e.to_string()))?;
                let consumer = sink_consumer(&self.config, name, config)?;
                c.call(&ConnectorRequest::AlterSinkOffsets(
                    config.clone(),
                    parsed.clone(),
                ))
                .map_err(|e| WorkerError::BadRequest(e.to_string()))?;
                let mut list = TopicPartitionList::new();
                for (tp, o) in &parsed {
                    list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o))
                        .map_err(|e| WorkerError::BadRequest(e.to_string()))?;
                }
                consumer
                    .commit(&list, rdkafka::consumer::CommitMode::Sync)
                    .map_err(|e| WorkerError::Internal(format!("cannot commit offsets: {e}")))?;
            }
        } else {
            let entries: Vec<_> = offsets
                .offsets
                .into_iter()
                .map(|o| (o.partition, o.offset))
                .collect();
            {
                let mut c = self
                    .plugin_for(config)
                    .map_err(WorkerError::Internal)?
                    .new_connector()
                    .map_err(|e| WorkerError::Internal(e.to_string()))?;
                c.call(&ConnectorRequest::AlterSourceOffsets(
                    config.clone(),
                    entries.clone(),
                ))
                .map_err(|e| WorkerError::BadRequest(e.to_string()))?;
                self.offsets_for(config)?
                    .put(name, &entries)
                    .map_err(|e| WorkerError::Internal(e.to_string()))?;
            }
        }
        Ok(ALTERED.into())
    }

    /// `DELETE /offsets` (the caller checked that the connector is stopped).
    pub async fn reset_offsets(
        &self,
        kind: ConnectorType,
        name: &str,
        config: &Props,
    ) -> Result<String, WorkerError> {
        if kind == ConnectorType::Sink {
            let group = clients::sink_group_id(&self.config, config, name);
            let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> = self
                .config
                .base_client_config()
                .create()
                .map_err(|e| WorkerError::Internal(e.to_string()))?;
            let results = admin
                .delete_groups(
                    &[&group],
                    // Bounded: callers may hold a lock while this waits.
                    &rdkafka::admin::AdminOptions::new()
                        .request_timeout(Some(Duration::from_secs(30))),
                )
                .await
                .map_err(|e| {
                    WorkerError::Internal(format!("cannot delete consumer group {group}: {e}"))
                })?;
            for result in results {
                match result {
                    Ok(_) => {}
                    // Nothing was ever committed: nothing to reset.
                    Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
                    Err((g, code)) => {
                        return Err(WorkerError::Internal(format!(
                            "cannot delete consumer group {g}: {code}"
                        )))
                    }
                }
            }
        } else {
            // The store writes durably (a file, or the offsets topic): off the async runtime.
            tokio::task::block_in_place(|| {
                let store = self.offsets_for(config)?;
                let entries: Vec<_> = store
                    .offsets(name)
                    .map_err(|e| WorkerError::Internal(e.to_string()))?
                    .into_iter()
                    .map(|(p, _)| (p, None))
                    .collect();
                store
                    .put(name, &entries)
                    .map_err(|e| WorkerError::Internal(e.to_string()))
            })?;
        }
        Ok(RESET.into())
    }
}
