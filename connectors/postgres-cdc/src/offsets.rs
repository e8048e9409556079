//! Debezium's PostgreSQL offsets (`connectors.md` §9 "Offsets", `cdc-extras.md` §6): the
//! partition `{"server": <topic.prefix>}`, and per record `lsn`, `lsn_proc`, `lsn_commit`,
//! `txId`, `ts_usec`, `messageType`, `lsn_events_processed`, plus the snapshot keys.
//!
//! A restart streams from the last completely emitted transaction (`lsn_commit`, which is also
//! what the slot is confirmed to); PostgreSQL then sends every transaction committed after it
//! in full, and the events of a partly emitted transaction up to the stored one are skipped
//! (same `txId`, an earlier LSN, or the same LSN and no more events at it than stored).

use std::sync::Arc;

use serde_json::{json, Value as Json};
use tributary_connector_api::OffsetMap;

/// The source partition of every record of the connector.
pub fn partition(topic_prefix: &str) -> Arc<OffsetMap> {
    let mut m = OffsetMap::new();
    m.insert("server".into(), Json::String(topic_prefix.to_owned()));
    Arc::new(m)
}

/// Where streaming stands after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamPosition {
    /// The event's own LSN.
    pub lsn: u64,
    /// The end LSN of the last transaction whose events were all emitted.
    pub lsn_commit: u64,
    pub tx_id: Option<u32>,
    /// Commit time of the event's transaction, µs since the Unix epoch.
    pub ts_usec: i64,
    pub message_type: MessageType,
    /// Events emitted at `lsn` so far (several changes can share one LSN).
    pub events_at_lsn: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageType {
    #[default]
    Begin,
    Insert,
    Update,
    Delete,
    Truncate,
    Message,
    Commit,
}

impl MessageType {
    fn name(self) -> &'static str {
        match self {
            MessageType::Begin => "BEGIN",
            MessageType::Insert => "INSERT",
            MessageType::Update => "UPDATE",
            MessageType::Delete => "DELETE",
            MessageType::Truncate => "TRUNCATE",
            MessageType::Message => "MESSAGE",
            MessageType::Commit => "COMMIT",
        }
    }
}

impl StreamPosition {
    pub fn offset(&self) -> OffsetMap {
        // Each message is the last one at its LSN, so it is processed up to its own LSN
        // (Debezium's `lsn_proc`); `lsn_commit` says which transactions are complete.
        let mut m = OffsetMap::new();
        m.insert("lsn".into(), json!(self.lsn));
        m.insert("lsn_proc".into(), json!(self.lsn));
        if self.lsn_commit > 0 {
            m.insert("lsn_commit".into(), json!(self.lsn_commit));
        }
        if let Some(tx) = self.tx_id {
            m.insert("txId".into(), json!(tx));
        }
        m.insert("ts_usec".into(), json!(self.ts_usec));
        m.insert("messageType".into(), json!(self.message_type.name()));
        if self.events_at_lsn > 1 {
            m.insert("lsn_events_processed".into(), json!(self.events_at_lsn));
        }
        m
    }
}

/// The offset of a snapshot record; `done` lists the tables read completely so far
/// (`snapshot_tables_done`, Tributary's own key: an interrupted snapshot resumes with the others).
pub fn snapshot_offset(
    consistent_lsn: u64,
    ts_usec: i64,
    last: bool,
    done: &[String],
) -> OffsetMap {
    let mut m = OffsetMap::new();
    if !done.is_empty() && !last {
        m.insert(
            "snapshot_tables_done".into(),
            json!(json!(done).to_string()),
        );
    }
    m.insert("lsn".into(), json!(consistent_lsn));
    m.insert("ts_usec".into(), json!(ts_usec));
    m.insert("snapshot".into(), json!(true));
    m.insert("last_snapshot_record".into(), json!(last));
    if last {
        m.insert("snapshot_completed".into(), json!(true));
    }
    m
}

