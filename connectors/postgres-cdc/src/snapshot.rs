//! The initial snapshot's readers: the captured tables read inside the replication slot's
//! exported snapshot by `snapshot.max.threads` connections at once, each on its own thread,
//! where the rows are also turned into field values. Rows come through the simple query
//! protocol, so every value is PostgreSQL's text output, the same text the stream sends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use futures_util::TryStreamExt;
use pg_walstream::CancellationToken;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::catalog::{quote_ident, quote_literal, text_cell};
use crate::config::FailureMode;
use crate::schemas::TableSchema;
use crate::tuples::{Cell, Row};

/// Rows handed over at a time.
const BATCH: usize = 256;

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One table to read: its shapes and the statement that reads it.
pub struct Table {
    pub schema: Arc<TableSchema>,
    pub select: String,
}

/// What the readers hand over, in the order each reader read it.
#[derive(Debug)]
pub enum Batch {
    Rows {
        table: usize,
        rows: Vec<Row>,
    },
    /// Every row of the table was handed over.
    Done {
        table: usize,
    },
    Failed {
        message: String,
        retriable: bool,
    },
}

/// The `SELECT` reading a table's `columns` (in the relation's order): the whole table, or
/// a `snapshot.select.statement.overrides` statement, whose result columns are matched by
/// name (`present`); a column it does not return reads as null, as in Debezium.
pub fn select_sql(
    schema: &str,
    table: &str,
    columns: &[String],
    over: Option<(&str, &[String])>,
) -> String {
    match over {
        None => {
            let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
            format!(
                "SELECT {} FROM {}.{}",
                list.join(", "),
                quote_ident(schema),
                quote_ident(table)
            )
        }
        Some((statement, present)) => {
            let list: Vec<String> = columns
                .iter()
                .map(|c| {
                    if present.iter().any(|p| p == c) {
                        format!("src.{}", quote_ident(c))
                    } else {
                        "NULL".to_owned()
                    }
                })
                .collect();
            let statement = statement.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
            // On lines of its own: a statement ending in a `--` comment stays whole.
            format!("SELECT {} FROM (\n{statement}\n) AS src", list.join(", "))
        }
    }
}

/// The reader threads and what they hand over.
pub struct Readers {
    rx: mpsc::Receiver<Batch>,
    threads: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

/// How each reader turns rows into values.
#[derive(Clone)]
pub struct RowRules {
    pub failure: FailureMode,
    pub placeholder: String,
}

impl Readers {
    /// Starts `threads` readers (no more than there are tables) and returns once every one
    /// of them has imported `snapshot`: from then on the exported snapshot is no longer
    /// needed (the replication connection may move on).
    pub async fn start(
        options: PgConnectOptions,
        snapshot: &str,
        tables: Arc<Vec<Table>>,
        threads: usize,
        rules: RowRules,
        stop: CancellationToken,
    ) -> Result<Readers, String> {
        let threads = threads.clamp(1, tables.len().max(1));
        let (tx, rx) = mpsc::channel(threads * 4);
        let next = Arc::new(AtomicUsize::new(0));
        let stop = stop.child_token();
        let mut handles = Vec::with_capacity(threads);
        let mut ready = Vec::with_capacity(threads);
        for n in 0..threads {
            let (ready_tx, ready_rx) = oneshot::channel();
            ready.push(ready_rx);
            let reader = Reader {
                options: options.clone(),
                snapshot: snapshot.to_owned(),
                tables: tables.clone(),
                next: next.clone(),
                tx: tx.clone(),
                rules: rules.clone(),
                stop: stop.clone(),
            };
            let failures = tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("cdc-snapshot-{n}"))
                .spawn(move || {
                    // A reader's panic fails the snapshot at once, saying so (the others may
                    // still be reading).
                    let run = std::panic::AssertUnwindSafe(|| reader.run(ready_tx));
                    if let Err(panic) = std::panic::catch_unwind(run) {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        let _ = failures.blocking_send(Batch::Failed {
                            message: format!("a snapshot reader panicked: {what}"),
                            retriable: false,
                        });
                    }
                })
                .map_err(|e| format!("cannot start a snapshot reader: {e}"))?;
            handles.push(handle);
        }
        let readers = Readers {
            rx,
            threads: handles,
            stop,
        };
        for r in ready {
            let started = tokio::select! {
                r = r => r,
                _ = readers.stop.cancelled() => return Err("stopped".into()),
            };
            match started {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("a snapshot reader stopped while starting".into()),
            }
        }
        Ok(readers)
    }

    /// The next batch; `None` once every reader has finished.
    pub async fn next(&mut self) -> Option<Batch> {
        self.rx.recv().await
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.stop.cancel();
        self.rx.close();
        // A reader waiting for the server or for room in the channel sees the stop at once
        // and drops its connection (ending its query and transaction); the threads are not
        // joined here, where the capture's runtime would be held up.
        self.threads.clear();
    }
}

