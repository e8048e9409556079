//! The original bytes of sink records delivered to `put` whose offsets are not committed yet,
//! kept (only when a dead letter queue is configured) so that a task holding records across
//! puts — a batching sink that writes a later put's transaction — can still report one as
//! errant and have its bytes reach the DLQ, as Java's `ErrantRecordReporter` allows. Released
//! when the offsets commit or the partition is revoked; bounded by [`HELD_LIMIT_BYTES`], the
//! oldest dropped first (a report for a dropped record fails the task, never skips it).

use std::collections::{BTreeMap, VecDeque};

use tributary_connector_api::{SinkOffsets, TopicPartition};

use super::dead_letter::RawRecord;

/// The most bytes held at once.
pub const HELD_LIMIT_BYTES: usize = 128 << 20;

#[derive(Default)]
pub struct HeldRecords {
    by_partition: BTreeMap<TopicPartition, VecDeque<RawRecord>>,
    bytes: usize,
}

fn size(r: &RawRecord) -> usize {
    r.key.as_ref().map_or(0, Vec::len)
        + r.value.as_ref().map_or(0, Vec::len)
        + r.headers
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum::<usize>()
        + 64
}

impl HeldRecords {
    /// Holds a delivered record (offsets arrive in order per partition).
    pub fn hold(&mut self, tp: &TopicPartition, raw: RawRecord) {
        self.bytes += size(&raw);
        self.by_partition
            .entry(tp.clone())
            .or_default()
            .push_back(raw);
        while self.bytes > HELD_LIMIT_BYTES {
            let Some(oldest) = self
                .by_partition
                .values_mut()
                .filter(|q| !q.is_empty())
                .min_by_key(|q| q.front().map_or(i64::MAX, |r| r.timestamp.unwrap_or(0)))
                .and_then(VecDeque::pop_front)
            else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(size(&oldest));
        }
    }

    /// The held bytes of a record.
    pub fn find(&self, tp: &TopicPartition, offset: i64) -> Option<&RawRecord> {
        let queue = self.by_partition.get(tp)?;
        let i = queue.partition_point(|r| r.offset < offset);
        queue.get(i).filter(|r| r.offset == offset)
    }

    /// Drops what the committed offsets cover (records before each next offset).
    pub fn release(&mut self, committed: &SinkOffsets) {
        for (tp, next) in committed {
            if let Some(queue) = self.by_partition.get_mut(tp) {
                while queue.front().is_some_and(|r| r.offset < *next) {
                    if let Some(r) = queue.pop_front() {
                        self.bytes = self.bytes.saturating_sub(size(&r));
                    }
                }
            }
        }
    }

    /// Drops a partition's records (revoked).
    pub fn forget(&mut self, tp: &TopicPartition) {
        if let Some(queue) = self.by_partition.remove(tp) {
            self.bytes = self
                .bytes
                .saturating_sub(queue.iter().map(size).sum::<usize>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(offset: i64, len: usize) -> RawRecord {
        RawRecord {
            topic: "t".into(),
            partition: 0,
            offset,
            timestamp: Some(offset),
            key: None,
            value: Some(vec![0; len]),
            headers: Vec::new(),
        }
    }

    #[test]
    fn records_are_held_until_committed_or_revoked() {
        let tp = TopicPartition::new("t", 0);
        let mut held = HeldRecords::default();
        for o in 10..20 {
            held.hold(&tp, raw(o, 10));
        }
        assert_eq!(held.find(&tp, 12).map(|r| r.offset), Some(12));
        assert!(held.find(&tp, 9).is_none());
        held.release(&SinkOffsets::from([(tp.clone(), 15)]));
        assert!(held.find(&tp, 12).is_none());
        assert_eq!(held.find(&tp, 15).map(|r| r.offset), Some(15));
        held.forget(&tp);
        assert!(held.find(&tp, 15).is_none());
        assert_eq!(held.bytes, 0);
    }

    #[test]
    fn the_oldest_go_first_past_the_limit() {
        let tp = TopicPartition::new("t", 0);
        let mut held = HeldRecords::default();
        let big = HELD_LIMIT_BYTES / 4;
        for o in 0..6 {
            held.hold(&tp, raw(o, big));
        }
        assert!(held.bytes <= HELD_LIMIT_BYTES);
        assert!(held.find(&tp, 0).is_none(), "the oldest was dropped");
        assert!(held.find(&tp, 5).is_some());
    }
}