/// The tables an interrupted snapshot had read completely.
pub fn snapshot_tables_done(o: &OffsetMap) -> Vec<String> {
    o.get("snapshot_tables_done")
        .and_then(Json::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// A stored offset, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub snapshot_completed: bool,
    /// Where streaming resumes (`lsn_commit`, else `lsn_proc`, else `lsn`).
    pub resume_lsn: Option<u64>,
    /// The end of the last transaction emitted completely (`lsn_commit`).
    pub committed_lsn: Option<u64>,
    /// The partly emitted transaction to skip into, if any.
    pub skip: Option<Skip>,
}

/// Events of transaction `tx_id` already emitted: up to `lsn`, and `events_at_lsn` at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    pub tx_id: u32,
    pub lsn: u64,
    pub events_at_lsn: u32,
}

fn number(o: &OffsetMap, key: &str) -> Option<u64> {
    match o.get(key)? {
        Json::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|v| v.max(0) as u64)),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A flag as Debezium writes it: a boolean, or a string (`"INITIAL"`, `"true"`, …) that is
/// set unless it says `false`.
fn flag(o: &OffsetMap, key: &str) -> Option<bool> {
    match o.get(key)? {
        Json::Bool(b) => Some(*b),
        Json::String(s) => Some(!s.is_empty() && !s.eq_ignore_ascii_case("false")),
        Json::Null => None,
        _ => Some(true),
    }
}

impl Stored {
    pub fn read(o: &OffsetMap) -> Stored {
        let in_snapshot = flag(o, "snapshot").unwrap_or(false);
        let snapshot_completed = !in_snapshot
            || flag(o, "last_snapshot_record").unwrap_or(false)
            || flag(o, "snapshot_completed").unwrap_or(false);
        let resume_lsn = number(o, "lsn_commit")
            .or_else(|| number(o, "lsn_proc"))
            .or_else(|| number(o, "lsn"))
            .filter(|l| *l > 0);
        let message_type = o.get("messageType").and_then(Json::as_str);
        let committed_lsn = number(o, "lsn_commit").filter(|l| *l > 0);
        let lsn = number(o, "lsn");
        // A non-transactional message is complete at its own LSN.
        let standalone_message = message_type == Some("MESSAGE") && lsn == committed_lsn;
        let skip = match (number(o, "txId"), lsn, message_type) {
            (_, _, Some("COMMIT")) => None,
            _ if standalone_message || in_snapshot => None,
            // The transaction began, nothing of it was emitted yet.
            (Some(tx), Some(_), Some("BEGIN")) => Some(Skip {
                tx_id: tx as u32,
                lsn: 0,
                events_at_lsn: 0,
            }),
            (Some(tx), Some(lsn), _) => Some(Skip {
                tx_id: tx as u32,
                lsn,
                events_at_lsn: number(o, "lsn_events_processed").unwrap_or(1).max(1) as u32,
            }),
            _ => None,
        };
        Stored {
            snapshot_completed,
            resume_lsn,
            committed_lsn,
            skip,
        }
    }

    /// The LSN confirmed to the slot once this offset is durable: the last complete commit
    /// (`lsn_commit`, else `lsn_proc` as Debezium); nothing for snapshot offsets.
    pub fn flush_lsn(o: &OffsetMap) -> Option<u64> {
        if flag(o, "snapshot").unwrap_or(false) {
            return None;
        }
        number(o, "lsn_commit")
            .or_else(|| number(o, "lsn_proc"))
            .filter(|l| *l > 0)
    }
}

