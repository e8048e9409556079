//! The source connector's table monitor (Confluent's `TableMonitorThread`): lists the
//! database's tables every `table.poll.interval.ms` and, when the selected set changes (a
//! table created or dropped), stores the new set and asks the worker to reconfigure the
//! tasks. A listing that fails is noted and tried again at the next interval.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tributary_connector_api::ConnectorContext;

use crate::db::Db;
use crate::source_config::SourceConfig;

/// The tables selected now, shared with the connector's `task_configs`.
pub type Tables = Arc<Mutex<Vec<String>>>;

/// A running monitor; stopped (and joined) on drop.
pub struct TableMonitor {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Lists and selects the tables once: the qualified names `config` selects.
pub async fn list(db: &Db, config: &SourceConfig, strict: bool) -> Result<Vec<String>, String> {
    let current = db.current_schema().await.map_err(|e| e.to_string())?;
    let listed = db
        .tables(
            config.source.table_types(),
            config.schema_pattern.as_deref(),
        )
        .await
        .map_err(|e| format!("cannot list the tables of {}: {e}", config.url))?;
    config
        .source
        .select(&listed, current.as_deref(), strict)
        .map_err(|e| tributary_connector_api::ConnectError::from(e).message)
}

impl TableMonitor {
    /// Starts watching; `tables` holds the current selection.
    pub fn start(
        config: SourceConfig,
        tables: Tables,
        context: ConnectorContext,
        note: fn(&str),
    ) -> TableMonitor {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = Duration::from_millis(config.table_poll_interval_ms);
        let thread = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                note("the table monitor cannot start its runtime");
                return;
            };
            let mut db: Option<Db> = None;
            // Until the connector stops (the sender is dropped).
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let listed = runtime.block_on(async {
                    if db.is_none() {
                        db = Some(
                            Db::connect(&config.url, 1, Duration::ZERO, |_| {})
                                .await
                                .map_err(|e| e.to_string())?,
                        );
                    }
                    match &db {
                        Some(db) => list(db, &config, false).await,
                        None => Ok(Vec::new()),
                    }
                });
                match listed {
                    Ok(now) => {
                        let changed = {
                            let mut current = tables.lock().unwrap_or_else(|e| e.into_inner());
                            let changed = *current != now;
                            if changed {
                                *current = now;
                            }
                            changed
                        };
                        if changed {
                            note("the selected tables changed; asking for new task configs");
                            context.request_task_reconfiguration();
                        }
                    }
                    Err(e) => {
                        note(&format!("table monitor: {e}"));
                        if let Some(db) = db.take() {
                            runtime.block_on(db.close());
                        }
                    }
                }
            }
            if let Some(db) = db.take() {
                runtime.block_on(db.close());
            }
        });
        TableMonitor {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TableMonitor {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
