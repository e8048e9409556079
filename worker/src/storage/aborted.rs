//! Dropping records of aborted transactions that a broker hands to `read_committed` readers
//! anyway.
//!
//! A read-committed consumer relies on the broker's Fetch response to list the aborted
//! transactions in the range it returns; librdkafka drops their records. The test broker
//! (Tansu 0.6) always answers with an empty list, so records of aborted transactions reach
//! read-committed readers (`/work/notes/eos-broker-probe.md` §2). For the worker's own
//! internal topics that matters: an exactly-once task killed between writing its offsets and
//! committing leaves a transaction that the task's next instance aborts; its offsets records
//! must not be applied, or the next instance would start after records that were never
//! committed.
//!
//! The control markers (`COMMIT`/`ABORT`) are written correctly, though. [`AbortedFilter`]
//! reads the partition's record batch headers itself ([`BatchSource`], raw Fetch requests,
//! read-uncommitted so the markers are included) and drops a record when its batch is
//! transactional and the next marker of the same producer id is an `ABORT`: Kafka's own rule,
//! fed from the markers instead of the Fetch response's list. On a broker that does list them
//! the records are already gone and the filter finds nothing to drop; it costs one extra read
//! of the internal topics' batch headers.
//!
//! Only record batch headers are read (they are never compressed), never record contents.

use std::collections::{BTreeMap, HashMap};

/// What a control batch says about its producer's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Commit,
    Abort,
}

/// The transactional facts of one record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    pub producer_id: i64,
    pub transactional: bool,
    /// `Some` for a control batch (a transaction marker).
    pub marker: Option<Marker>,
}

/// Parses the record batches of a Fetch response's `records` bytes (the last one may be
/// cut short by the fetch size: it is left out). Batches of the old message formats (magic 0
/// and 1) are never transactional and are returned as such.
pub fn parse_batches(bytes: &[u8]) -> Vec<BatchInfo> {
    fn i64_at(b: &[u8], at: usize) -> Option<i64> {
        Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
    }
    fn i32_at(b: &[u8], at: usize) -> Option<i32> {
        Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    fn i16_at(b: &[u8], at: usize) -> Option<i16> {
        Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }
    // Record batch v2: baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8,
    // crc u32, attributes i16, lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64,
    // producerId i64, producerEpoch i16, baseSequence i32, recordCount i32, records.
    const ATTRIBUTES: usize = 21;
    const LAST_OFFSET_DELTA: usize = 23;
    const PRODUCER_ID: usize = 43;
    const RECORDS: usize = 61;
    let mut out = Vec::new();
    let mut at = 0usize;
    while let (Some(base), Some(length)) = (i64_at(bytes, at), i32_at(bytes, at + 8)) {
        let Ok(length) = usize::try_from(length) else {
            break;
        };
        let end = at + 12 + length;
        let Some(batch) = bytes.get(at..end) else {
            break; // cut short by the fetch size
        };
        at = end;
        let magic = batch.get(16).copied().unwrap_or(0);
        if magic < 2 {
            // A legacy message set entry: offset is that of its (last) message.
            out.push(BatchInfo {
                base_offset: base,
                last_offset: base,
                producer_id: -1,
                transactional: false,
                marker: None,
            });
            continue;
        }
        let (Some(attributes), Some(delta), Some(producer_id)) = (
            i16_at(batch, ATTRIBUTES),
            i32_at(batch, LAST_OFFSET_DELTA),
            i64_at(batch, PRODUCER_ID),
        ) else {
            break;
        };
        let transactional = attributes & 0x10 != 0;
        let control = attributes & 0x20 != 0;
        let marker = if control {
            // The control record's key: version i16, type i16 (0 ABORT, 1 COMMIT), after the
            // record's length (varint), attributes (i8), timestamp and offset deltas
            // (varints) and the key length (varint). Control batches are never compressed.
            control_type(batch.get(RECORDS..).unwrap_or_default()).map(|t| {
                if t == 0 {
                    Marker::Abort
                } else {
                    Marker::Commit
                }
            })
        } else {
            None
        };
        out.push(BatchInfo {
            base_offset: base,
            last_offset: base.saturating_add(i64::from(delta)),
            producer_id,
            transactional,
            marker,
        });
    }
    out
}

/// The type of the first control record in `records` (a control batch's records).
fn control_type(records: &[u8]) -> Option<i16> {
    fn varint(b: &[u8], at: &mut usize) -> Option<i64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        None
    }
    let mut at = 0;
    varint(records, &mut at)?; // length
    at += 1; // attributes
    varint(records, &mut at)?; // timestamp delta
    varint(records, &mut at)?; // offset delta
    let key_length = varint(records, &mut at)?;
    if key_length < 4 {
        return None;
    }
    let key = records.get(at..at + 4)?;
    Some(i16::from_be_bytes([key[2], key[3]]))
}

