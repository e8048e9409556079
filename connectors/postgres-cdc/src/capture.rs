//! The capture engine, on a thread of its own: sets up the publication and the slot, takes the
//! snapshot `snapshot.mode` asks for, then streams pgoutput and turns each message into
//! Debezium's records, handed to the task's polls in chunks through a bounded channel.
//!
//! Records of a transaction are handed out as they are decoded; the last one is held until the
//! transaction's COMMIT arrives so that its offset can say the transaction is complete
//! (`lsn_commit` = its end), which is what the slot is confirmed to once Kafka Connect has
//! committed that offset.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pg_walstream::{
    CancellationToken, LogicalReplicationMessage, LogicalReplicationParser,
    LogicalReplicationStream, RawXLogData, ReplicationSlotOptions, ReplicationStreamConfig,
    RetryConfig, SharedLsnFeedback, SnapshotOutcome, TupleData,
};
use tributary_connector_api::{Headers, OffsetMap, SourceRecord, Value};

use crate::catalog::{format_lsn, Catalog, CatalogError};
use crate::config::{BinaryMode, CdcConfig, FailureMode, SnapshotMode};
use crate::incremental::{
    self, Chunk as Window, Collection, Incremental, Signal, WATERMARK_PREFIX,
};
use crate::offsets::{snapshot_offset, MessageType, Skip, Stored, StreamPosition};
use crate::records::{Now, Origin, RecordMaker, TxBlock, CREATE, DELETE, READ, TRUNCATE, UPDATE};
use crate::schemas::{RelationColumn, TableSchema};
use crate::snapshot::{Batch, Step};
use crate::tuples::Row;

/// What the engine hands the task.
pub enum Chunk {
    Records(Vec<SourceRecord>),
    /// The capture ended: `Ok` after an `initial_only` snapshot, else the error.
    Ended(Result<(), CaptureError>),
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CaptureError {
    pub message: String,
    /// A lost connection or a busy slot: the task may start the capture again.
    pub retriable: bool,
}

fn fatal(message: impl Into<String>) -> CaptureError {
    CaptureError {
        message: message.into(),
        retriable: false,
    }
}

fn retriable(message: impl Into<String>) -> CaptureError {
    CaptureError {
        message: message.into(),
        retriable: true,
    }
}

impl From<CatalogError> for CaptureError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Sql(sqlx::Error::Database(d)) => fatal(format!("PostgreSQL: {d}")),
            CatalogError::Sql(e) => retriable(format!("PostgreSQL connection: {e}")),
            CatalogError::Other(m) => fatal(m),
        }
    }
}

fn stream_error(e: pg_walstream::ReplicationError) -> CaptureError {
    let text = e.to_string();
    let permanent = text.contains("does not exist")
        || text.contains("authentication")
        || text.contains("permission denied")
        || text.contains("must be superuser or replication role");
    CaptureError {
        message: format!("replication stream: {text}"),
        retriable: !permanent,
    }
}

/// Shared between the task and the engine: where the slot may be confirmed to.
#[derive(Default)]
pub struct Confirm {
    feedback: Mutex<Option<Arc<SharedLsnFeedback>>>,
}

impl Confirm {
    /// Confirms `lsn` to the server (sent with the next standby status update).
    pub fn confirm(&self, lsn: u64) {
        if let Ok(f) = self.feedback.lock() {
            if let Some(f) = f.as_ref() {
                f.update_applied_lsn(lsn);
            }
        }
    }
}

