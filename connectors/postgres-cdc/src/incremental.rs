//! Incremental snapshots (`cdc-extras.md` §2): tables read in chunks ordered by key while
//! streaming goes on, each chunk between two watermarks written to the WAL; a streamed change
//! of a row inside an open window wins over the row read for the chunk (DBLog), so nothing is
//! lost or emitted out of order.
//!
//! Watermarks are rows of the signal table (`signal.data.collection`, Debezium's
//! `insert_insert` / `insert_delete`) or, without one, transactional logical decoding messages
//! (prefix [`WATERMARK_PREFIX`]), which is also how an interrupted initial snapshot resumes.
//! Signals (`execute-snapshot`, `stop-snapshot`, `pause-snapshot`, `resume-snapshot`, `log`)
//! arrive as inserts into the signal table (the `source` channel).
//!
//! Progress is kept in the offsets (`incremental_snapshot_*`); the keys are stored as a JSON
//! array of the key columns' text (Debezium stores a Java-serialised array, which is not
//! portable: a Java connector's offsets taken in the middle of an incremental snapshot do not
//! resume it here).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value as Json};
use tributary_connector_api::{OffsetMap, Value};

use crate::catalog::{quote_ident, quote_literal};
use crate::schemas::TableSchema;
use crate::tuples::Row;

/// The prefix of the logical decoding messages used as watermarks without a signal table.
pub const WATERMARK_PREFIX: &str = "__tributary_snapshot_window";

/// A table queued for an incremental snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// `schema.table`.
    pub id: String,
    pub condition: Option<String>,
    pub surrogate_key: Option<String>,
    pub correlation_id: Option<String>,
}

/// A parsed signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Execute {
        collections: Vec<String>,
        blocking: bool,
        conditions: Vec<(String, String)>,
        surrogate_key: Option<String>,
    },
    Stop {
        collections: Vec<String>,
    },
    Pause,
    Resume,
    Log(String),
    WindowOpen,
    WindowClose,
}

/// Reads a signal row's `type` and `data`; `Err` says why it is ignored.
pub fn parse_signal(kind: &str, data: Option<&str>) -> Result<Signal, String> {
    let data: Json = match data.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => serde_json::from_str(d).map_err(|e| format!("data is not JSON: {e}"))?,
        None => Json::Null,
    };
    let strings = |v: &Json| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match kind {
        "execute-snapshot" => {
            let collections = strings(&data["data-collections"]);
            if collections.is_empty() {
                return Err("execute-snapshot needs a non-empty data-collections list".into());
            }
            let blocking = data["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("blocking"));
            let conditions = data["additional-conditions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| {
                            Some((
                                c["data-collection"].as_str()?.to_owned(),
                                c["filter"].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Signal::Execute {
                collections,
                blocking,
                conditions,
                surrogate_key: data["surrogate-key"].as_str().map(str::to_owned),
            }
        }
        "stop-snapshot" => Signal::Stop {
            collections: strings(&data["data-collections"]),
        },
        "pause-snapshot" => Signal::Pause,
        "resume-snapshot" => Signal::Resume,
        "log" => Signal::Log(data["message"].as_str().unwrap_or_default().to_owned()),
        "snapshot-window-open" => Signal::WindowOpen,
        "snapshot-window-close" => Signal::WindowClose,
        other => return Err(format!("unknown signal type '{other}'")),
    })
}

/// A key as the text of its columns.
pub type KeyText = Vec<Option<String>>;

/// The incremental snapshot in progress.
#[derive(Debug, Default)]
pub struct Incremental {
    pub queue: VecDeque<Collection>,
    /// The last key emitted (the next chunk starts after it).
    pub last_key: Option<KeyText>,
    pub max_key: Option<KeyText>,
    pub correlation_id: Option<String>,
    pub paused: bool,
    /// The open chunk: its id, whether streaming has seen its open watermark, its rows.
    pub chunk: Option<Chunk>,
}

/// One chunk between its watermarks.
#[derive(Debug)]
pub struct Chunk {
    pub id: String,
    pub open: bool,
    pub table: Arc<TableSchema>,
    rows: Vec<Option<(Value, Row)>>,
    index: HashMap<String, usize>,
    /// The key of the chunk's last row.
    pub end: Option<KeyText>,
}

fn key_id(key: &Value) -> String {
    format!("{key:?}")
}

impl Chunk {
    pub fn new(id: String, table: Arc<TableSchema>) -> Chunk {
        Chunk {
            id,
            open: false,
            table,
            rows: Vec::new(),
            index: HashMap::new(),
            end: None,
        }
    }

    pub fn add(&mut self, key: Value, row: Row) {
        self.index.insert(key_id(&key), self.rows.len());
        self.rows.push(Some((key, row)));
    }

    /// A streamed change of `key` while the window is open: the chunk's row is dropped.
    pub fn streamed(&mut self, key: &Value) {
        if self.open {
            if let Some(i) = self.index.remove(&key_id(key)) {
                self.rows[i] = None;
            }
        }
    }

    /// The rows left when the window closes, in key order.
    pub fn take_rows(&mut self) -> Vec<(Value, Row)> {
        self.index.clear();
        std::mem::take(&mut self.rows)
            .into_iter()
            .flatten()
            .collect()
    }
}

static CHUNK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new chunk id (unique within the process and over restarts: time and a counter).
pub fn chunk_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = CHUNK_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:024x}-{n:08x}", nanos)
}