/// Reads a partition's record batches from an offset on (raw Fetch, read-uncommitted).
pub trait BatchSource: Send {
    /// The raw `records` bytes from `from` on (empty when there is nothing more).
    fn fetch(&mut self, topic: &str, partition: i32, from: i64) -> Result<Vec<u8>, String>;
}

/// What one partition's batch headers said so far.
#[derive(Debug, Default)]
struct Scan {
    /// The next offset to read batch headers from.
    next: i64,
    /// Transactional batches whose marker was not read yet, per producer id.
    open: HashMap<i64, Vec<(i64, i64)>>,
    /// Offset ranges of aborted transactional batches not yet behind the reader.
    aborted: Vec<(i64, i64)>,
}

impl Scan {
    fn apply(&mut self, batch: &BatchInfo) {
        match batch.marker {
            Some(marker) => {
                let closed = self.open.remove(&batch.producer_id).unwrap_or_default();
                if marker == Marker::Abort {
                    self.aborted.extend(closed);
                }
            }
            None if batch.transactional => self
                .open
                .entry(batch.producer_id)
                .or_default()
                .push((batch.base_offset, batch.last_offset)),
            None => {}
        }
        self.next = self.next.max(batch.last_offset.saturating_add(1));
    }

    /// Whether the fate of the record at `offset` is known from what was read.
    fn knows(&self, offset: i64) -> bool {
        offset < self.next
            && !self
                .open
                .values()
                .flatten()
                .any(|&(first, last)| first <= offset && offset <= last)
    }

    fn is_aborted(&self, offset: i64) -> bool {
        self.aborted
            .iter()
            .any(|&(first, last)| first <= offset && offset <= last)
    }

    /// Forgets aborted ranges wholly before `offset` (records come in offset order).
    fn behind(&mut self, offset: i64) {
        self.aborted.retain(|&(_, last)| last >= offset);
    }
}

/// How many batch reads one record may need before the filter gives up on it (it then keeps
/// the record, as a reader without the filter would).
const MAX_READS_PER_RECORD: usize = 1_000;

/// Drops records of aborted transactions from what a read-committed reader returned (see the
/// module docs).
pub struct AbortedFilter {
    topic: String,
    source: Box<dyn BatchSource>,
    scans: BTreeMap<i32, Scan>,
    /// The last read error logged (each different one is logged once).
    last_error: Option<String>,
}

impl AbortedFilter {
    pub fn new(topic: &str, source: Box<dyn BatchSource>) -> AbortedFilter {
        AbortedFilter {
            topic: topic.to_owned(),
            source,
            scans: BTreeMap::new(),
            last_error: None,
        }
    }

    /// Removes the records of aborted transactions from `records` (in offset order per
    /// partition, as a reader returns them); `at` gives a record's (partition, offset).
    pub fn retain<R>(&mut self, records: &mut Vec<R>, at: impl Fn(&R) -> (i32, i64)) {
        if records.is_empty() {
            return;
        }
        let mut dropped = 0usize;
        records.retain(|r| {
            let (partition, offset) = at(r);
            let aborted = self.is_aborted(partition, offset);
            dropped += usize::from(aborted);
            !aborted
        });
        if dropped > 0 {
            tracing::info!(
                topic = %self.topic,
                dropped,
                "dropped records of aborted transactions that the broker returned to a \
                 read-committed reader"
            );
        }
    }

