//! The Kafka-backed config store (connect-compat §2.2): every worker reads the config topic
//! into a [`ConfigState`]; the leader (and any worker for target states) writes records.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::internal_records::{ConfigChange, ConfigRecord, ConfigState};
use super::kafka_log::{KafkaLog, LogError};
use super::log_tail::LogTail;

/// The config topic, read continuously.
pub struct ConfigStore {
    tail: LogTail,
    state: Arc<Mutex<ConfigState>>,
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
        Ok(ConfigStore { tail, state })
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
