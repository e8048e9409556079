//! The Kafka-backed config store (connect-compat §2.2): every worker reads the config topic
//! into a [`ConfigState`]; the leader (and any worker for target states) writes records.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::internal_records::{ConfigChange, ConfigRecord, ConfigState};
use super::kafka_log::{KafkaLog, LogError};
use super::log_tail::LogTail;
use super::transactions::{TransactionalWriter, TxnErrorKind};

/// How long the leader's transactional writer may take to start and to commit one write.
const LEADER_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The leader's transactional producer for the config topic (KIP-618, worker
/// `exactly.once.source.support` `preparing` or `enabled`): opened at the leader's first
/// privileged write, which fences the writer of any earlier leader, and dropped when this
/// worker stops leading or a write fails.
struct LeaderWriter {
    /// The producer config, `transactional.id = connect-cluster-<group.id>` included.
    config: rdkafka::ClientConfig,
    writer: Mutex<Option<Arc<TransactionalWriter>>>,
}

/// The config topic, read continuously.
pub struct ConfigStore {
    tail: LogTail,
    state: Arc<Mutex<ConfigState>>,
    leader: Option<LeaderWriter>,
}

fn lock(state: &Mutex<ConfigState>) -> std::sync::MutexGuard<'_, ConfigState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConfigStore {
    /// Starts reading `log` from the beginning. Every observable change is sent on `changes`
    /// after it has been applied to the state.
    pub fn start(log: KafkaLog, changes: UnboundedSender<ConfigChange>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(ConfigState::new()));
        let applied = Arc::clone(&state);
        let tail = LogTail::spawn(log, move |records| {
            let mut found = Vec::new();
            {
                let mut state = lock(&applied);
                for record in records {
                    let Some(key) = record.key.as_deref().map(String::from_utf8_lossy) else {
                        tracing::warn!(offset = record.offset, "config record without a key");
                        continue;
                    };
                    match state.apply_bytes(record.offset, &key, record.value.as_deref()) {
                        Ok(ConfigChange::None) => {}
                        Ok(change) => found.push(change),
                        Err(e) => {
                            tracing::warn!(offset = record.offset, %key, error = %e, "skipping config record")
                        }
                    }
                }
            }
            for change in found {
                let _ = changes.send(change);
            }
        })?;
        Ok(ConfigStore {
            tail,
            state,
            leader: None,
        })
    }

    /// Makes the leader's writes ([`ConfigStore::write_as_leader`]) transactional, through a
    /// producer made from `config` (with its `transactional.id`).
    pub fn with_transactional_leader(mut self, config: rdkafka::ClientConfig) -> ConfigStore {
        self.leader = Some(LeaderWriter {
            config,
            writer: Mutex::new(None),
        });
        self
    }

    /// Whether leader writes go through a transactional producer.
    pub fn transactional_leader(&self) -> bool {
        self.leader.is_some()
    }

    /// Drops the leader's transactional producer (this worker no longer leads; a new leader's
    /// producer fences it anyway).
    pub fn relinquish_leadership(&self) {
        if let Some(leader) = &self.leader {
            let dropped = leader
                .writer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if dropped.is_some() {
                tracing::info!("no longer the leader; dropped the transactional config writer");
            }
        }
    }

    /// A write only the leader may make (connector and task configs, task-count records,
    /// session keys, restart requests): through the transactional producer when there is one
    /// (all `records` in one transaction), else as [`ConfigStore::write`]. Blocks the calling
    /// thread while the transaction commits; call it from a multi-threaded runtime.
    pub async fn write_as_leader(&self, records: &[ConfigRecord]) -> Result<(), String> {
        let Some(leader) = &self.leader else {
            return self.write(records).await.map_err(|e| e.to_string());
        };
        let encoded: Vec<(Vec<u8>, Option<Vec<u8>>)> = records
            .iter()
            .map(|r| {
                let (key, value) = r.encode();
                (key.into_bytes(), value)
            })
            .collect();
        let topic = self.tail.writer().topic().to_owned();
        tokio::task::block_in_place(|| {
            let mut slot = leader.writer.lock().unwrap_or_else(|p| p.into_inner());
            let writer = match slot.as_ref() {
                Some(w) => Arc::clone(w),
                None => {
                    let w = TransactionalWriter::open(&leader.config, &topic, LEADER_WRITE_TIMEOUT)
                        .map_err(|e| {
                            format!("cannot start the leader's transactional config writer: {e}")
                        })?;
                    tracing::info!(%topic, "leader's transactional config writer started");
                    let w = Arc::new(w);
                    *slot = Some(Arc::clone(&w));
                    w
                }
            };
            writer.write(&encoded).map_err(|e| {
                if e.kind != TxnErrorKind::Abortable {
                    // Fenced by a newer leader, or unusable: a later write starts afresh.
                    *slot = None;
                }
                format!("transactional write to the config topic failed: {e}")
            })
        })
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> ConfigState {
        lock(&self.state).clone()
    }

    /// Runs `f` on the current state without copying it.
    pub fn with<T>(&self, f: impl FnOnce(&mut ConfigState) -> T) -> T {
        f(&mut lock(&self.state))
    }

    /// Offset of the last record applied + 1 (−1 before any).
    pub fn offset(&self) -> i64 {
        lock(&self.state).offset()
    }

    /// Reads everything written so far.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), String> {
        self.tail.read_to_end(timeout).await
    }

    /// Writes records in order and waits for all acknowledgements.
    pub async fn write(&self, records: &[ConfigRecord]) -> Result<(), LogError> {
        let mut acks = Vec::with_capacity(records.len());
        for record in records {
            let (key, value) = record.encode();
            acks.push(
                self.tail
                    .writer()
                    .send_nowait(key.as_bytes(), value.as_deref())?,
            );
        }
        for ack in acks {
            ack.await?;
        }
        Ok(())
    }

    /// [`ConfigStore::write_as_leader`], then reads the topic to the end.
    pub async fn write_as_leader_and_read(
        &self,
        records: &[ConfigRecord],
        timeout: Duration,
    ) -> Result<(), String> {
        self.write_as_leader(records).await?;
        self.read_to_end(timeout).await
    }

    /// Writes records, then reads the topic to the end so the state includes them.
    pub async fn write_and_read(
        &self,
        records: &[ConfigRecord],
        timeout: Duration,
    ) -> Result<(), String> {
        self.write(records).await.map_err(|e| e.to_string())?;
        self.read_to_end(timeout).await
    }
}