    fn is_aborted(&mut self, partition: i32, offset: i64) -> bool {
        let scan = self.scans.entry(partition).or_default();
        let mut reads = 0;
        while !scan.knows(offset) {
            if reads == MAX_READS_PER_RECORD {
                tracing::warn!(topic = %self.topic, partition, offset, "cannot tell whether a record's transaction was aborted; keeping it");
                return false;
            }
            reads += 1;
            let bytes = match self.source.fetch(&self.topic, partition, scan.next) {
                Ok(b) => b,
                Err(e) => {
                    if self.last_error.as_deref() != Some(e.as_str()) {
                        tracing::warn!(
                            topic = %self.topic,
                            partition,
                            error = %e,
                            "cannot read batch headers to find aborted transactions; keeping \
                             the records"
                        );
                        self.last_error = Some(e);
                    }
                    return false;
                }
            };
            let before = scan.next;
            for batch in &parse_batches(&bytes) {
                if batch.last_offset >= scan.next {
                    scan.apply(batch);
                }
            }
            if scan.next == before {
                // Nothing more to read: the record's marker is not there (yet).
                return false;
            }
        }
        let aborted = scan.is_aborted(offset);
        scan.behind(offset);
        aborted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kafka_log::LogRecord;

    fn varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let byte = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A v2 record batch: `count` records from `base`, with the given flags; a control batch
    /// holds one marker record.
    fn batch(
        base: i64,
        count: i32,
        pid: i64,
        transactional: bool,
        marker: Option<Marker>,
    ) -> Vec<u8> {
        let mut records = Vec::new();
        for i in 0..count {
            let mut r = vec![0u8]; // attributes
            varint(&mut r, 0); // timestamp delta
            varint(&mut r, i64::from(i)); // offset delta
            match marker {
                Some(m) => {
                    varint(&mut r, 4);
                    r.extend_from_slice(&0i16.to_be_bytes());
                    let t: i16 = if m == Marker::Abort { 0 } else { 1 };
                    r.extend_from_slice(&t.to_be_bytes());
                    let value = [0u8, 0, 0, 0, 0, 0];
                    varint(&mut r, value.len() as i64);
                    r.extend_from_slice(&value);
                }
                None => {
                    varint(&mut r, -1); // no key
                    varint(&mut r, 1);
                    r.push(b'v');
                }
            }
            varint(&mut r, 0); // headers
            varint(&mut records, r.len() as i64);
            records.extend_from_slice(&r);
        }
        let mut attributes: i16 = 0;
        if transactional {
            attributes |= 0x10;
        }
        if marker.is_some() {
            attributes |= 0x20;
        }
        let mut body = Vec::new();
        body.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
        body.push(2); // magic
        body.extend_from_slice(&0u32.to_be_bytes()); // crc (not checked)
        body.extend_from_slice(&attributes.to_be_bytes());
        body.extend_from_slice(&(count - 1).to_be_bytes());
        body.extend_from_slice(&0i64.to_be_bytes());
        body.extend_from_slice(&0i64.to_be_bytes());
        body.extend_from_slice(&pid.to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&count.to_be_bytes());
        body.extend_from_slice(&records);
        let mut out = Vec::new();
        out.extend_from_slice(&base.to_be_bytes());
        out.extend_from_slice(&(body.len() as i32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// A partition log made of batches; fetches return at most `per_fetch` batches.
    struct Log {
        batches: Vec<Vec<u8>>,
        per_fetch: usize,
        fetches: std::sync::Arc<std::sync::Mutex<usize>>,
    }

    impl BatchSource for Log {
        fn fetch(&mut self, _topic: &str, _partition: i32, from: i64) -> Result<Vec<u8>, String> {
            *self.fetches.lock().unwrap() += 1;
            let mut out = Vec::new();
            let mut n = 0;
            for b in &self.batches {
                let info = parse_batches(b)[0];
                if info.last_offset >= from && n < self.per_fetch {
                    out.extend_from_slice(b);
                    n += 1;
                }
            }
            Ok(out)
        }
    }

    fn record(offset: i64) -> LogRecord {
        LogRecord {
            partition: 0,
            offset,
            key: None,
            value: None,
        }
    }

    #[test]
    fn batch_headers_and_markers_are_parsed() {
        let mut bytes = batch(0, 3, 7, true, None);
        bytes.extend(batch(3, 1, 7, true, Some(Marker::Commit)));
        bytes.extend(batch(4, 2, -1, false, None));
        bytes.extend(batch(6, 1, 9, true, Some(Marker::Abort)));
        // A batch cut short by the fetch size is left out.
        let cut = batch(7, 4, 3, false, None);
        bytes.extend_from_slice(&cut[..cut.len() - 5]);
        let parsed = parse_batches(&bytes);
        assert_eq!(
            parsed,
            [
                BatchInfo {
                    base_offset: 0,
                    last_offset: 2,
                    producer_id: 7,
                    transactional: true,
                    marker: None
                },
                BatchInfo {
                    base_offset: 3,
                    last_offset: 3,
                    producer_id: 7,
                    transactional: true,
                    marker: Some(Marker::Commit)
                },
                BatchInfo {
                    base_offset: 4,
                    last_offset: 5,
                    producer_id: -1,
                    transactional: false,
                    marker: None
                },
                BatchInfo {
                    base_offset: 6,
                    last_offset: 6,
                    producer_id: 9,
                    transactional: true,
                    marker: Some(Marker::Abort)
                },
            ]
        );
        assert!(parse_batches(&[]).is_empty());
        assert!(parse_batches(&[0, 1, 2]).is_empty());
    }

    #[test]
    fn records_of_aborted_transactions_are_dropped_others_kept() {
        // Offsets: 0-1 committed txn of pid 1 (marker 2); 3-5 txn of pid 2 interleaved with
        // plain 6 and pid 1's next txn 7, pid 2 aborted at 8, pid 1 committed at 9; plain 10.
        let batches = vec![
            batch(0, 2, 1, true, None),
            batch(2, 1, 1, true, Some(Marker::Commit)),
            batch(3, 3, 2, true, None),
            batch(6, 1, -1, false, None),
            batch(7, 1, 1, true, None),
            batch(8, 1, 2, true, Some(Marker::Abort)),
            batch(9, 1, 1, true, Some(Marker::Commit)),
            batch(10, 1, -1, false, None),
        ];
        let fetches = std::sync::Arc::new(std::sync::Mutex::new(0));
        let mut filter = AbortedFilter::new(
            "t",
            Box::new(Log {
                batches,
                per_fetch: 2,
                fetches: fetches.clone(),
            }),
        );
        // As a (Tansu) read-committed reader returns them: every data record.
        let mut records: Vec<LogRecord> =
            [0, 1, 3, 4, 5, 6, 7, 10].into_iter().map(record).collect();
        filter.retain(&mut records, |r| (r.partition, r.offset));
        let kept: Vec<i64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(kept, [0, 1, 6, 7, 10]);
        // Batch headers were read once, in steps, not once per record.
        assert!(
            *fetches.lock().unwrap() <= 6,
            "{} fetches",
            fetches.lock().unwrap()
        );

        // Later records continue from where the headers were read.
        let mut later = vec![record(10)];
        filter.retain(&mut later, |r| (r.partition, r.offset));
        assert_eq!(later.len(), 1);
    }

    #[test]
    fn a_record_whose_marker_cannot_be_read_is_kept() {
        struct Failing;
        impl BatchSource for Failing {
            fn fetch(&mut self, _: &str, _: i32, _: i64) -> Result<Vec<u8>, String> {
                Err("broker unreachable".into())
            }
        }
        let mut filter = AbortedFilter::new("t", Box::new(Failing));
        let mut records = vec![record(0), record(1)];
        filter.retain(&mut records, |r| (r.partition, r.offset));
        assert_eq!(records.len(), 2);

        // An open transaction (no marker yet) keeps its record too.
        let mut filter = AbortedFilter::new(
            "t",
            Box::new(Log {
                batches: vec![batch(0, 2, 4, true, None)],
                per_fetch: 10,
                fetches: Default::default(),
            }),
        );
        let mut records = vec![record(0)];
        filter.retain(&mut records, |r| (r.partition, r.offset));
        assert_eq!(records.len(), 1);
    }
}