impl Incremental {
    pub fn running(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Adds the context keys to an offset while a snapshot runs.
    pub fn annotate(&self, offset: &mut OffsetMap) {
        if self.queue.is_empty() {
            return;
        }
        let collections: Vec<Json> = self
            .queue
            .iter()
            .map(|c| {
                json!({
                    "incremental_snapshot_collections_id": c.id,
                    "incremental_snapshot_collections_additional_condition": c.condition,
                    "incremental_snapshot_collections_surrogate_key": c.surrogate_key,
                    "incremental_snapshot_collections_correlation_id": c.correlation_id,
                })
            })
            .collect();
        offset.insert(
            "incremental_snapshot_collections".into(),
            Json::String(Json::Array(collections).to_string()),
        );
        let key = |k: &Option<KeyText>| k.as_ref().map(|k| Json::String(json!(k).to_string()));
        if let Some(k) = key(&self.last_key) {
            offset.insert("incremental_snapshot_primary_key".into(), k);
        }
        if let Some(k) = key(&self.max_key) {
            offset.insert("incremental_snapshot_maximum_key".into(), k);
        }
        if let Some(c) = &self.correlation_id {
            offset.insert("incremental_snapshot_correlation_id".into(), json!(c));
        }
    }

    /// The snapshot an offset was taken in (an empty one without the keys).
    pub fn restore(offset: &OffsetMap) -> Incremental {
        let mut state = Incremental::default();
        let Some(text) = offset
            .get("incremental_snapshot_collections")
            .and_then(Json::as_str)
        else {
            return state;
        };
        let Ok(Json::Array(items)) = serde_json::from_str::<Json>(text) else {
            return state;
        };
        let field = |c: &Json, k: &str| c[k].as_str().map(str::to_owned);
        state.queue = items
            .iter()
            .filter_map(|c| {
                Some(Collection {
                    id: field(c, "incremental_snapshot_collections_id")?,
                    condition: field(c, "incremental_snapshot_collections_additional_condition"),
                    surrogate_key: field(c, "incremental_snapshot_collections_surrogate_key"),
                    correlation_id: field(c, "incremental_snapshot_collections_correlation_id"),
                })
            })
            .collect();
        let key =
            |k: &str| -> Option<KeyText> { serde_json::from_str(offset.get(k)?.as_str()?).ok() };
        state.last_key = key("incremental_snapshot_primary_key");
        state.max_key = key("incremental_snapshot_maximum_key");
        state.correlation_id = offset
            .get("incremental_snapshot_correlation_id")
            .and_then(Json::as_str)
            .map(str::to_owned);
        state
    }
}

/// The SQL of a table's chunks. The statements carry their key values as literals: they run
/// through the simple query protocol, whose rows come in PostgreSQL's text output, the same
/// text the stream sends (a `::text` cast differs for bool, inet and char(n)).
#[derive(Debug, Clone)]
pub struct ChunkSql {
    /// `SELECT` of the maximum key.
    pub max_key: String,
    /// `SELECT … FROM … AS src WHERE `
    head: String,
    /// The key row, `ROW(src."a", …)`.
    row: String,
    /// The key columns' SQL types.
    types: Vec<String>,
    /// ` AND (condition) ORDER BY … LIMIT n`
    tail: String,
}

impl ChunkSql {
    /// The first chunk (no lower bound) up to the maximum key.
    pub fn first(&self, max: &[Option<String>]) -> String {
        format!(
            "{}{} <= {}{}",
            self.head,
            self.row,
            self.literal_row(max),
            self.tail
        )
    }

