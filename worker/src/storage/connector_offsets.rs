//! Per-connector offsets topics (KIP-618's `offsets.storage.topic`, connect-compat §9): a
//! source connector may keep its offsets in a topic of its own. Its offsets are then written
//! there first and mirrored to the worker's offsets topic (tombstones go to the worker's topic
//! first), and reads prefer the connector's topic, falling back to the worker's for partitions
//! the connector's topic does not have (as Java's `ConnectorOffsetBackingStore`). Usable with
//! or without exactly-once support.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tributary_connector_api::OffsetMap;

use super::offsets_topic::KafkaOffsetStore;
use super::{OffsetStore, StorageError};

/// A connector's offsets in its own topic (`primary`), mirrored to the worker's (`mirror`).
pub struct ConnectorOffsetStore {
    primary: Arc<dyn OffsetStore>,
    mirror: Arc<dyn OffsetStore>,
}

impl ConnectorOffsetStore {
    pub fn new(primary: Arc<dyn OffsetStore>, mirror: Arc<dyn OffsetStore>) -> Self {
        ConnectorOffsetStore { primary, mirror }
    }
}

fn canonical(partition: &OffsetMap) -> String {
    serde_json::Value::Object(partition.clone()).to_string()
}

impl OffsetStore for ConnectorOffsetStore {
    fn offsets(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StorageError> {
        let own = self.primary.offsets(connector)?;
        let mut merged: BTreeMap<String, (OffsetMap, OffsetMap)> = BTreeMap::new();
        match self.mirror.offsets(connector) {
            Ok(worker) => {
                for (partition, offset) in worker {
                    merged.insert(canonical(&partition), (partition, offset));
                }
            }
            // The connector's own topic is the one that counts; the worker's only fills gaps.
            Err(e) => tracing::warn!(
                connector,
                error = %e,
                "cannot read the worker's offsets topic; using the connector's own only"
            ),
        }
        for (partition, offset) in own {
            merged.insert(canonical(&partition), (partition, offset));
        }
        Ok(merged.into_values().collect())
    }

    fn put(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StorageError> {
        let (tombstones, offsets): (Vec<_>, Vec<_>) =
            entries.iter().cloned().partition(|(_, o)| o.is_none());
        // A removed offset must not come back from the worker's topic: removed there first.
        if !tombstones.is_empty() {
            self.mirror.put(connector, &tombstones)?;
        }
        self.primary.put(connector, entries)?;
        if !offsets.is_empty() {
            if let Err(e) = self.mirror.put(connector, &offsets) {
                tracing::warn!(
                    connector,
                    error = %e,
                    "offsets written to the connector's offsets topic but not mirrored to the worker's"
                );
            }
        }
        Ok(())
    }
}

/// Opens the store of an offsets topic by name (creating the topic if missing).
pub type OpenStore =
    dyn Fn(&str) -> Result<Arc<KafkaOffsetStore>, StorageError> + Send + Sync + 'static;

/// The offsets topics of a distributed worker: its own, and the connectors' own topics, each
/// opened (and read continuously) from the first connector that names it on.
pub struct OffsetTopics {
    worker: Arc<KafkaOffsetStore>,
    open: Box<OpenStore>,
    stores: Mutex<BTreeMap<String, Arc<KafkaOffsetStore>>>,
}

impl OffsetTopics {
    pub fn new(worker: Arc<KafkaOffsetStore>, open: Box<OpenStore>) -> OffsetTopics {
        OffsetTopics {
            worker,
            open,
            stores: Mutex::new(BTreeMap::new()),
        }
    }

    /// The worker's offsets topic.
    pub fn worker(&self) -> &Arc<KafkaOffsetStore> {
        &self.worker
    }

    /// The store of a connector whose `offsets.storage.topic` is `topic` (`None`: unset):
    /// `(where its offsets are written first, the worker's topic they are mirrored to)`; the
    /// mirror is `None` when the connector uses the worker's topic. Blocks while a topic is
    /// opened for the first time.
    pub fn stores(
        &self,
        topic: Option<&str>,
    ) -> Result<(Arc<KafkaOffsetStore>, Option<Arc<KafkaOffsetStore>>), StorageError> {
        let Some(topic) = topic.filter(|t| *t != self.worker.topic()) else {
            return Ok((Arc::clone(&self.worker), None));
        };
        let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
        let store = match stores.get(topic) {
            Some(s) => Arc::clone(s),
            None => {
                let s = (self.open)(topic)?;
                tracing::info!(topic, "opened a connector's offsets topic");
                stores.insert(topic.to_owned(), Arc::clone(&s));
                s
            }
        };
        Ok((store, Some(Arc::clone(&self.worker))))
    }

    /// [`OffsetTopics::stores`] as one [`OffsetStore`].
    pub fn store(&self, topic: Option<&str>) -> Result<Arc<dyn OffsetStore>, StorageError> {
        Ok(match self.stores(topic)? {
            (primary, Some(mirror)) => Arc::new(ConnectorOffsetStore::new(primary, mirror)),
            (worker, None) => worker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The writes of the stores of one test, in order: (store, file, position).
    type WriteLog = Arc<Mutex<Vec<(&'static str, String, Option<i64>)>>>;

    /// An in-memory store that journals its writes into a shared log.
    struct Memory {
        name: &'static str,
        offsets: Mutex<BTreeMap<String, (OffsetMap, OffsetMap)>>,
        log: WriteLog,
        fail_writes: bool,
    }

    impl Memory {
        fn new(name: &'static str, log: &WriteLog) -> Arc<Memory> {
            Arc::new(Memory {
                name,
                offsets: Mutex::new(BTreeMap::new()),
                log: Arc::clone(log),
                fail_writes: false,
            })
        }
    }

    fn file(name: &str) -> OffsetMap {
        json!({ "file": name }).as_object().cloned().unwrap()
    }

    fn pos(p: i64) -> OffsetMap {
        json!({ "position": p }).as_object().cloned().unwrap()
    }

    impl OffsetStore for Memory {
        fn offsets(&self, _connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StorageError> {
            Ok(self.offsets.lock().unwrap().values().cloned().collect())
        }

        fn put(
            &self,
            _connector: &str,
            entries: &[(OffsetMap, Option<OffsetMap>)],
        ) -> Result<(), StorageError> {
            if self.fail_writes {
                return Err(StorageError::Io {
                    path: self.name.into(),
                    message: "down".into(),
                });
            }
            let mut offsets = self.offsets.lock().unwrap();
            for (p, o) in entries {
                let name = p["file"].as_str().unwrap().to_owned();
                self.log.lock().unwrap().push((
                    self.name,
                    name.clone(),
                    o.as_ref().and_then(|o| o["position"].as_i64()),
                ));
                match o {
                    Some(o) => {
                        offsets.insert(name, (p.clone(), o.clone()));
                    }
                    None => {
                        offsets.remove(&name);
                    }
                }
            }
            Ok(())
        }
    }

    #[test]
    fn writes_go_to_the_connector_topic_first_and_tombstones_to_the_worker_topic_first() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (own, worker) = (Memory::new("own", &log), Memory::new("worker", &log));
        let store = ConnectorOffsetStore::new(own.clone(), worker.clone());
        store
            .put("c", &[(file("a"), Some(pos(1))), (file("b"), Some(pos(2)))])
            .unwrap();
        store
            .put("c", &[(file("a"), None), (file("b"), Some(pos(3)))])
            .unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            [
                ("own", "a".into(), Some(1)),
                ("own", "b".into(), Some(2)),
                ("worker", "a".into(), Some(1)),
                ("worker", "b".into(), Some(2)),
                // The tombstone reaches the worker's topic before anything else.
                ("worker", "a".into(), None),
                ("own", "a".into(), None),
                ("own", "b".into(), Some(3)),
                ("worker", "b".into(), Some(3)),
            ]
        );
        assert_eq!(store.offsets("c").unwrap(), [(file("b"), pos(3))]);
    }

    #[test]
    fn reads_prefer_the_connector_topic_and_fall_back_to_the_worker_topic() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (own, worker) = (Memory::new("own", &log), Memory::new("worker", &log));
        // Written by the worker before the connector had its own topic, and since.
        worker
            .put("c", &[(file("a"), Some(pos(5))), (file("b"), Some(pos(9)))])
            .unwrap();
        own.put("c", &[(file("a"), Some(pos(7)))]).unwrap();
        let store = ConnectorOffsetStore::new(own, worker);
        let mut got = store.offsets("c").unwrap();
        got.sort_by_key(|(p, _)| p["file"].as_str().unwrap().to_owned());
        assert_eq!(got, [(file("a"), pos(7)), (file("b"), pos(9))]);
    }

    #[test]
    fn a_mirror_that_cannot_be_written_does_not_fail_the_write() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let own = Memory::new("own", &log);
        let worker = Arc::new(Memory {
            fail_writes: true,
            ..Arc::try_unwrap(Memory::new("worker", &log)).ok().unwrap()
        });
        let store = ConnectorOffsetStore::new(own, worker);
        store.put("c", &[(file("a"), Some(pos(1)))]).unwrap();
        // But a tombstone that cannot reach the worker's topic is an error (the offset would
        // come back from there).
        assert!(store.put("c", &[(file("a"), None)]).is_err());
    }
}
