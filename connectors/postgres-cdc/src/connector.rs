//! `io.debezium.connector.postgresql.PostgresConnector` and its one task.
//!
//! The task starts the [`Capture`] engine, hands out what it decodes, and, once the worker
//! has committed offsets, confirms the slot up to the last complete transaction among them
//! (`lsn.flush.mode=connector`), so PostgreSQL keeps every WAL record a restart could need.
//! A lost connection or a busy slot restarts the capture from the last record handed out
//! (`errors.max.retries`: -1 for ever).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary_connector_api::{
    ConfigDef, ConfigValueInfo, ConnectError, ConnectResult, Connector, ExactlyOnceSupport,
    OffsetMap, Props, SourceConnector, SourceRecord, SourceTask, SourceTaskContext,
};

use crate::capture::{Capture, Chunk};
use crate::catalog::Catalog;
use crate::config::{self, CdcConfig, LsnFlushMode};
use crate::offsets::{partition, Stored};

#[derive(Default)]
pub struct PostgresConnector {
    props: Option<Props>,
}

impl Connector for PostgresConnector {
    const CLASS: &'static str = "io.debezium.connector.postgresql.PostgresConnector";

    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn config_def() -> ConfigDef {
        config::config_def()
    }

    fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        config::validate(props)
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        CdcConfig::parse(props).map_err(ConnectError::from)?;
        self.props = Some(props.clone());
        Ok(())
    }

    /// One task, whatever `tasks.max` says: a slot is read by one connection.
    fn task_configs(&mut self, _max_tasks: usize) -> ConnectResult<Vec<Props>> {
        match &self.props {
            Some(p) => Ok(vec![p.clone()]),
            None => Err(ConnectError::new("PostgresConnector has not been started")),
        }
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SourceConnector for PostgresConnector {
    type Task = PostgresTask;

    /// The offsets say exactly where a restart resumes, so a transaction of records and
    /// offsets never repeats or loses a change.
    fn exactly_once_support(&self, _props: &Props) -> ExactlyOnceSupport {
        ExactlyOnceSupport::Supported
    }
}

#[derive(Default)]
pub struct PostgresTask {
    config: Option<Arc<CdcConfig>>,
    capture: Option<Capture>,
    /// The last offset the worker committed: a restarted capture streams from it (it is durable,
    /// so the slot may be confirmed to it).
    committed: Option<OffsetMap>,
    /// The offset of the last record handed out: a restarted capture does not emit again what
    /// came before it.
    resume: Option<OffsetMap>,
    restarts: i64,
    restart_at: Option<Instant>,
    finished: bool,
}

/// Wait before the capture starts again after a retriable error.
const RESTART_DELAY: Duration = Duration::from_secs(2);

impl PostgresTask {
    fn config(&self) -> ConnectResult<&Arc<CdcConfig>> {
        self.config
            .as_ref()
            .ok_or_else(|| ConnectError::new("the task has not been started"))
    }
}

impl SourceTask for PostgresTask {
    fn start(&mut self, props: &Props, context: &SourceTaskContext) -> ConnectResult<()> {
        let config = Arc::new(CdcConfig::parse(props).map_err(ConnectError::from)?);
        let stored = context.offset(&partition(&config.topic_prefix)).cloned();
        self.resume = stored.clone();
        self.committed = stored.clone();
        self.capture = Some(
            Capture::start(config.clone(), stored.clone(), stored).map_err(ConnectError::new)?,
        );
        self.config = Some(config);
        Ok(())
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let config = self.config()?.clone();
        if let Some(at) = self.restart_at {
            if Instant::now() < at {
                std::thread::sleep(config.poll_interval.min(at - Instant::now()));
                return Ok(Vec::new());
            }
            self.restart_at = None;
            self.capture = Some(
                Capture::start(config.clone(), self.committed.clone(), self.resume.clone())
                    .map_err(ConnectError::new)?,
            );
        }
        let Some(capture) = self.capture.as_mut() else {
            std::thread::sleep(config.poll_interval);
            return Ok(Vec::new());
        };
        let first = match capture.chunks.recv_timeout(config.poll_interval) {
            Ok(c) => c,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return Ok(Vec::new()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ConnectError::new("the capture thread ended unexpectedly"))
            }
        };
        let mut records = Vec::new();
        let mut chunk = Some(first);
        while let Some(c) = chunk.take() {
            match c {
                Chunk::Records(mut r) => records.append(&mut r),
                Chunk::Ended(Ok(())) => {
                    if !self.finished {
                        note!(info, "the snapshot is complete (snapshot.mode=initial_only): nothing more is read");
                    }
                    self.finished = true;
                    self.capture = None;
                    break;
                }
                Chunk::Ended(Err(e)) => {
                    let max = self.config()?.max_retries();
                    self.capture = None;
                    if e.retriable && (max < 0 || self.restarts < max) {
                        self.restarts += 1;
                        note!(warn, error = %e.message, attempt = self.restarts, "capture failed; starting it again");
                        self.restart_at = Some(Instant::now() + RESTART_DELAY);
                        break;
                    }
                    return Err(ConnectError::new(e.message));
                }
            }
            if records.len() < config.max_batch_size {
                if let Some(capture) = self.capture.as_mut() {
                    chunk = capture.chunks.try_recv().ok();
                }
            }
        }
        if let Some(last) = records.iter().rev().find_map(|r| r.source_offset.clone()) {
            self.resume = Some(last);
            self.restarts = 0;
        }
        Ok(records)
    }

    fn commit_offsets(&mut self, committed: &[(OffsetMap, OffsetMap)]) -> ConnectResult<()> {
        let config = self.config()?;
        let ours = partition(&config.topic_prefix);
        let Some((_, offset)) = committed.iter().find(|(p, _)| *p == *ours) else {
            return Ok(());
        };
        self.committed = Some(offset.clone());
        let config = self.config()?;
        if config.lsn_flush_mode == LsnFlushMode::Manual {
            return Ok(());
        }
        let lsn = Stored::flush_lsn(offset);
        if let (Some(lsn), Some(capture)) = (lsn, &self.capture) {
            capture.confirm.confirm(lsn);
        }
        Ok(())
    }

    fn stop(&mut self) -> ConnectResult<()> {
        if let Some(mut c) = self.capture.take() {
            c.stop();
        }
        let Some(config) = self.config.clone() else {
            return Ok(());
        };
        if config.slot_drop_on_stop {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ConnectError::new(format!("runtime: {e}")))?;
            let dropped = runtime.block_on(async {
                let catalog = Catalog::connect(&config.connection).await?;
                catalog.drop_slot(&config.slot_name).await
            });
            match dropped {
                Ok(()) => {
                    note!(info, slot = %config.slot_name, "dropped the replication slot (slot.drop.on.stop)")
                }
                Err(e) => note!(warn, error = %e, "could not drop the replication slot"),
            }
        }
        Ok(())
    }
}