    /// The chunk after `last`, up to the maximum key.
    pub fn next(&self, last: &[Option<String>], max: &[Option<String>]) -> String {
        format!(
            "{}{row} > {} AND {row} <= {}{}",
            self.head,
            self.literal_row(last),
            self.literal_row(max),
            self.tail,
            row = self.row
        )
    }

    fn literal_row(&self, values: &[Option<String>]) -> String {
        let items: Vec<String> = self
            .types
            .iter()
            .enumerate()
            .map(|(i, t)| match values.get(i).cloned().flatten() {
                Some(v) => format!("{}::{t}", quote_literal(&v)),
                None => format!("NULL::{t}"),
            })
            .collect();
        format!("ROW({})", items.join(", "))
    }
}

/// Builds the statements reading `schema.table`'s `columns` in chunks of `size` ordered by
/// the key columns (`(name, SQL type)`), with an optional filter.
pub fn chunk_sql(
    schema: &str,
    table: &str,
    columns: &[String],
    key: &[(String, String)],
    condition: Option<&str>,
    size: usize,
) -> ChunkSql {
    // The table is aliased so that ORDER BY names its columns unambiguously.
    let from = format!("{}.{} AS src", quote_ident(schema), quote_ident(table));
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("src.{}", quote_ident(c)))
        .collect();
    let key_names: Vec<String> = key
        .iter()
        .map(|(n, _)| format!("src.{}", quote_ident(n)))
        .collect();
    let filter = condition.map(|c| format!(" AND ({c})")).unwrap_or_default();
    let where_filter = condition
        .map(|c| format!(" WHERE ({c})"))
        .unwrap_or_default();
    let desc: Vec<String> = key_names.iter().map(|k| format!("{k} DESC")).collect();
    ChunkSql {
        max_key: format!(
            "SELECT {} FROM {from}{where_filter} ORDER BY {} LIMIT 1",
            key_names.join(", "),
            desc.join(", ")
        ),
        head: format!("SELECT {} FROM {from} WHERE ", select.join(", ")),
        row: format!("ROW({})", key_names.join(", ")),
        types: key.iter().map(|(_, t)| t.clone()).collect(),
        tail: format!("{filter} ORDER BY {} LIMIT {size}", key_names.join(", ")),
    }
}

/// The watermark statement: a signal-table row, or a transactional logical message.
pub fn watermark_sql(
    signal_table: Option<&str>,
    id: &str,
    kind: &str,
    delete_open: bool,
) -> String {
    match signal_table {
        Some(table) => {
            let (schema, name) = table.split_once('.').unwrap_or(("public", table));
            let target = format!("{}.{}", quote_ident(schema), quote_ident(name));
            if delete_open && kind == "snapshot-window-close" {
                format!(
                    "DELETE FROM {target} WHERE id = {}",
                    quote_literal(&format!("{id}-open"))
                )
            } else {
                let suffix = if kind == "snapshot-window-open" {
                    "open"
                } else {
                    "close"
                };
                format!(
                    "INSERT INTO {target} VALUES ({}, {}, NULL)",
                    quote_literal(&format!("{id}-{suffix}")),
                    quote_literal(kind)
                )
            }
        }
        None => {
            let suffix = if kind == "snapshot-window-open" {
                "open"
            } else {
                "close"
            };
            format!(
                "SELECT pg_logical_emit_message(true, {}, {})",
                quote_literal(WATERMARK_PREFIX),
                quote_literal(&format!("{id}-{suffix}"))
            )
        }
    }
}

