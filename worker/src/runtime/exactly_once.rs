//! Exactly-once source tasks (KIP-618): what a task needs beyond an ordinary source task, and
//! the state of its current transaction.
//!
//! An exactly-once task sends its records through a transactional producer and, before each
//! commit, the offsets of every record of the transaction as records of the offsets topic, so
//! the records and the offsets that say they were written become visible together or not at
//! all. Transactions end per `transaction.boundary`: after each polled batch (`poll`) or every
//! `transaction.boundary.interval.ms` (`interval`). A failed commit (a fenced zombie, the broker
//! refusing a record) aborts the transaction and fails the task; the records are then written
//! again by the next instance from the last committed offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary_connector_api::OffsetMap;

use super::TaskControl;
use crate::storage::internal_records::encode_offset_value;
use crate::storage::offsets_topic::KafkaOffsetStore;
use crate::storage::OffsetStore;

/// How long a commit may take before the task fails. A zombie's commit on the test broker is
/// never answered (the broker closes the connection; librdkafka retries) and ends here.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `init_transactions` of a task's producer may take.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a transaction ends (`transaction.boundary`; `connector` is refused by validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// After the records of each poll.
    Poll,
    /// Once this long has passed since the transaction began (checked between polls).
    Interval(Duration),
}

/// One record of the offsets topic: the offset of a source partition, as the transaction
/// writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRecord {
    pub topic: String,
    /// Chosen by the writer (Java's partitioner on the key), so compaction and readers agree
    /// with Java workers.
    pub partition: i32,
    pub key: Vec<u8>,
    /// `None`: a tombstone.
    pub value: Option<Vec<u8>>,
}

/// The connector's offsets topic as an exactly-once task writes it.
pub trait OffsetWriter: Send + Sync {
    /// The record that stores `offset` of `partition` for `connector`.
    fn record(&self, connector: &str, partition: &OffsetMap, offset: &OffsetMap) -> OffsetRecord;
    /// The transaction that wrote these offsets committed: remember them, and copy them where
    /// they are mirrored (the worker's offsets topic, for a connector with its own).
    fn committed(&self, connector: &str, entries: &[(OffsetMap, OffsetMap)]);
}

/// The offsets topic of an exactly-once task: the connector's own (`offsets.storage.topic`),
/// whose offsets are mirrored to the worker's after each commit, or the worker's.
pub struct TopicOffsetWriter {
    pub primary: Arc<KafkaOffsetStore>,
    pub mirror: Option<Arc<KafkaOffsetStore>>,
}

impl OffsetWriter for TopicOffsetWriter {
    fn record(&self, connector: &str, partition: &OffsetMap, offset: &OffsetMap) -> OffsetRecord {
        let key = self.primary.key_for(connector, partition);
        OffsetRecord {
            topic: self.primary.topic().to_owned(),
            partition: self.primary.partition_for(&key),
            key,
            value: Some(encode_offset_value(offset)),
        }
    }

    fn committed(&self, connector: &str, entries: &[(OffsetMap, OffsetMap)]) {
        self.primary.remember(connector, entries);
        if let Some(mirror) = &self.mirror {
            let entries: Vec<(OffsetMap, Option<OffsetMap>)> = entries
                .iter()
                .map(|(p, o)| (p.clone(), Some(o.clone())))
                .collect();
            if let Err(e) = mirror.put(connector, &entries) {
                tracing::warn!(
                    connector,
                    error = %e,
                    "committed offsets not mirrored to the worker's offsets topic"
                );
            }
        }
    }
}

/// Called by the task thread before its producer starts, and again after, with whether the
/// task may go on (a `String` says why not). The control says whether the task is stopping
/// meanwhile (a check that waits gives up then).
pub type Check = Box<dyn FnOnce(&TaskControl) -> Result<(), String> + Send>;

/// What an exactly-once source task is given.
pub struct ExactlyOnceSpec {
    pub boundary: Boundary,
    pub offsets: Arc<dyn OffsetWriter>,
    /// Before the transactional producer is created: the previous generation of the
    /// connector's tasks is fenced (the leader does it, `PUT /connectors/<name>/fence`).
    pub preflight: Check,
    /// After `init_transactions`: the task's configs are still the latest and the task is
    /// still assigned here; otherwise it must not run.
    pub postflight: Check,
}

/// The open transaction of a task: since when, how many records, and the latest offset of
/// each source partition among its records (`O`: the offset, not yet decoded), in the order
/// the partitions were first seen.
#[derive(Debug)]
pub struct Transaction<O> {
    boundary: Boundary,
    opened: Option<Instant>,
    records: u64,
    offsets: Vec<(Arc<OffsetMap>, O)>,
}

impl<O> Transaction<O> {
    pub fn new(boundary: Boundary) -> Transaction<O> {
        Transaction {
            boundary,
            opened: None,
            records: 0,
            offsets: Vec::new(),
        }
    }