struct Reader {
    options: PgConnectOptions,
    snapshot: String,
    tables: Arc<Vec<Table>>,
    next: Arc<AtomicUsize>,
    tx: mpsc::Sender<Batch>,
    rules: RowRules,
    stop: CancellationToken,
}

impl Reader {
    fn run(self, ready: oneshot::Sender<Result<(), String>>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                let _ = ready.send(Err(format!("cannot start a snapshot reader: {e}")));
                return;
            }
        };
        runtime.block_on(async move {
            let mut conn = match self.open().await {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            if ready.send(Ok(())).is_err() {
                return;
            }
            if let Err(failed) = self.read_tables(&mut conn).await {
                let _ = self.tx.send(failed).await;
            }
            let _ = conn.close().await;
        });
    }

    /// A connection in a read-only repeatable-read transaction on the exported snapshot.
    async fn open(&self) -> Result<PgConnection, String> {
        let mut conn =
            tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&self.options))
                .await
                .map_err(|_| format!("snapshot reader: no connection within {CONNECT_TIMEOUT:?}"))?
                .map_err(|e| format!("snapshot reader: cannot connect: {e}"))?;
        let begin = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
            quote_literal(&self.snapshot)
        );
        sqlx::raw_sql(&begin)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("snapshot reader: cannot import the exported snapshot: {e}"))?;
        Ok(conn)
    }

    async fn read_tables(&self, conn: &mut PgConnection) -> Result<(), Batch> {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(table) = self.tables.get(index) else {
                return Ok(());
            };
            if !self.read_table(conn, index, table).await? {
                return Ok(());
            }
            if self.tx.send(Batch::Done { table: index }).await.is_err() {
                return Ok(());
            }
        }
    }

    /// Reads one table; `false` when nobody listens any more.
    async fn read_table(
        &self,
        conn: &mut PgConnection,
        index: usize,
        table: &Table,
    ) -> Result<bool, Batch> {
        let schema = &table.schema;
        let name = format!("{}.{}", schema.schema, schema.table);
        let sql_error = |e: sqlx::Error| Batch::Failed {
            retriable: retriable(&e),
            message: format!("snapshot of {name}: {e}"),
        };
        let mut rows = sqlx::raw_sql(&table.select).fetch(&mut *conn);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            // A stop does not wait for the server (a lock wait, a slow statement): the
            // connection is dropped, which ends the query and its transaction.
            let next = tokio::select! {
                next = rows.try_next() => next.map_err(sql_error)?,
                _ = self.stop.cancelled() => return Ok(false),
            };
            let Some(pg_row) = next else { break };
            let cells = (0..schema.columns.len()).map(|i| match text_cell(&pg_row, i) {
                Ok(Some(text)) => Cell::Text(text),
                Ok(None) => Cell::Null,
                Err(_) => Cell::Invalid,
            });
            match schema.row(cells, None, &self.rules.placeholder) {
                Ok(row) => batch.push(row),
                Err(e) => match self.rules.failure {
                    FailureMode::Fail => {
                        return Err(Batch::Failed {
                            message: format!("snapshot: {e}"),
                            retriable: false,
                        })
                    }
                    FailureMode::Warn => note!(warn, error = %e, "snapshot row skipped"),
                    FailureMode::Skip => {}
                },
            }
            if batch.len() == BATCH {
                if self.stop.is_cancelled() {
                    return Ok(false);
                }
                let rows = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if self
                    .tx
                    .send(Batch::Rows { table: index, rows })
                    .await
                    .is_err()
                {
                    return Ok(false);
                }
            }
        }
        if !batch.is_empty()
            && self
                .tx
                .send(Batch::Rows {
                    table: index,
                    rows: batch,
                })
                .await
                .is_err()
        {
            return Ok(false);
        }
        Ok(true)
    }
}

/// Debezium's `source.snapshot` markers over rows that come table by table, several
/// tables interleaved: `first` (the snapshot's first record), `first_in_data_collection`,
/// `last_in_data_collection`, `true`, and `last` (its final record). Each table's latest row
/// is held until the next one (or the table's end) says which it is, and a finished table's
/// last row until another one finishes, so that the final record can be marked `last`.
pub struct Markers {
    /// Per table: its latest row and whether it is the table's first.
    held: Vec<Option<(Row, bool)>>,
    started: Vec<bool>,
    done: Vec<bool>,
    nothing_emitted: bool,
    /// A finished table's last row: (table, row, first in table).
    deferred: Option<(usize, Row, bool)>,
}

/// What the snapshot does next, in order.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Emit the row of this table with this marker.
    Emit(usize, Row, &'static str),
    /// Every row of the table is emitted (or it had none): record it as read.
    Finished(usize),
}

impl Markers {
    pub fn new(tables: usize) -> Markers {
        Markers {
            held: vec![None; tables],
            started: vec![false; tables],
            done: vec![false; tables],
            nothing_emitted: true,
            deferred: None,
        }
    }