/// Whether `collection` (a regular expression, as in Debezium's signals) names `id`.
pub fn matches(collection: &str, id: &str) -> bool {
    match regex::RegexBuilder::new(&format!("^(?:{collection})$"))
        .size_limit(1 << 20)
        .build()
    {
        Ok(re) => re.is_match(id),
        Err(_) => collection == id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        let s = parse_signal(
            "execute-snapshot",
            Some(r#"{"data-collections": ["public.t", "public\\.a.*"], "type": "incremental", "additional-conditions": [{"data-collection": "public.t", "filter": "x > 1"}]}"#),
        )
        .unwrap();
        assert_eq!(
            s,
            Signal::Execute {
                collections: vec!["public.t".into(), "public\\.a.*".into()],
                blocking: false,
                conditions: vec![("public.t".into(), "x > 1".into())],
                surrogate_key: None,
            }
        );
        assert!(parse_signal("execute-snapshot", Some("{}")).is_err());
        assert!(parse_signal("execute-snapshot", Some("not json")).is_err());
        assert!(parse_signal("dance", None).is_err());
        assert_eq!(parse_signal("pause-snapshot", None).unwrap(), Signal::Pause);
        assert_eq!(
            parse_signal("stop-snapshot", Some(r#"{"type":"incremental"}"#)).unwrap(),
            Signal::Stop {
                collections: vec![]
            }
        );
        assert!(matches("public\\.a.*", "public.abc"));
        assert!(!matches("public.t", "public.tt"));
    }

    #[test]
    fn chunk_statements() {
        let sql = chunk_sql(
            "public",
            "t",
            &["id".into(), "site".into(), "v".into()],
            &[
                ("id".into(), "integer".into()),
                ("site".into(), "text".into()),
            ],
            Some("v > 0"),
            100,
        );
        assert_eq!(
            sql.max_key,
            r#"SELECT src."id", src."site" FROM "public"."t" AS src WHERE (v > 0) ORDER BY src."id" DESC, src."site" DESC LIMIT 1"#
        );
        let (last, max) = (
            [Some("7".to_owned()), Some("o'brien\\x".to_owned())],
            [Some("9".to_owned()), None],
        );
        assert_eq!(
            sql.next(&last, &max),
            r#"SELECT src."id", src."site", src."v" FROM "public"."t" AS src WHERE ROW(src."id", src."site") > ROW(E'7'::integer, E'o''brien\\x'::text) AND ROW(src."id", src."site") <= ROW(E'9'::integer, NULL::text) AND (v > 0) ORDER BY src."id", src."site" LIMIT 100"#
        );
        assert!(sql
            .first(&max)
            .contains(r#"WHERE ROW(src."id", src."site") <= ROW(E'9'::integer, NULL::text) AND"#));
    }

    #[test]
    fn progress_survives_the_offsets() {
        let mut state = Incremental::default();
        state.queue.push_back(Collection {
            id: "public.t".into(),
            condition: Some("(x > 1)".into()),
            surrogate_key: None,
            correlation_id: Some("sig-1".into()),
        });
        state.last_key = Some(vec![Some("41".into())]);
        state.max_key = Some(vec![Some("100".into())]);
        state.correlation_id = Some("sig-1".into());
        let mut offset = OffsetMap::new();
        state.annotate(&mut offset);
        // Offsets go through JSON in the offsets topic.
        let offset: OffsetMap =
            serde_json::from_str(&serde_json::to_string(&offset).unwrap()).unwrap();
        let back = Incremental::restore(&offset);
        assert_eq!(back.queue, state.queue);
        assert_eq!(back.last_key, state.last_key);
        assert_eq!(back.max_key, state.max_key);
        assert!(Incremental::restore(&OffsetMap::new()).queue.is_empty());
    }

    #[test]
    fn watermarks() {
        assert_eq!(
            watermark_sql(Some("public.sig"), "c1", "snapshot-window-open", false),
            r#"INSERT INTO "public"."sig" VALUES (E'c1-open', E'snapshot-window-open', NULL)"#
        );
        assert_eq!(
            watermark_sql(Some("public.sig"), "c1", "snapshot-window-close", true),
            r#"DELETE FROM "public"."sig" WHERE id = E'c1-open'"#
        );
        assert!(
            watermark_sql(None, "c1", "snapshot-window-close", false).contains(
                "pg_logical_emit_message(true, E'__tributary_snapshot_window', E'c1-close')"
            )
        );
    }
}