    /// Whether a transaction is open.
    pub fn is_open(&self) -> bool {
        self.opened.is_some()
    }

    /// The producer began a transaction at `now`.
    pub fn began(&mut self, now: Instant) {
        debug_assert!(self.opened.is_none(), "a transaction is already open");
        self.opened = Some(now);
        self.records = 0;
        self.offsets.clear();
    }

    /// A record of the task was sent in the transaction.
    pub fn sent(&mut self) {
        self.records += 1;
    }

    /// Records the offset of a record of the transaction (sent, filtered out or skipped): it
    /// replaces the partition's earlier one.
    pub fn offset(&mut self, partition: Arc<OffsetMap>, offset: O) {
        let same = |q: &Arc<OffsetMap>| Arc::ptr_eq(q, &partition) || **q == *partition;
        match self.offsets.iter_mut().rev().find(|(q, _)| same(q)) {
            Some(slot) => slot.1 = offset,
            None => self.offsets.push((partition, offset)),
        }
    }

    /// Records sent in the open transaction.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether the open transaction must be committed now: after a batch (`batch_done`) with
    /// `poll`, once the interval has passed with `interval`.
    pub fn due(&self, now: Instant, batch_done: bool) -> bool {
        let Some(opened) = self.opened else {
            return false;
        };
        match self.boundary {
            Boundary::Poll => batch_done,
            Boundary::Interval(every) => now.saturating_duration_since(opened) >= every,
        }
    }

    /// How long the loop may wait for the next batch before the transaction is due (`None`:
    /// no deadline).
    pub fn time_left(&self, now: Instant) -> Option<Duration> {
        match (self.opened, self.boundary) {
            (Some(opened), Boundary::Interval(every)) => {
                Some(every.saturating_sub(now.saturating_duration_since(opened)))
            }
            _ => None,
        }
    }

    /// The offsets to write before the commit (the transaction stays open).
    pub fn take_offsets(&mut self) -> Vec<(Arc<OffsetMap>, O)> {
        std::mem::take(&mut self.offsets)
    }

    /// Ends the transaction (committed or aborted): its offsets, to write or to forget.
    pub fn close(&mut self) -> Vec<(Arc<OffsetMap>, O)> {
        self.opened = None;
        self.records = 0;
        std::mem::take(&mut self.offsets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn partition(name: &str) -> Arc<OffsetMap> {
        Arc::new(json!({ "file": name }).as_object().cloned().unwrap())
    }

    #[test]
    fn poll_boundary_is_due_after_each_batch_of_an_open_transaction() {
        let now = Instant::now();
        let mut t: Transaction<i64> = Transaction::new(Boundary::Poll);
        assert!(!t.is_open());
        assert!(!t.due(now, true), "nothing open, nothing due");
        t.began(now);
        assert!(t.is_open());
        assert!(!t.due(now + Duration::from_secs(3600), false));
        assert!(t.due(now, true));
        assert_eq!(t.time_left(now), None);
        t.close();
        assert!(!t.is_open());
        assert!(!t.due(now, true));
    }

    #[test]
    fn interval_boundary_is_due_once_the_interval_passed() {
        let now = Instant::now();
        let every = Duration::from_millis(500);
        let mut t: Transaction<i64> = Transaction::new(Boundary::Interval(every));
        assert_eq!(t.time_left(now), None, "no deadline while none is open");
        t.began(now);
        assert!(!t.due(now, true), "a batch alone does not end it");
        assert_eq!(
            t.time_left(now + Duration::from_millis(200)),
            Some(Duration::from_millis(300))
        );
        assert!(!t.due(now + Duration::from_millis(499), true));
        assert!(t.due(now + every, false));
        assert_eq!(t.time_left(now + every * 2), Some(Duration::ZERO));
    }

    #[test]
    fn offsets_keep_the_latest_per_partition_in_first_seen_order() {
        let now = Instant::now();
        let mut t = Transaction::new(Boundary::Poll);
        t.began(now);
        for (p, o) in [("b", 1), ("a", 1), ("a", 2), ("b", 7), ("c", 3)] {
            t.offset(partition(p), o);
            t.sent();
        }
        // A partition equal by value (not the same Arc) is the same partition.
        t.offset(partition("a"), 9);
        assert_eq!(t.records(), 5);
        let offsets: Vec<(String, i64)> = t
            .take_offsets()
            .into_iter()
            .map(|(p, o)| (p["file"].as_str().unwrap().to_owned(), o))
            .collect();
        assert_eq!(
            offsets,
            [
                ("b".to_owned(), 7),
                ("a".to_owned(), 9),
                ("c".to_owned(), 3)
            ]
        );
        assert!(
            t.is_open(),
            "taking the offsets does not end the transaction"
        );
        assert_eq!(t.records(), 5);
        assert!(t.close().is_empty());
        assert_eq!(t.records(), 0);
        // A new transaction starts empty.
        t.began(now);
        assert!(t.close().is_empty());
    }
}