    fn marker(&mut self, first_in_table: bool, last_in_table: bool) -> &'static str {
        // Debezium's precedence: last (the caller's), first, last_in_…, first_in_…, true.
        let m = if self.nothing_emitted {
            "first"
        } else if last_in_table {
            "last_in_data_collection"
        } else if first_in_table {
            "first_in_data_collection"
        } else {
            "true"
        };
        self.nothing_emitted = false;
        m
    }

    /// A finished table's last row is not the snapshot's last after all.
    fn release_deferred(&mut self, out: &mut Vec<Step>) {
        if let Some((t, row, first)) = self.deferred.take() {
            let marker = self.marker(first, true);
            out.push(Step::Finished(t));
            out.push(Step::Emit(t, row, marker));
        }
    }

    /// A row of `table`.
    pub fn row(&mut self, table: usize, row: Row, out: &mut Vec<Step>) {
        self.release_deferred(out);
        let first_in_table = !std::mem::replace(&mut self.started[table], true);
        if let Some((previous, first)) = self.held[table].replace((row, first_in_table)) {
            let marker = self.marker(first, false);
            out.push(Step::Emit(table, previous, marker));
        }
    }

    /// Every row of `table` came.
    pub fn done(&mut self, table: usize, out: &mut Vec<Step>) {
        self.done[table] = true;
        match self.held[table].take() {
            None => out.push(Step::Finished(table)),
            Some((row, first)) => {
                self.release_deferred(out);
                self.deferred = Some((table, row, first));
            }
        }
    }

    /// Whether every table finished.
    pub fn complete(&self) -> bool {
        self.done.iter().all(|d| *d)
    }

    /// The snapshot's final row (marked `last` by the caller), once every table finished.
    pub fn finish(&mut self) -> Option<(usize, Row)> {
        self.deferred.take().map(|(t, row, _)| (t, row))
    }
}

/// Whether a failed read may succeed when the capture starts again: connection and
/// operator-intervention errors, rollbacks (serialization, deadlock) and exhausted resources;
/// not SQL errors in a statement (a bad override, a missing table).
fn retriable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            ["08", "40", "53", "57", "58"]
                .iter()
                .any(|class| c.starts_with(class))
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements() {
        let columns = ["id".to_owned(), "na\"me".to_owned()];
        assert_eq!(
            select_sql("public", "t", &columns, None),
            r#"SELECT "id", "na""me" FROM "public"."t""#
        );
        let present = ["id".to_owned()];
        assert_eq!(
            select_sql(
                "public",
                "t",
                &columns,
                Some(("SELECT id FROM public.t WHERE id > 5 ;", &present))
            ),
            "SELECT src.\"id\", NULL FROM (\nSELECT id FROM public.t WHERE id > 5\n) AS src"
        );
    }

    fn row(n: i32) -> Row {
        vec![tributary_connector_api::Value::Int32(n)]
    }

    /// What the steps did: (table, marker) per emitted row, `(t, "done")` per finished table.
    fn steps(out: &mut Vec<Step>) -> Vec<(usize, &'static str)> {
        out.drain(..)
            .map(|s| match s {
                Step::Emit(t, _, m) => (t, m),
                Step::Finished(t) => (t, "done"),
            })
            .collect()
    }

    #[test]
    fn markers_over_interleaved_tables() {
        // Tables 0 (3 rows) and 1 (2 rows) interleaved, table 2 empty, then table 3 (1 row).
        let mut m = Markers::new(4);
        let out = &mut Vec::new();
        m.row(0, row(1), out);
        m.row(1, row(10), out);
        assert_eq!(steps(out), []);
        m.row(0, row(2), out);
        m.row(1, row(11), out);
        assert_eq!(steps(out), [(0, "first"), (1, "first_in_data_collection")]);
        m.done(2, out);
        assert_eq!(steps(out), [(2, "done")]);
        m.row(0, row(3), out);
        assert_eq!(steps(out), [(0, "true")]);
        // Table 1 finished: its last row waits, it may be the snapshot's last…
        m.done(1, out);
        assert_eq!(steps(out), []);
        // …but table 3 has a row: table 1's last row goes out, and table 1 is read.
        m.row(3, row(30), out);
        assert_eq!(steps(out), [(1, "done"), (1, "last_in_data_collection")]);
        m.done(3, out);
        m.done(0, out);
        // A table's only row is its last.
        assert_eq!(steps(out), [(3, "done"), (3, "last_in_data_collection")]);
        assert!(m.complete());
        assert_eq!(m.finish(), Some((0, row(3))));
        assert!(m.finish().is_none());
    }

    #[test]
    fn a_single_row_is_the_last() {
        let mut m = Markers::new(1);
        let out = &mut Vec::new();
        m.row(0, row(1), out);
        m.done(0, out);
        assert_eq!(steps(out), []);
        assert_eq!(m.finish(), Some((0, row(1))));
    }
}