/// A running capture.
pub struct Capture {
    pub chunks: Receiver<Chunk>,
    pub confirm: Arc<Confirm>,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    /// Starts capturing: streaming resumes from `committed` (durable in Kafka, so it may be
    /// confirmed to the slot), and what `handed_out` says was already handed to the worker
    /// after it is not emitted again.
    pub fn start(
        config: Arc<CdcConfig>,
        committed: Option<OffsetMap>,
        handed_out: Option<OffsetMap>,
    ) -> Result<Capture, String> {
        let chunk_count = (config.max_queue_size / config.max_batch_size.max(1)).clamp(2, 64);
        let (sender, chunks) = std::sync::mpsc::sync_channel(chunk_count);
        let confirm = Arc::new(Confirm::default());
        let stop = CancellationToken::new();
        let (c, s) = (confirm.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("postgres-cdc".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = sender.send(Chunk::Ended(Err(fatal(format!("runtime: {e}")))));
                        return;
                    }
                };
                let mut engine = Engine::new(config, sender.clone(), c, s);
                let result = runtime.block_on(engine.run(committed, handed_out));
                let result = match result {
                    Err(e) if engine.stop.is_cancelled() => {
                        note!(debug, error = %e, "capture stopped");
                        Ok(())
                    }
                    other => other,
                };
                let _ = sender.send(Chunk::Ended(result));
            })
            .map_err(|e| format!("cannot start the capture thread: {e}"))?;
        Ok(Capture {
            chunks,
            confirm,
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(&mut self) {
        self.stop.cancel();
        // Unblock a sender waiting for room.
        while self.chunks.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !t.is_finished() && Instant::now() < deadline {
                while self.chunks.try_recv().is_ok() {}
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The transaction being decoded.
struct Tx {
    xid: u32,
    /// Handed out completely before the capture restarted: nothing of it is emitted again.
    replayed: bool,
    commit_ts_us: i64,
    total: i64,
    per_table: Vec<(String, i64)>,
}

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

struct Engine {
    config: Arc<CdcConfig>,
    maker: RecordMaker,
    sender: SyncSender<Chunk>,
    confirm: Arc<Confirm>,
    stop: CancellationToken,
    /// Records ready to hand out, and the last record of the open transaction.
    buffer: Vec<SourceRecord>,
    held: Option<SourceRecord>,
    last_flush: Instant,
    tables: HashMap<u32, Option<Arc<TableSchema>>>,
    position: StreamPosition,
    tx: Option<Tx>,
    skip: Option<Skip>,
    heartbeat_due: Option<Instant>,
    /// Whether anything was read since the session started (Debezium emits heartbeats only
    /// once it has an offset).
    has_offset: bool,
    incremental: Incremental,
    /// Transactions whose commit is before this LSN were handed out before the capture
    /// restarted (from the last committed offset, not the last handed-out one).
    skip_before: u64,
    /// Tables the running initial snapshot has read completely (kept in its offsets, so that
    /// an interrupted snapshot resumes with the others).
    snapshot_done: Vec<String>,
    /// `signal.data.collection` as (schema, table).
    signal_table: Option<(String, String)>,
}

impl Engine {
    fn new(
        config: Arc<CdcConfig>,
        sender: SyncSender<Chunk>,
        confirm: Arc<Confirm>,
        stop: CancellationToken,
    ) -> Engine {
        let maker = RecordMaker::new(&config.topic_prefix, &config.connection.dbname);
        let config_signal_table = |c: &CdcConfig| {
            c.signal_data_collection
                .as_deref()
                .and_then(|t| t.split_once('.'))
                .map(|(s, t)| (s.to_owned(), t.to_owned()))
        };
        let signal_table = config_signal_table(&config);
        Engine {
            heartbeat_due: config.heartbeat_interval.map(|d| Instant::now() + d),
            config,
            maker,
            sender,
            confirm,
            stop,
            buffer: Vec::new(),
            held: None,
            last_flush: Instant::now(),
            tables: HashMap::new(),
            position: StreamPosition::default(),
            tx: None,
            skip: None,
            has_offset: false,
            incremental: Incremental::default(),
            skip_before: 0,
            snapshot_done: Vec::new(),
            signal_table,
        }
    }

    /// The replication connection's conninfo: a `postgresql://` URI whose parts are
    /// percent-encoded (the password never needs quoting rules, and no parse error can show it).
    fn conninfo(&self) -> String {
        let c = &self.config.connection;
        let host = if c.host.contains(':') && !c.host.starts_with('[') {
            format!("[{}]", c.host)
        } else {
            c.host.clone()
        };
        let userinfo = match &c.password {
            Some(p) => format!("{}:{}", percent(&c.user), percent(p)),
            None => percent(&c.user),
        };
        let mut uri = format!(
            "postgresql://{userinfo}@{host}:{}/{}?sslmode={}&replication=database",
            c.port,
            percent(&c.dbname),
            c.sslmode
        );
        if let Some(root) = &c.sslrootcert {
            uri.push_str(&format!("&sslrootcert={}", percent(root)));
        }
        uri
    }

    async fn run(
        &mut self,
        stored: Option<OffsetMap>,
        handed_out: Option<OffsetMap>,
    ) -> Result<(), CaptureError> {
        let config = self.config.clone();
        let mut catalog = Catalog::connect(&config.connection).await?;
        let version = catalog.server_version_num().await?;
        if version < 140_000 {
            return Err(fatal(format!(
                "PostgreSQL {version} is too old: the replication client needs 14 or later"
            )));
        }
        let wal_level: String = sqlx::query_scalar("SHOW wal_level")
            .fetch_one(catalog.pool())
            .await
            .map_err(CatalogError::from)?;
        if wal_level != "logical" {
            return Err(fatal(format!(
                "PostgreSQL's wal_level is '{wal_level}': logical decoding needs wal_level=logical (and a restart)"
            )));
        }
        for (setting, wanted) in [
            ("bytea_output", "hex"),
            ("DateStyle", "ISO"),
            ("IntervalStyle", "postgres"),
        ] {
            let current: String = sqlx::query_scalar(&format!("SHOW {setting}"))
                .fetch_one(catalog.pool())
                .await
                .map_err(CatalogError::from)?;
            let mut values = catalog.configured(setting).await?;
            values.push(current);
            // DateStyle is "<output>, <order>": the output style is what counts.
            let wrong = values.into_iter().find(|v| {
                let style = v.split(',').next().unwrap_or_default();
                !style
                    .trim_matches(['\'', '"', ' '])
                    .eq_ignore_ascii_case(wanted)
            });
            if let Some(value) = wrong {
                return Err(fatal(format!(
                    "PostgreSQL's {setting} is '{value}' for this user and database; the connector reads PostgreSQL's default text forms: set it to '{wanted}' (e.g. ALTER ROLE … SET {setting} = '{wanted}')"
                )));
            }
        }
        let tables: Vec<(String, String)> = catalog
            .tables()
            .await?
            .into_iter()
            .filter(|(s, t)| config.filters.captures(s, t))
            .collect();
        for (pattern, identity) in &config.replica_identity_autoset {
            let re = regex::Regex::new(&format!("^(?i:{pattern})$"))
                .map_err(|e| fatal(format!("replica.identity.autoset.values: {e}")))?;
            for (s, t) in tables
                .iter()
                .filter(|(s, t)| re.is_match(&format!("{s}.{t}")))
            {
                catalog.set_replica_identity(s, t, identity).await?;
            }
        }
        catalog
            .ensure_publication(
                &config.publication_name,
                config.publication_mode,
                &tables,
                config.skipped,
            )
            .await?;

        let stored = stored.as_ref().map(|o| (Stored::read(o), o.clone()));
        let slot = self.wait_for_slot(&catalog).await?;
        // Was WAL the stored offset needs lost (slot gone, invalidated, or moved past it)?
        let lost = match (&stored, &slot) {
            (Some((s, _)), _) if !s.snapshot_completed => None,
            (Some((s, _)), None) => s.resume_lsn.map(|l| format!(
                "replication slot '{}' does not exist, but the stored offset is at {}: the changes since then are lost",
                config.slot_name, format_lsn(l))),
            (Some((s, _)), Some(info)) if info.wal_status.as_deref() == Some("lost") => s.resume_lsn.map(|_| format!(
                "replication slot '{}' was invalidated by the server (wal_status lost)",
                config.slot_name)),
            (Some((s, _)), Some(info)) => match (s.resume_lsn, info.confirmed_flush_lsn) {
                (Some(resume), Some(confirmed)) if confirmed > resume => Some(format!(
                    "replication slot '{}' is confirmed to {} but the stored offset is at {}: the changes in between are no longer available",
                    config.slot_name, format_lsn(confirmed), format_lsn(resume))),
                _ => None,
            },
            _ => None,
        };
        let completed = stored.as_ref().is_some_and(|(s, _)| s.snapshot_completed);
        if config.snapshot_mode == SnapshotMode::InitialOnly && completed {
            return Ok(());
        }
        // Beyond Debezium: an initial snapshot interrupted by a crash resumes instead of
        // starting over. The slot still stands at the snapshot's consistent point (nothing is
        // confirmed during a snapshot), so streaming starts there and the tables not yet read
        // completely are read as an incremental snapshot, whose watermarks keep streamed
        // changes and chunk rows in order.
        if let (Some((s, o)), Some(info)) = (&stored, &slot) {
            let done = crate::offsets::snapshot_tables_done(o);
            // A table read through snapshot.select.statement.overrides cannot be read again
            // in chunks (the statement is not a table): such a snapshot starts over.
            let overridden = tables.iter().any(|(schema, table)| {
                !done.contains(&format!("{schema}.{table}"))
                    && config
                        .snapshot_overrides
                        .iter()
                        .any(|(s, t, _)| s == schema && t == table)
            });
            let resumable = !s.snapshot_completed
                && !overridden
                && matches!(
                    config.snapshot_mode,
                    SnapshotMode::Initial | SnapshotMode::WhenNeeded
                )
                && info.active_pid.is_none()
                && info.wal_status.as_deref() != Some("lost")
                && s.resume_lsn.is_some()
                && info
                    .confirmed_flush_lsn
                    .is_some_and(|c| Some(c) <= s.resume_lsn);
            if resumable {
                self.incremental = Incremental::default();
                for (schema, table) in &tables {
                    let id = format!("{schema}.{table}");
                    if !done.contains(&id) {
                        self.incremental.queue.push_back(Collection {
                            id,
                            condition: None,
                            surrogate_key: None,
                            correlation_id: Some("initial-snapshot".into()),
                        });
                    }
                }
                self.incremental.correlation_id = Some("initial-snapshot".into());
                let at = s.resume_lsn.unwrap_or_default();
                note!(
                    info,
                    done = done.len(),
                    remaining = self.incremental.queue.len(),
                    at = %format_lsn(at),
                    "resuming the interrupted initial snapshot"
                );
                self.position.lsn = at;
                self.position.lsn_commit = at;
                self.has_offset = true;
                return self.resume_streaming(catalog, at).await;
            }
        }
        let snapshot = match config.snapshot_mode {
            SnapshotMode::Always => true,
            SnapshotMode::Initial | SnapshotMode::InitialOnly => {
                if let Some(why) = &lost {
                    return Err(fatal(format!(
                        "{why}; set snapshot.mode=when_needed to take a new snapshot"
                    )));
                }
                !completed
            }
            SnapshotMode::WhenNeeded => !completed || lost.is_some(),
            SnapshotMode::NoData => {
                if let Some(why) = &lost {
                    return Err(fatal(format!(
                        "{why}; set snapshot.mode=when_needed to take a new snapshot"
                    )));
                }
                false
            }
        };
        if let Some(why) = &lost {
            if snapshot {
                note!(warn, "{why}; taking a new snapshot");
            }
        }
        // Nothing to read (no captured table yet): no snapshot, streaming from a new slot.
        let snapshot = snapshot && !tables.is_empty();

        let mut stream_config = stream_config(&config);
        if snapshot {
            // A slot of our name that exists cannot export a snapshot: a new one is made,
            // whose consistent point the snapshot and the stream share (no gap, no overlap).
            if let Some(info) = &slot {
                if info.active_pid.is_some() {
                    return Err(retriable(format!(
                        "replication slot '{}' is in use by process {}",
                        config.slot_name,
                        info.active_pid.unwrap_or_default()
                    )));
                }
                note!(info, slot = %config.slot_name, "dropping the slot to take a consistent snapshot");
                catalog.drop_slot(&config.slot_name).await?;
            }
            stream_config = stream_config.with_slot_options(ReplicationSlotOptions {
                snapshot: Some("export".into()),
                ..ReplicationSlotOptions::default()
            });
        }
        let stream = self.open_stream(stream_config).await?;

        let (stream, start) = if snapshot {
            let (stream, consistent) = self.snapshot(stream, &mut catalog).await?;
            if config.snapshot_mode == SnapshotMode::InitialOnly {
                self.flush_all().await?;
                // Nobody will read the slot: it is dropped, so it does not hold WAL.
                drop(stream);
                for _ in 0..50 {
                    match catalog.slot(&config.slot_name).await? {
                        Some(info) if info.active_pid.is_some() => {
                            tokio::time::sleep(Duration::from_millis(100)).await
                        }
                        Some(_) => {
                            catalog.drop_slot(&config.slot_name).await?;
                            break;
                        }
                        None => break,
                    }
                }
                return Ok(());
            }
            (stream, Some(consistent))
        } else {
            let mut stream = stream;
            if slot.is_none() {
                // no_data on a new slot: stream from its creation.
                stream
                    .ensure_replication_slot()
                    .await
                    .map_err(stream_error)?;
            }
            match &stored {
                Some((s, o)) => {
                    let latest = handed_out.as_ref().unwrap_or(o);
                    let sent = Stored::read(latest);
                    self.incremental = Incremental::restore(latest);
                    self.skip = sent.skip;
                    self.skip_before = sent.committed_lsn.unwrap_or(0);
                    if let Some(l) = sent.resume_lsn {
                        self.position.lsn_commit = l;
                        self.position.lsn = l;
                    }
                    (stream, s.resume_lsn)
                }
                None => (stream, None),
            }
        };
        if config.snapshot_mode == SnapshotMode::InitialOnly {
            return Ok(());
        }
        self.stream_from(stream, start, catalog).await
    }

    /// The replication connection, its LSN feedback shared with the confirmations.
    async fn open_stream(
        &self,
        stream_config: ReplicationStreamConfig,
    ) -> Result<LogicalReplicationStream, CaptureError> {
        let stream = LogicalReplicationStream::new(&self.conninfo(), stream_config)
            .await
            .map_err(stream_error)?;
        self.confirm
            .feedback
            .lock()
            .map_err(|_| fatal("lock poisoned"))?
            .replace(stream.shared_lsn_feedback.clone());
        Ok(stream)
    }

    /// Starts streaming at `start` (else the slot's position), with the incremental snapshot
    /// where it stands.
    async fn stream_from(
        &mut self,
        mut stream: LogicalReplicationStream,
        start: Option<u64>,
        mut catalog: Catalog,
    ) -> Result<(), CaptureError> {
        stream.start(start).await.map_err(stream_error)?;
        note!(info,
            slot = %self.config.slot_name,
            from = %start.map(format_lsn).unwrap_or_else(|| "the slot's position".into()),
            "streaming changes"
        );
        if self.incremental.running() && !self.incremental.paused {
            self.next_chunk(&mut catalog).await?;
        }
        self.stream(&mut stream, &mut catalog).await
    }

    /// Streams from `at` on the existing slot (the resumed initial snapshot).
    async fn resume_streaming(&mut self, catalog: Catalog, at: u64) -> Result<(), CaptureError> {
        let stream = self.open_stream(stream_config(&self.config)).await?;
        self.stream_from(stream, Some(at), catalog).await
    }

    /// Waits while another connection holds the slot (`slot.max.retries`, `slot.retry.delay.ms`).
    async fn wait_for_slot(
        &self,
        catalog: &Catalog,
    ) -> Result<Option<crate::catalog::SlotInfo>, CaptureError> {
        let mut tries = 0;
        loop {
            let slot = catalog.slot(&self.config.slot_name).await?;
            if let Some(info) = &slot {
                if info.plugin.as_deref().is_some_and(|p| p != "pgoutput") {
                    return Err(fatal(format!(
                        "replication slot '{}' uses plugin {}, not pgoutput",
                        self.config.slot_name,
                        info.plugin.as_deref().unwrap_or("?")
                    )));
                }
                if info.database.as_deref() != Some(self.config.connection.dbname.as_str()) {
                    return Err(fatal(format!(
                        "replication slot '{}' belongs to database {}",
                        self.config.slot_name,
                        info.database.as_deref().unwrap_or("?")
                    )));
                }
                if let Some(pid) = info.active_pid {
                    tries += 1;
                    if tries > self.config.slot_max_retries {
                        return Err(retriable(format!(
                            "replication slot '{}' is in use by process {pid}",
                            self.config.slot_name
                        )));
                    }
                    note!(warn, slot = %self.config.slot_name, pid = pid, "the slot is in use; waiting");
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.slot_retry_delay) => continue,
                        _ = self.stop.cancelled() => return Err(fatal("stopped")),
                    }
                }
            }
            return Ok(slot);
        }
    }

    /// The snapshot: every captured table read in the slot's exported snapshot (by
    /// `snapshot.max.threads` readers at once), as `r` events; returns the stream and the
    /// consistent point streaming starts at.
    async fn snapshot(
        &mut self,
        stream: LogicalReplicationStream,
        catalog: &mut Catalog,
    ) -> Result<(LogicalReplicationStream, u64), CaptureError> {
        let outcome = stream.snapshot().await.map_err(stream_error)?;
        let mut snap = match outcome {
            SnapshotOutcome::Available(s) => s,
            SnapshotOutcome::Unavailable(_) => {
                return Err(retriable(
                    "the replication slot exists and exported no snapshot; it is recreated on the next start",
                ))
            }
        };
        let filters = self.config.filters.clone();
        snap.retain_tables(|t| {
            let r = t.relation();
            filters.captures(&r.namespace, &r.relation_name)
        });
        let consistent = snap.consistent_point().value();
        let exported = snap
            .stream()
            .exported_snapshot_name()
            .map(str::to_owned)
            .ok_or_else(|| retriable("the replication slot exported no snapshot name"))?;
        let mut tables = Vec::with_capacity(snap.tables().len());
        for t in snap.tables() {
            let relation = t.relation();
            let columns = RelationColumn::of(&relation.columns);
            let (schema, name): (&str, &str) = (&relation.namespace, &relation.relation_name);
            let table = self.table_schema(catalog, schema, name, &columns).await?;
            let names: Vec<String> = columns.into_iter().map(|c| c.name).collect();
            let over = self
                .config
                .snapshot_overrides
                .iter()
                .find(|(s, t, _)| s == schema && t == name)
                .map(|(_, _, select)| select.clone());
            let select = match over {
                None => crate::snapshot::select_sql(schema, name, &names, None),
                Some(statement) => {
                    let present = catalog.result_columns(&statement).await.map_err(|e| {
                        fatal(format!(
                            "snapshot.select.statement.overrides.{schema}.{name}: {e}"
                        ))
                    })?;
                    crate::snapshot::select_sql(schema, name, &names, Some((&statement, &present)))
                }
            };
            tables.push(crate::snapshot::Table {
                schema: Arc::new(table),
                select,
            });
        }
        let tables = Arc::new(tables);
        let started_us = Now::get().us;
        note!(info,
            tables = tables.len(),
            threads = self.config.snapshot_threads.min(tables.len()),
            at = %format_lsn(consistent),
            "snapshot started"
        );
        let mut readers = crate::snapshot::Readers::start(
            crate::catalog::connect_options(&self.config.connection),
            &exported,
            tables.clone(),
            self.config.snapshot_threads,
            crate::snapshot::RowRules {
                failure: self.config.failure_mode,
                placeholder: self.config.unavailable_placeholder.clone(),
            },
            self.stop.clone(),
        )
        .await
        .map_err(retriable)?;
        // Every reader holds the exported snapshot now: the slot's own reader is let go and
        // the slot kept (an interrupted snapshot resumes from its offsets, or, with none,
        // the slot is made again on the next start).
        let stream = snap.abandon().await.map_err(stream_error)?;

        let mut markers = crate::snapshot::Markers::new(tables.len());
        let mut steps = Vec::new();
        let mut count: u64 = 0;
        loop {
            let batch = tokio::select! {
                b = readers.next() => b,
                _ = self.stop.cancelled() => return Err(fatal("stopped")),
            };
            match batch {
                None => break,
                Some(Batch::Failed {
                    message,
                    retriable: r,
                }) => {
                    return Err(if r {
                        retriable(message)
                    } else {
                        fatal(message)
                    })
                }
                Some(Batch::Rows { table, rows }) => {
                    count += rows.len() as u64;
                    for row in rows {
                        markers.row(table, row, &mut steps);
                    }
                }
                Some(Batch::Done { table }) => markers.done(table, &mut steps),
            }
            for step in steps.drain(..) {
                match step {
                    Step::Finished(t) => self.snapshot_done.push(tables[t].schema.id()),
                    Step::Emit(t, row, marker) => {
                        self.emit_snapshot_row(
                            &tables[t].schema,
                            row,
                            marker,
                            consistent,
                            started_us,
                            false,
                        )
                        .await?
                    }
                }
            }
        }
        if !markers.complete() {
            return Err(retriable(
                "a snapshot reader stopped before reading every table",
            ));
        }
        if let Some((t, row)) = markers.finish() {
            self.snapshot_done.push(tables[t].schema.id());
            self.emit_snapshot_row(&tables[t].schema, row, "last", consistent, started_us, true)
                .await?;
        }
        self.flush_all().await?;
        note!(info, rows = count, "snapshot completed");
        self.position.lsn = consistent;
        self.position.lsn_commit = consistent;
        self.has_offset = count > 0;
        Ok((stream, consistent))
    }

    async fn emit_snapshot_row(
        &mut self,
        table: &TableSchema,
        row: Row,
        marker: &'static str,
        consistent: u64,
        ts_us: i64,
        last: bool,
    ) -> Result<(), CaptureError> {
        let record = self.snapshot_record(table, row, marker, consistent, ts_us, last)?;
        self.push(record).await
    }

    fn snapshot_record(
        &self,
        table: &TableSchema,
        row: Row,
        marker: &'static str,
        consistent: u64,
        ts_us: i64,
        last: bool,
    ) -> Result<SourceRecord, CaptureError> {
        let key = table.key_of(&row);
        let origin = Origin {
            ts_us,
            snapshot: marker,
            schema: &table.schema,
            table: &table.table,
            tx_id: None,
            lsn: Some(consistent),
            sequence: Some((0, consistent)),
        };
        self.maker
            .change(
                table,
                READ,
                key,
                None,
                Some(row),
                &origin,
                None,
                snapshot_offset(consistent, ts_us, last, &self.snapshot_done),
            )
            .map_err(fatal)
    }

    /// A table's shapes from the catalog and the columns the stream (or snapshot) names.
    async fn table_schema(
        &self,
        catalog: &mut Catalog,
        schema: &str,
        table: &str,
        columns: &[RelationColumn],
    ) -> Result<TableSchema, CaptureError> {
        let meta = catalog.table(schema, table).await?.unwrap_or_default();
        let mut kinds = Vec::with_capacity(columns.len());
        for c in columns {
            kinds.push(catalog.type_kind(c.type_oid).await?);
        }
        // A table dropped since the change has no catalog entry: its changes are still
        // emitted, every column optional and without key.
        Ok(TableSchema::build(
            &self.config,
            schema,
            table,
            columns,
            &meta,
            &kinds,
        ))
    }

    /// Queues a record of the open transaction (the previous one is released).
    async fn push(&mut self, record: SourceRecord) -> Result<(), CaptureError> {
        if let Some(prev) = self.held.replace(record) {
            self.buffer.push(prev);
            if self.buffer.len() >= self.config.max_batch_size {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Releases the held record too (end of a transaction or of the snapshot).
    async fn flush_all(&mut self) -> Result<(), CaptureError> {
        if let Some(r) = self.held.take() {
            self.buffer.push(r);
        }
        self.flush().await
    }

    /// Hands the buffered records to the task, waiting while its queue is full.
    async fn flush(&mut self) -> Result<(), CaptureError> {
        self.last_flush = Instant::now();
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut chunk = Chunk::Records(std::mem::take(&mut self.buffer));
        loop {
            match self.sender.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(c)) => {
                    chunk = c;
                    if self.stop.is_cancelled() {
                        return Err(fatal("stopped"));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(TrySendError::Disconnected(_)) => return Err(fatal("stopped")),
            }
        }
    }

    /// The streaming loop.
    async fn stream(
        &mut self,
        stream: &mut LogicalReplicationStream,
        catalog: &mut Catalog,
    ) -> Result<(), CaptureError> {
        let mut parser = LogicalReplicationParser::with_protocol_version(1);
        // A read waits at most a tick (the read is cancellation-safe; the stop token, bound
        // to the connection's reader, is cancelled only to stop): then buffered records go
        // out, the slot's confirmation is sent and heartbeats are checked.
        let tick = Duration::from_millis(50);
        let stop = self.stop.clone();
        loop {
            if stop.is_cancelled() {
                return Ok(());
            }
            match tokio::time::timeout(tick, stream.next_raw_event(&stop)).await {
                Ok(Ok(raw)) => self.handle(&mut parser, raw, catalog).await?,
                Err(_) => {
                    if self.tx.is_none() {
                        self.flush_all().await?;
                    } else {
                        self.flush().await?;
                    }
                    stream.maybe_send_feedback().await;
                    self.maybe_heartbeat(catalog).await?;
                }
                Ok(Err(pg_walstream::ReplicationError::Cancelled(_))) => return Ok(()),
                Ok(Err(e)) => return Err(stream_error(e)),
            }
        }
    }

    async fn maybe_heartbeat(&mut self, catalog: &Catalog) -> Result<(), CaptureError> {
        let (Some(due), Some(interval)) = (self.heartbeat_due, self.config.heartbeat_interval)
        else {
            return Ok(());
        };
        if Instant::now() < due || self.tx.is_some() {
            return Ok(());
        }
        self.heartbeat_due = Some(Instant::now() + interval);
        if let Some(query) = &self.config.heartbeat_action_query {
            if let Err(e) = catalog.execute(query).await {
                note!(warn, error = %e, "heartbeat.action.query failed");
            }
        }
        if self.has_offset {
            let offset = self.offset_of(self.position);
            let record = self.maker.heartbeat(&self.config.heartbeat_topic, offset);
            self.buffer.push(record);
            self.flush().await?;
        }
        Ok(())
    }

    fn origin(&self, table: &TableSchema, lsn: u64) -> (i64, Option<u32>, (u64, u64)) {
        let ts = self.tx.as_ref().map_or(0, |t| t.commit_ts_us);
        let xid = self.tx.as_ref().map(|t| t.xid);
        let _ = table;
        (ts, xid, (self.position.lsn_commit, lsn))
    }

    /// Counts an event at `lsn`; `None` when it was already emitted before a restart.
    fn count_event(&mut self, lsn: u64, kind: MessageType) -> Option<StreamPosition> {
        let nth = if self.position.lsn == lsn && self.position.message_type != MessageType::Begin {
            self.position.events_at_lsn + 1
        } else {
            1
        };
        self.position.lsn = lsn;
        self.position.events_at_lsn = nth;
        self.position.message_type = kind;
        self.has_offset = true;
        self.unsent()
    }

    /// One more record of the same change (the create of a key change, a truncate's next
    /// table): its own count at the LSN, so a restart knows which of them were sent.
    fn bump(&mut self) -> Option<StreamPosition> {
        self.position.events_at_lsn += 1;
        self.unsent()
    }

    /// The current position, unless its event was handed out before the capture restarted.
    fn unsent(&mut self) -> Option<StreamPosition> {
        if let Some(tx) = &self.tx {
            if tx.replayed {
                return None;
            }
            if let Some(skip) = self.skip {
                if skip.covers(tx.xid, self.position.lsn, self.position.events_at_lsn) {
                    return None;
                }
                self.skip = None;
            }
        }
        Some(self.position)
    }

    fn tx_block(&mut self, table: &TableSchema, lsn: u64) -> Option<TxBlock> {
        if !self.config.provide_transaction_metadata {
            return None;
        }
        let tx = self.tx.as_mut()?;
        tx.total += 1;
        let name = format!("{}.{}", table.schema, table.table);
        let order = match tx.per_table.iter_mut().find(|(n, _)| *n == name) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                tx.per_table.push((name, 1));
                1
            }
        };
        Some(TxBlock {
            id: format!("{}:{lsn}", tx.xid),
            total_order: tx.total,
            data_collection_order: order,
        })
    }

    async fn handle(
        &mut self,
        parser: &mut LogicalReplicationParser,
        raw: RawXLogData,
        catalog: &mut Catalog,
    ) -> Result<(), CaptureError> {
        let lsn = raw.wal_start.value();
        let message = parser
            .parse_wal_message(&raw.data)
            .map_err(|e| fatal(format!("pgoutput message at {}: {e}", format_lsn(lsn))))?
            .message;
        match message {
            LogicalReplicationMessage::Begin {
                timestamp,
                xid,
                final_lsn,
            } => {
                let replayed = final_lsn < self.skip_before;
                self.tx = Some(Tx {
                    xid,
                    replayed,
                    commit_ts_us: timestamp + PG_EPOCH_US,
                    total: 0,
                    per_table: Vec::new(),
                });
                // BEGIN's own LSN (it is also the first change's): a stored BEGIN offset then
                // says "this transaction, nothing of it emitted yet".
                self.position.lsn = lsn;
                self.position.events_at_lsn = 0;
                self.position.tx_id = Some(xid);
                self.position.ts_usec = timestamp + PG_EPOCH_US;
                self.position.message_type = MessageType::Begin;
                let resumed_into = self.skip.is_some_and(|s| s.tx_id == xid);
                if self.config.provide_transaction_metadata && !replayed && !resumed_into {
                    let offset = self.offset_of(self.position);
                    let record = self.maker.transaction(
                        &self.config.transaction_topic,
                        "BEGIN",
                        &format!("{xid}:{lsn}"),
                        None,
                        (timestamp + PG_EPOCH_US) / 1000,
                        offset,
                    );
                    self.push(record).await?;
                }
            }
            LogicalReplicationMessage::Commit {
                end_lsn, timestamp, ..
            } => {
                let tx = self.tx.take();
                let replayed = tx.as_ref().is_some_and(|t| t.replayed);
                if let Some(skip) = self.skip {
                    if tx.as_ref().is_some_and(|t| t.xid == skip.tx_id) {
                        self.skip = None;
                    }
                }
                self.position.lsn = end_lsn;
                self.position.lsn_commit = end_lsn;
                self.position.message_type = MessageType::Commit;
                self.position.events_at_lsn = 1;
                self.position.ts_usec = timestamp + PG_EPOCH_US;
                self.has_offset = true;
                let offset = self.offset_of(self.position);
                if let Some(tx) =
                    tx.filter(|_| self.config.provide_transaction_metadata && !replayed)
                {
                    let record = self.maker.transaction(
                        &self.config.transaction_topic,
                        "END",
                        &format!("{}:{end_lsn}", tx.xid),
                        Some((tx.total, tx.per_table)),
                        (timestamp + PG_EPOCH_US) / 1000,
                        offset.clone(),
                    );
                    self.push(record).await?;
                }
                // The transaction's last record now says the transaction is complete.
                if let Some(last) = self.held.as_mut() {
                    last.source_offset = Some(offset);
                }
                if let Some(r) = self.held.take() {
                    self.buffer.push(r);
                }
                if self.buffer.len() >= self.config.max_batch_size / 8
                    || self.last_flush.elapsed() >= Duration::from_millis(10)
                {
                    self.flush().await?;
                }
                self.maybe_heartbeat(catalog).await?;
            }
            LogicalReplicationMessage::Relation {
                relation_id,
                namespace,
                relation_name,
                columns,
                ..
            } => {
                let captured = self.config.filters.captures(&namespace, &relation_name);
                let schema = if captured {
                    catalog.forget_types();
                    let columns = RelationColumn::of(&columns);
                    Some(Arc::new(
                        self.table_schema(catalog, &namespace, &relation_name, &columns)
                            .await?,
                    ))
                } else {
                    None
                };
                self.tables.insert(relation_id, schema);
            }
            LogicalReplicationMessage::Insert { relation_id, tuple } => {
                let Some(table) = self.table(relation_id)? else {
                    return Ok(());
                };
                let Some(pos) = self.count_event(lsn, MessageType::Insert) else {
                    return Ok(());
                };
                let Some(row) = self.decode(&table, &tuple, None, lsn)? else {
                    return Ok(());
                };
                let key = table.key_of(&row);
                self.streamed_key(&table, &key);
                // Signals work whatever skipped.operations says.
                if self.is_signal_table(&table) {
                    self.signal(&row, catalog).await?;
                }
                if self.config.skipped.create {
                    return Ok(());
                }
                self.emit(
                    &table,
                    CREATE,
                    key,
                    None,
                    Some(row),
                    lsn,
                    pos,
                    Headers::new(),
                )
                .await?;
            }
            LogicalReplicationMessage::Update {
                relation_id,
                old_tuple,
                new_tuple,
                key_type,
            } => {
                let Some(table) = self.table(relation_id)? else {
                    return Ok(());
                };
                let first = self.count_event(lsn, MessageType::Update);
                if first.is_none() && table.key.is_none() {
                    return Ok(());
                }
                let before = match &old_tuple {
                    Some(old) => match self.decode(&table, old, None, lsn)? {
                        Some(r) => Some(r),
                        None => return Ok(()),
                    },
                    None => None,
                };
                // Unchanged TOASTed values are filled only from a whole old row ('O', REPLICA
                // IDENTITY FULL), never from a key-only one ('K').
                let whole_old = before.as_ref().filter(|_| key_type == Some('O'));
                let Some(after) = self.decode(&table, &new_tuple, whole_old, lsn)? else {
                    return Ok(());
                };
                let new_key = table.key_of(&after);
                let old_key = before.as_ref().map(|b| table.key_of(b));
                self.streamed_key(&table, &new_key);
                if let Some(k) = &old_key {
                    self.streamed_key(&table, k);
                }
                match old_key {
                    Some(old_key) if table.key.is_some() && old_key != new_key => {
                        // A key change: delete (and tombstone) on the old key, then create on
                        // the new, each with its own count at the LSN.
                        if let Some(pos) = first.filter(|_| !self.config.skipped.delete) {
                            let mut h = Headers::new();
                            h.add("__debezium.newkey", table.key.clone(), new_key.clone());
                            self.emit(&table, DELETE, old_key.clone(), before, None, lsn, pos, h)
                                .await?;
                        }
                        let second = self.bump();
                        if let Some(pos) = second.filter(|_| !self.config.skipped.create) {
                            let mut h = Headers::new();
                            h.add("__debezium.oldkey", table.key.clone(), old_key);
                            self.emit(&table, CREATE, new_key, None, Some(after), lsn, pos, h)
                                .await?;
                        }
                    }
                    _ => {
                        let Some(pos) = first else {
                            return Ok(());
                        };
                        if !self.config.skipped.update {
                            self.emit(
                                &table,
                                UPDATE,
                                new_key,
                                before,
                                Some(after),
                                lsn,
                                pos,
                                Headers::new(),
                            )
                            .await?;
                        }
                    }
                }
            }
            LogicalReplicationMessage::Delete {
                relation_id,
                old_tuple,
                ..
            } => {
                let Some(table) = self.table(relation_id)? else {
                    return Ok(());
                };
                let Some(pos) = self.count_event(lsn, MessageType::Delete) else {
                    return Ok(());
                };
                if self.config.skipped.delete {
                    return Ok(());
                }
                let Some(before) = self.decode(&table, &old_tuple, None, lsn)? else {
                    return Ok(());
                };
                let key = table.key_of(&before);
                self.streamed_key(&table, &key);
                if self.config.watermark_delete && self.is_signal_table(&table) {
                    if let Some(id) = before.first().and_then(|v| v.as_str()) {
                        if let Some(chunk) = id.strip_suffix("-open") {
                            let close = format!("{chunk}-close");
                            self.window_event(&close, false, catalog).await?;
                        }
                    }
                }
                self.emit(
                    &table,
                    DELETE,
                    key,
                    Some(before),
                    None,
                    lsn,
                    pos,
                    Headers::new(),
                )
                .await?;
            }
            LogicalReplicationMessage::Truncate { relation_ids, .. } => {
                let mut pos = self.count_event(lsn, MessageType::Truncate);
                if self.config.skipped.truncate {
                    return Ok(());
                }
                let mut first = true;
                for id in relation_ids {
                    if let Some(table) = self.table(id)? {
                        if !first {
                            pos = self.bump();
                        }
                        first = false;
                        let Some(pos) = pos else {
                            continue;
                        };
                        let record = self.change_record(
                            &table,
                            TRUNCATE,
                            Value::Null,
                            None,
                            None,
                            lsn,
                            pos,
                        )?;
                        let mut record = record;
                        record.key_schema = None;
                        self.push(record).await?;
                    }
                }
            }
            LogicalReplicationMessage::Message {
                flags,
                prefix,
                content,
                lsn: message_lsn,
            } => {
                let transactional = flags & 1 == 1;
                if prefix == WATERMARK_PREFIX {
                    let id = String::from_utf8_lossy(&content).into_owned();
                    let open = id.ends_with("-open");
                    self.window_event(&id, open, catalog).await?;
                    return Ok(());
                }
                let pos = if transactional {
                    match self.count_event(lsn, MessageType::Message) {
                        Some(p) => p,
                        None => return Ok(()),
                    }
                } else {
                    if message_lsn < self.skip_before {
                        return Ok(());
                    }
                    self.position.tx_id = None;
                    self.position.lsn = message_lsn;
                    self.position.lsn_commit = message_lsn;
                    self.position.message_type = MessageType::Message;
                    self.position.events_at_lsn = 1;
                    self.has_offset = true;
                    self.position
                };
                if self.emits_message(&prefix) {
                    let (as_string, content) = match self.config.binary_mode {
                        BinaryMode::Bytes => (false, Value::Bytes(content.to_vec())),
                        mode => (true, crate::pg_types::encode_binary(mode, content.to_vec())),
                    };
                    let origin = Origin {
                        ts_us: self
                            .tx
                            .as_ref()
                            .map_or_else(|| Now::get().us, |t| t.commit_ts_us),
                        snapshot: "false",
                        schema: "",
                        table: "",
                        tx_id: self.tx.as_ref().filter(|_| transactional).map(|t| t.xid),
                        lsn: Some(message_lsn),
                        sequence: Some((self.position.lsn_commit, message_lsn)),
                    };
                    let record = self.maker.message(
                        &format!(
                            "{}{}message",
                            self.config.topic_prefix, self.config.topic_delimiter
                        ),
                        &prefix,
                        content,
                        as_string,
                        &origin,
                        None,
                        self.offset_of(pos),
                    );
                    if transactional {
                        self.push(record).await?;
                    } else {
                        self.buffer.push(record);
                        self.flush().await?;
                    }
                } else if !transactional {
                    self.maybe_heartbeat(catalog).await?;
                }
            }
            // Types are read from the catalog; origins and two-phase messages are not asked for.
            _ => {}
        }
        Ok(())
    }

    /// An event's offset, with the incremental snapshot's progress while one runs.
    fn offset_of(&self, pos: StreamPosition) -> OffsetMap {
        let mut o = pos.offset();
        self.incremental.annotate(&mut o);
        o
    }

    /// Whether `table` is the signal table.
    fn is_signal_table(&self, table: &TableSchema) -> bool {
        self.signal_table
            .as_ref()
            .is_some_and(|(s, t)| *s == table.schema && *t == table.table)
    }

    /// A streamed change of `key` in `table` while a chunk's window is open drops the
    /// chunk's row of that key (the streamed change is newer).
    fn streamed_key(&mut self, table: &TableSchema, key: &Value) {
        if let Some(w) = self.incremental.chunk.as_mut() {
            if w.table.schema == table.schema && w.table.table == table.table {
                w.streamed(key);
            }
        }
    }

    /// A signal row (the signal table's first three columns: id, type, data).
    async fn signal(&mut self, row: &Row, catalog: &mut Catalog) -> Result<(), CaptureError> {
        let text = |i: usize| row.get(i).and_then(|v| v.as_str()).map(str::to_owned);
        let (Some(id), Some(kind)) = (text(0), text(1)) else {
            note!(warn, "a signal row without id or type is ignored");
            return Ok(());
        };
        let signal = match incremental::parse_signal(&kind, text(2).as_deref()) {
            Ok(s) => s,
            Err(e) => {
                note!(warn, id = %id, "signal ignored: {e}");
                return Ok(());
            }
        };
        match signal {
            Signal::WindowOpen => self.window_event(&id, true, catalog).await?,
            Signal::WindowClose => self.window_event(&id, false, catalog).await?,
            Signal::Log(message) => {
                let offset =
                    serde_json::to_string(&self.offset_of(self.position)).unwrap_or_default();
                note!(info, "signal log: {}", message.replace("{}", &offset));
            }
            Signal::Pause => {
                note!(info, "incremental snapshot paused");
                self.incremental.paused = true;
            }
            Signal::Resume => {
                note!(info, "incremental snapshot resumed");
                self.incremental.paused = false;
                if self.incremental.chunk.is_none() {
                    self.next_chunk(catalog).await?;
                }
            }
            Signal::Stop { collections } => {
                if collections.is_empty() {
                    self.incremental.queue.clear();
                } else {
                    self.incremental
                        .queue
                        .retain(|c| !collections.iter().any(|p| incremental::matches(p, &c.id)));
                }
                note!(
                    info,
                    remaining = self.incremental.queue.len(),
                    "incremental snapshot stopped"
                );
                if !self.incremental.running() {
                    self.incremental = Incremental::default();
                }
            }
            Signal::Execute {
                collections,
                blocking,
                conditions,
                surrogate_key,
            } => {
                if blocking {
                    note!(warn, id = %id, "blocking snapshots are not supported; the signal is ignored");
                    return Ok(());
                }
                let known = catalog.tables().await?;
                let was_running = self.incremental.running();
                for pattern in collections {
                    let mut ids: Vec<String> = known
                        .iter()
                        .map(|(s, t)| format!("{s}.{t}"))
                        .filter(|q| incremental::matches(&pattern, q))
                        .collect();
                    if ids.is_empty() {
                        ids.push(pattern.clone());
                    }
                    for table in ids {
                        let condition = conditions
                            .iter()
                            .find(|(c, _)| {
                                regex::RegexBuilder::new(&format!("^(?:{c})$"))
                                    .case_insensitive(true)
                                    .build()
                                    .is_ok_and(|re| re.is_match(&table))
                            })
                            .map(|(_, f)| format!("({f})"));
                        self.incremental.queue.push_back(Collection {
                            id: table,
                            condition,
                            surrogate_key: surrogate_key.clone(),
                            correlation_id: Some(id.clone()),
                        });
                    }
                }
                self.incremental.correlation_id = Some(id.clone());
                note!(info, id = %id, tables = self.incremental.queue.len(), "incremental snapshot requested");
                if !was_running && !self.incremental.paused {
                    self.next_chunk(catalog).await?;
                }
            }
        }
        Ok(())
    }

    /// A watermark seen in the stream: `<chunk id>-open` opens the window, `-close` closes it
    /// (others are left over from before a restart and ignored).
    async fn window_event(
        &mut self,
        id: &str,
        open: bool,
        catalog: &mut Catalog,
    ) -> Result<(), CaptureError> {
        let Some(w) = self.incremental.chunk.as_mut() else {
            return Ok(());
        };
        if !id.starts_with(&w.id) {
            return Ok(());
        }
        if open {
            w.open = true;
            return Ok(());
        }
        let Some(mut w) = self.incremental.chunk.take() else {
            return Ok(());
        };
        let rows = w.take_rows();
        match w.end.take() {
            Some(end) => self.incremental.last_key = Some(end),
            None => {
                // An empty chunk: the table is done.
                let done = self.incremental.queue.pop_front().map(|c| c.id);
                note!(
                    info,
                    table = done,
                    "incremental snapshot of a table completed"
                );
                self.incremental.last_key = None;
                self.incremental.max_key = None;
            }
        }
        let table = w.table.clone();
        let now = Now::get().us;
        for (key, row) in rows {
            let origin = Origin {
                ts_us: now,
                snapshot: "incremental",
                schema: &table.schema,
                table: &table.table,
                tx_id: self.tx.as_ref().map(|t| t.xid),
                lsn: Some(self.position.lsn),
                sequence: Some((self.position.lsn_commit, self.position.lsn)),
            };
            let offset = self.offset_of(self.position);
            let record = self
                .maker
                .change(&table, READ, key, None, Some(row), &origin, None, offset)
                .map_err(fatal)?;
            self.push(record).await?;
        }
        if !self.incremental.running() {
            self.incremental = Incremental::default();
        } else if !self.incremental.paused {
            self.next_chunk(catalog).await?;
        }
        Ok(())
    }

    /// Reads the next chunk of the queue's first table between two watermarks (tables that
    /// cannot be read are dropped from the queue with a note).
    async fn next_chunk(&mut self, catalog: &mut Catalog) -> Result<(), CaptureError> {
        while let Some(current) = self.incremental.queue.front().cloned() {
            let Some((schema, name)) = current.id.split_once('.') else {
                note!(warn, table = %current.id, "not schema.table; skipped");
                self.incremental.queue.pop_front();
                continue;
            };
            let (schema, name) = (schema.to_owned(), name.to_owned());
            let known = self
                .tables
                .values()
                .flatten()
                .find(|t| t.schema == schema && t.table == name)
                .cloned();
            let table = match known {
                Some(t) => t,
                None => {
                    let Some(meta) = catalog.table(&schema, &name).await? else {
                        note!(warn, table = %current.id, "no such table; skipped");
                        self.incremental.queue.pop_front();
                        continue;
                    };
                    let columns: Vec<RelationColumn> = meta
                        .columns
                        .iter()
                        .map(|c| RelationColumn {
                            name: c.name.clone(),
                            type_oid: c.type_oid,
                            typmod: c.typmod,
                        })
                        .collect();
                    Arc::new(self.table_schema(catalog, &schema, &name, &columns).await?)
                }
            };
            let types = catalog.column_types(&schema, &name).await?;
            let key_names: Vec<String> = match &current.surrogate_key {
                Some(k) => vec![k.clone()],
                None => {
                    let mut keyed: Vec<(usize, String)> = table
                        .columns
                        .iter()
                        .filter_map(|c| Some((c.key_index?, c.name.clone())))
                        .collect();
                    keyed.sort();
                    keyed.into_iter().map(|(_, n)| n).collect()
                }
            };
            let key: Vec<(String, String)> = key_names
                .iter()
                .filter_map(|k| types.iter().find(|(n, _)| n == k).cloned())
                .collect();
            if key.is_empty() || key.len() != key_names.len() {
                note!(warn, table = %current.id, "no primary key (or surrogate key column); skipped");
                self.incremental.queue.pop_front();
                continue;
            }
            let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let key_positions: Vec<usize> = key
                .iter()
                .filter_map(|(k, _)| columns.iter().position(|c| c == k))
                .collect();
            let sql = incremental::chunk_sql(
                &schema,
                &name,
                &columns,
                &key,
                current.condition.as_deref(),
                self.config.chunk_size,
            );
            if self.incremental.max_key.is_none() {
                let max = catalog.text_rows(&sql.max_key).await?;
                match max.into_iter().next() {
                    Some(k) => self.incremental.max_key = Some(k),
                    None => {
                        note!(info, table = %current.id, "empty table; nothing to snapshot");
                        self.incremental.queue.pop_front();
                        self.incremental.last_key = None;
                        continue;
                    }
                }
            }
            let max = self.incremental.max_key.clone().unwrap_or_default();
            let id = incremental::chunk_id();
            let signal = self.config.signal_data_collection.clone();
            let delete = self.config.watermark_delete;
            // The open watermark goes first: a change committed after it and before the read
            // is both in the chunk and (after the watermark) in the stream, where it wins.
            catalog
                .execute(&incremental::watermark_sql(
                    signal.as_deref(),
                    &id,
                    "snapshot-window-open",
                    delete,
                ))
                .await?;
            let rows = match &self.incremental.last_key {
                None => catalog.text_rows(&sql.first(&max)).await?,
                Some(last) => catalog.text_rows(&sql.next(last, &max)).await?,
            };
            let mut window = Window::new(id.clone(), table.clone());
            for cells in &rows {
                let row = table
                    .row(
                        cells.iter().map(|c| match c {
                            Some(t) => crate::tuples::Cell::Text(t),
                            None => crate::tuples::Cell::Null,
                        }),
                        None,
                        &self.config.unavailable_placeholder,
                    )
                    .map_err(|e| fatal(format!("incremental snapshot: {e}")))?;
                let key = table.key_of(&row);
                window.add(key, row);
            }
            window.end = rows.last().map(|cells| {
                key_positions
                    .iter()
                    .map(|&i| cells.get(i).cloned().flatten())
                    .collect()
            });
            catalog
                .execute(&incremental::watermark_sql(
                    signal.as_deref(),
                    &id,
                    "snapshot-window-close",
                    delete,
                ))
                .await?;
            self.incremental.chunk = Some(window);
            return Ok(());
        }
        if !self.incremental.running() {
            self.incremental = Incremental::default();
        }
        Ok(())
    }

    fn emits_message(&self, prefix: &str) -> bool {
        let c = &self.config;
        if !c.message_prefix_include.is_empty() {
            return c.message_prefix_include.iter().any(|r| r.is_match(prefix));
        }
        !c.message_prefix_exclude.iter().any(|r| r.is_match(prefix))
    }

    fn table(&self, relation_id: u32) -> Result<Option<Arc<TableSchema>>, CaptureError> {
        match self.tables.get(&relation_id) {
            Some(t) => Ok(t.clone()),
            None => Err(fatal(format!(
                "a change of relation {relation_id} arrived before its Relation message"
            ))),
        }
    }

    /// A tuple's row, or `None` when it cannot be read and the failure mode skips it.
    fn decode(
        &self,
        table: &TableSchema,
        tuple: &TupleData,
        old: Option<&Row>,
        lsn: u64,
    ) -> Result<Option<Row>, CaptureError> {
        match table.tuple_row(tuple, old, &self.config.unavailable_placeholder) {
            Ok(r) => Ok(Some(r)),
            Err(e) => match self.config.failure_mode {
                FailureMode::Fail => Err(fatal(format!("{e} (at LSN {})", format_lsn(lsn)))),
                FailureMode::Warn => {
                    note!(warn, error = %e, lsn = %format_lsn(lsn), "change skipped");
                    Ok(None)
                }
                FailureMode::Skip => Ok(None),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn change_record(
        &mut self,
        table: &TableSchema,
        op: &'static str,
        key: Value,
        before: Option<Row>,
        after: Option<Row>,
        lsn: u64,
        pos: StreamPosition,
    ) -> Result<SourceRecord, CaptureError> {
        let (ts_us, tx_id, sequence) = self.origin(table, lsn);
        let tx = self.tx_block(table, lsn);
        let origin = Origin {
            ts_us,
            snapshot: "false",
            schema: &table.schema,
            table: &table.table,
            tx_id,
            lsn: Some(lsn),
            sequence: Some(sequence),
        };
        self.maker
            .change(
                table,
                op,
                key,
                before,
                after,
                &origin,
                tx.as_ref(),
                self.offset_of(pos),
            )
            .map_err(fatal)
    }

    #[allow(clippy::too_many_arguments)]
    async fn emit(
        &mut self,
        table: &TableSchema,
        op: &'static str,
        key: Value,
        before: Option<Row>,
        after: Option<Row>,
        lsn: u64,
        pos: StreamPosition,
        headers: Headers,
    ) -> Result<(), CaptureError> {
        let mut record = self.change_record(table, op, key.clone(), before, after, lsn, pos)?;
        record.headers = headers.clone();
        self.push(record).await?;
        if op == DELETE && self.config.tombstones_on_delete {
            let offset = self.offset_of(pos);
            let mut t = self.maker.tombstone(table, key, offset);
            t.headers = headers;
            self.push(t).await?;
        }
        Ok(())
    }
}

/// The replication stream's settings: pgoutput protocol 1 with logical decoding messages,
/// standby status every `status.update.interval.ms`, and no reconnects of its own (a lost
/// connection restarts the capture from the committed offset).
fn stream_config(config: &CdcConfig) -> ReplicationStreamConfig {
    ReplicationStreamConfig::builder(&config.slot_name, &config.publication_name)
        .with_protocol_version(1)
        .with_messages(true)
        .with_feedback_interval(config.status_update_interval)
        .with_connection_timeout(Duration::from_secs(30))
        .with_retry_config(RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const RESERVED: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(text, RESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parts_are_percent_encoded() {
        assert_eq!(percent("p@ss:w'o\\rd é"), "p%40ss%3Aw%27o%5Crd%20%C3%A9");
        assert_eq!(percent("plain-name_1.2~"), "plain-name_1.2~");
    }
}
