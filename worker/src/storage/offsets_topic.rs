//! The Kafka-backed source offset store (connect-compat §2.3). Keys are
//! `["<connector>",{partition}]`; partitions are matched by JSON value, and a partition first
//! read from the topic is re-written under the exact key bytes it was read with, so compaction
//! supersedes records written by Java workers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tributary_connector_api::OffsetMap;

use super::internal_records::{
    decode_offset_value, encode_offset_value, offset_key, parse_offset_key,
};
use super::kafka_log::{java_partition, KafkaLog};
use super::log_tail::LogTail;
use super::{OffsetStore, StorageError};

/// How long a reader waits for the topic's end before answering with what it has.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

struct Entry {
    key: Vec<u8>,
    partition: OffsetMap,
    offset: OffsetMap,
}

/// `(connector, canonical partition JSON)` → entry.
type Offsets = BTreeMap<(String, String), Entry>;

fn canonical(partition: &OffsetMap) -> String {
    serde_json::Value::Object(partition.clone()).to_string()
}

fn lock(offsets: &Mutex<Offsets>) -> std::sync::MutexGuard<'_, Offsets> {
    offsets.lock().unwrap_or_else(|p| p.into_inner())
}

/// Source offsets in the offsets topic.
pub struct KafkaOffsetStore {
    tail: LogTail,
    offsets: Arc<Mutex<Offsets>>,
    topic: String,
    /// The topic's partition count (read when the log opened).
    partitions: i32,
}

impl KafkaOffsetStore {
    pub fn start(log: KafkaLog) -> std::io::Result<Self> {
        let topic = log.topic().to_owned();
        let partitions = i32::try_from(log.partitions().len()).unwrap_or(i32::MAX);
        let offsets = Arc::new(Mutex::new(Offsets::new()));
        let applied = Arc::clone(&offsets);
        let tail = LogTail::spawn(log, move |records| {
            let mut offsets = lock(&applied);
            for record in records {
                let Some(key) = record.key else { continue };
                let Some((connector, partition)) = parse_offset_key(&key) else {
                    tracing::debug!(
                        offset = record.offset,
                        "skipping offset record with an unexpected key"
                    );
                    continue;
                };
                let id = (connector, canonical(&partition));
                match decode_offset_value(record.value.as_deref()) {
                    Ok(Some(offset)) => {
                        offsets.insert(
                            id,
                            Entry {
                                key,
                                partition,
                                offset,
                            },
                        );
                    }
                    Ok(None) => {
                        offsets.remove(&id);
                    }
                    Err(e) => {
                        tracing::warn!(offset = record.offset, error = %e, "skipping offset record")
                    }
                }
            }
        })?;
        Ok(KafkaOffsetStore {
            tail,
            offsets,
            topic,
            partitions,
        })
    }

    /// The offsets topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The key a partition's offset is written under: the exact bytes it was last read with
    /// (so compaction supersedes a Java worker's record), else Kafka Connect's encoding.
    pub fn key_for(&self, connector: &str, partition: &OffsetMap) -> Vec<u8> {
        let id = (connector.to_owned(), canonical(partition));
        lock(&self.offsets)
            .get(&id)
            .map(|e| e.key.clone())
            .unwrap_or_else(|| offset_key(connector, partition))
    }

    /// The partition of the topic a key belongs to (Java's default partitioner).
    pub fn partition_for(&self, key: &[u8]) -> i32 {
        java_partition(key, self.partitions)
    }

    /// Applies offsets written elsewhere (by a transaction that committed) to the store's view
    /// at once, before its reader reaches them.
    pub fn remember(&self, connector: &str, entries: &[(OffsetMap, OffsetMap)]) {
        let mut known = lock(&self.offsets);
        for (partition, offset) in entries {
            let id = (connector.to_owned(), canonical(partition));
            let key = known
                .get(&id)
                .map(|e| e.key.clone())
                .unwrap_or_else(|| offset_key(connector, partition));
            known.insert(
                id,
                Entry {
                    key,
                    partition: partition.clone(),
                    offset: offset.clone(),
                },
            );
        }
    }

    fn io(&self, message: impl Into<String>) -> StorageError {
        StorageError::Io {
            path: self.topic.clone(),
            message: message.into(),
        }
    }
}

impl OffsetStore for KafkaOffsetStore {
    fn offsets(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StorageError> {
        self.tail
            .read_to_end_blocking(READ_TIMEOUT)
            .map_err(|e| self.io(format!("cannot read to the end: {e}")))?;
        Ok(lock(&self.offsets)
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|(_, e)| (e.partition.clone(), e.offset.clone()))
            .collect())
    }

    fn put(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StorageError> {
        let mut acks = Vec::with_capacity(entries.len());
        {
            let known = lock(&self.offsets);
            for (partition, offset) in entries {
                let id = (connector.to_owned(), canonical(partition));
                let key = known
                    .get(&id)
                    .map(|e| e.key.clone())
                    .unwrap_or_else(|| offset_key(connector, partition));
                let value = offset.as_ref().map(encode_offset_value);
                let ack = self
                    .tail
                    .writer()
                    .send_nowait(&key, value.as_deref())
                    .map_err(|e| self.io(e.to_string()))?;
                acks.push((id, key, partition, offset, ack));
            }
        }
        for (id, key, partition, offset, ack) in acks {
            futures::executor::block_on(ack).map_err(|e| self.io(e.to_string()))?;
            let mut known = lock(&self.offsets);
            match offset {
                Some(offset) => {
                    known.insert(
                        id,
                        Entry {
                            key,
                            partition: partition.clone(),
                            offset: offset.clone(),
                        },
                    );
                }
                None => {
                    known.remove(&id);
                }
            }
        }
        Ok(())
    }
}