impl Skip {
    /// Whether an event of transaction `tx_id` at `lsn`, the `nth` at that LSN (1-based), was
    /// already emitted before the restart.
    pub fn covers(&self, tx_id: u32, lsn: u64, nth: u32) -> bool {
        tx_id == self.tx_id
            && self.events_at_lsn > 0
            && (lsn < self.lsn || (lsn == self.lsn && nth <= self.events_at_lsn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_inside_a_transaction_resumes_at_the_last_commit_and_skips() {
        let p = StreamPosition {
            lsn: 500,
            lsn_commit: 300,
            tx_id: Some(77),
            ts_usec: 1,
            message_type: MessageType::Insert,
            events_at_lsn: 1,
        };
        let o = p.offset();
        assert_eq!(o["lsn"], json!(500));
        assert_eq!(o["lsn_commit"], json!(300));
        assert_eq!(o["messageType"], json!("INSERT"));
        assert!(!o.contains_key("lsn_events_processed"));
        let s = Stored::read(&o);
        assert!(s.snapshot_completed);
        assert_eq!(s.resume_lsn, Some(300));
        let skip = s.skip.unwrap();
        assert!(skip.covers(77, 400, 1));
        assert!(skip.covers(77, 500, 1));
        assert!(!skip.covers(77, 500, 2));
        assert!(!skip.covers(77, 501, 1));
        assert!(!skip.covers(78, 400, 1));
        assert_eq!(Stored::flush_lsn(&o), Some(300));
    }

    #[test]
    fn a_committed_transaction_resumes_after_itself() {
        let p = StreamPosition {
            lsn: 600,
            lsn_commit: 600,
            tx_id: Some(77),
            ts_usec: 1,
            message_type: MessageType::Commit,
            events_at_lsn: 1,
        };
        let s = Stored::read(&p.offset());
        assert_eq!(s.resume_lsn, Some(600));
        assert_eq!(s.skip, None);
    }

    #[test]
    fn a_begin_offset_skips_nothing_of_its_transaction() {
        let p = StreamPosition {
            lsn: 700,
            lsn_commit: 700,
            tx_id: Some(80),
            ts_usec: 1,
            message_type: MessageType::Begin,
            events_at_lsn: 0,
        };
        let s = Stored::read(&p.offset());
        let skip = s.skip.unwrap();
        assert!(
            !skip.covers(80, 700, 1),
            "the first change shares BEGIN's LSN"
        );
        assert_eq!(s.resume_lsn, Some(700));
    }

    #[test]
    fn debezium_snapshot_flags_as_strings() {
        let o: OffsetMap =
            serde_json::from_str(r#"{"lsn":5,"snapshot":"INITIAL","last_snapshot_record":false}"#)
                .unwrap();
        assert!(!Stored::read(&o).snapshot_completed);
        let o: OffsetMap = serde_json::from_str(r#"{"lsn":5,"snapshot":"false"}"#).unwrap();
        assert!(Stored::read(&o).snapshot_completed);
        let o: OffsetMap =
            serde_json::from_str(r#"{"lsn_commit":9,"lsn":9,"txId":3,"messageType":"MESSAGE"}"#)
                .unwrap();
        assert_eq!(
            Stored::read(&o).skip,
            None,
            "a non-transactional message is complete"
        );
        let o: OffsetMap =
            serde_json::from_str(r#"{"lsn_commit":5,"lsn":9,"txId":3,"messageType":"MESSAGE"}"#)
                .unwrap();
        assert!(
            Stored::read(&o).skip.unwrap().covers(3, 9, 1),
            "a transactional one is not"
        );
    }

    #[test]
    fn snapshot_offsets() {
        let o = snapshot_offset(1000, 5, false, &[]);
        let s = Stored::read(&o);
        assert!(!s.snapshot_completed);
        assert_eq!(Stored::flush_lsn(&o), None);
        let o = snapshot_offset(1000, 5, true, &[]);
        let s = Stored::read(&o);
        assert!(s.snapshot_completed);
        assert_eq!(s.resume_lsn, Some(1000));
        assert_eq!(s.skip, None);
    }

    #[test]
    fn java_debezium_offsets_are_read() {
        // As the Java connector stores them (numbers as longs, a same-LSN count).
        let o: OffsetMap = serde_json::from_str(
            r#"{"transaction_id":null,"lsn_proc":23950184,"messageType":"UPDATE","lsn":23950184,"txId":752,"ts_usec":1700000000000000,"lsn_commit":23949960,"lsn_events_processed":2}"#,
        )
        .unwrap();
        let s = Stored::read(&o);
        assert_eq!(s.resume_lsn, Some(23949960));
        assert_eq!(
            s.skip,
            Some(Skip {
                tx_id: 752,
                lsn: 23950184,
                events_at_lsn: 2
            })
        );
        assert_eq!(partition("srv")["server"], json!("srv"));
    }
}
