//! A read-committed reader that does not trust the broker's list of aborted transactions.
//!
//! The test broker (Tansu 0.6) answers every Fetch with an empty `aborted_transactions` list,
//! so a librdkafka `read_committed` consumer also returns records of aborted transactions
//! (`/work/notes/eos-broker-probe.md`). Its control markers are right, though. This reader
//! speaks the Kafka protocol itself (the essence of the probe's `rawfetch.py`): Fetch v4 with
//! `isolation_level=read_committed` (so nothing past the last stable offset), then it parses
//! the record batches and drops each transactional batch whose producer's next marker is an
//! `ABORT`, which is Kafka's rule fed from the markers.
//!
//! Plain TCP to the bootstrap broker (the test broker is a single node); uncompressed batches
//! only (the worker's producers do not compress unless told to).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One data record read back, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TxnRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub producer_id: i64,
    pub transactional: bool,
}

impl TxnRecord {
    pub fn value_text(&self) -> String {
        String::from_utf8_lossy(self.value.as_deref().unwrap_or_default()).into_owned()
    }
}

/// What a read of one partition found.
#[derive(Debug, Default, Clone)]
pub struct PartitionRead {
    /// Records of committed transactions and non-transactional records, in offset order.
    pub committed: Vec<TxnRecord>,
    /// Records of aborted transactions (what the broker should have hidden).
    pub aborted: Vec<TxnRecord>,
    /// Records of transactions without a marker yet (only with `read_uncommitted`).
    pub open: Vec<TxnRecord>,
    /// The number of COMMIT and ABORT markers.
    pub commits: usize,
    pub aborts: usize,
    pub last_stable_offset: i64,
    pub high_watermark: i64,
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or_else(|| format!("short read at {} (+{n}) of {}", self.at, self.b.len()))?;
        self.at += n;
        Ok(s)
    }
    fn i8(&mut self) -> Result<i8, String> {
        Ok(self.take(1)?[0] as i8)
    }
    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().map_err(|_| "i16")?,
        ))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().map_err(|_| "i32")?,
        ))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| "i64")?,
        ))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(String::new());
        }
        Ok(String::from_utf8_lossy(self.take(n as usize)?).into_owned())
    }
    fn varint(&mut self) -> Result<i64, String> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err("varint too long".into())
    }
    fn bytes_varint(&mut self) -> Result<Option<Vec<u8>>, String> {
        let n = self.varint()?;
        if n < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(n as usize)?.to_vec()))
    }
}

/// One record batch as read.
struct Batch {
    base: i64,
    last: i64,
    producer_id: i64,
    transactional: bool,
    /// `Some(true)` COMMIT, `Some(false)` ABORT.
    marker: Option<bool>,
    records: Vec<TxnRecord>,
}

fn parse_batches(partition: i32, bytes: &[u8]) -> Result<Vec<Batch>, String> {
    let mut out = Vec::new();
    let mut c = Cursor { b: bytes, at: 0 };
    while c.at + 12 <= bytes.len() {
        let base = c.i64()?;
        let length = c.i32()? as usize;
        if c.at + length > bytes.len() {
            break; // cut short by the fetch size
        }
        let mut b = Cursor {
            b: c.take(length)?,
            at: 0,
        };
        b.i32()?; // leader epoch
        let magic = b.i8()?;
        if magic != 2 {
            return Err(format!("message format v{magic} at offset {base}"));
        }
        b.take(4)?; // crc
        let attributes = b.i16()?;
        let last_delta = b.i32()?;
        b.i64()?;
        b.i64()?;
        let producer_id = b.i64()?;
        b.i16()?; // epoch
        b.i32()?; // base sequence
        let count = b.i32()?;
        if attributes & 0x07 != 0 {
            return Err(format!("compressed batch at offset {base}"));
        }
        let transactional = attributes & 0x10 != 0;
        let control = attributes & 0x20 != 0;
        let mut batch = Batch {
            base,
            last: base + i64::from(last_delta),
            producer_id,
            transactional,
            marker: None,
            records: Vec::new(),
        };
        for _ in 0..count {
            b.varint()?; // length
            b.i8()?; // attributes
            b.varint()?; // timestamp delta
            let delta = b.varint()?;
            let key = b.bytes_varint()?;
            let value = b.bytes_varint()?;
            let headers = b.varint()?;
            for _ in 0..headers {
                b.bytes_varint()?;
                b.bytes_varint()?;
            }
            if control {
                let key = key.unwrap_or_default();
                let kind = key.get(2..4).map(|t| i16::from_be_bytes([t[0], t[1]]));
                batch.marker = Some(kind == Some(1));
            } else {
                batch.records.push(TxnRecord {
                    partition,
                    offset: base + delta,
                    key,
                    value,
                    producer_id,
                    transactional,
                });
            }
        }
        out.push(batch);
    }
    Ok(out)
}

/// Fetch v4 of one partition from `offset`: (high watermark, last stable offset, records bytes).
fn fetch(
    broker: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    read_committed: bool,
) -> Result<(i64, i64, Vec<u8>), String> {
    let mut body = Vec::new();
    body.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
    body.extend_from_slice(&100i32.to_be_bytes()); // max wait (Tansu answers nothing at 0)
    body.extend_from_slice(&1i32.to_be_bytes()); // min bytes
    body.extend_from_slice(&(16i32 << 20).to_be_bytes()); // max bytes
    body.push(u8::from(read_committed)); // isolation level
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&partition.to_be_bytes());
    body.extend_from_slice(&offset.to_be_bytes());
    body.extend_from_slice(&(16i32 << 20).to_be_bytes());
    let client = b"txn-verifier";
    let mut frame = Vec::new();
    frame.extend_from_slice(&1i16.to_be_bytes()); // Fetch
    frame.extend_from_slice(&4i16.to_be_bytes()); // v4
    frame.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    frame.extend_from_slice(&(client.len() as i16).to_be_bytes());
    frame.extend_from_slice(client);
    frame.extend_from_slice(&body);
    let mut s = TcpStream::connect(broker).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(&(frame.len() as i32).to_be_bytes())
        .and_then(|()| s.write_all(&frame))
        .map_err(|e| e.to_string())?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len).map_err(|e| e.to_string())?;
    let mut data = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut data).map_err(|e| e.to_string())?;
    let mut r = Cursor { b: &data, at: 0 };
    if r.i32()? != 7 {
        return Err("correlation id mismatch".into());
    }
    r.i32()?; // throttle
    let topics = r.i32()?;
    for _ in 0..topics {
        let _name = r.string()?;
        let partitions = r.i32()?;
        for _ in 0..partitions {
            let p = r.i32()?;
            let error = r.i16()?;
            let hw = r.i64()?;
            let lso = r.i64()?;
            let aborted = r.i32()?;
            for _ in 0..aborted.max(0) {
                r.i64()?;
                r.i64()?;
            }
            let n = r.i32()?;
            let records = if n < 0 {
                Vec::new()
            } else {
                r.take(n as usize)?.to_vec()
            };
            if p == partition {
                if error != 0 {
                    return Err(format!(
                        "Fetch of {topic}-{partition} failed: error {error}"
                    ));
                }
                return Ok((hw, lso, records));
            }
        }
    }
    Ok((-1, -1, Vec::new()))
}

/// Reads a partition from the start: with `read_committed`, up to the last stable offset;
/// else everything. Records of aborted transactions are sorted out by their markers.
pub fn read_partition(
    broker: &str,
    topic: &str,
    partition: i32,
    read_committed: bool,
) -> Result<PartitionRead, String> {
    let mut out = PartitionRead::default();
    let mut open: HashMap<i64, Vec<TxnRecord>> = HashMap::new();
    let mut offset = 0i64;
    loop {
        let (hw, lso, bytes) = fetch(broker, topic, partition, offset, read_committed)?;
        out.high_watermark = hw;
        out.last_stable_offset = lso;
        let batches = parse_batches(partition, &bytes)?;
        let mut progressed = false;
        for batch in batches {
            if batch.last < offset {
                continue;
            }
            progressed = true;
            offset = batch.last + 1;
            match batch.marker {
                Some(commit) => {
                    let records = open.remove(&batch.producer_id).unwrap_or_default();
                    if commit {
                        out.commits += 1;
                        out.committed.extend(records);
                    } else {
                        out.aborts += 1;
                        out.aborted.extend(records);
                    }
                }
                None if batch.transactional => open
                    .entry(batch.producer_id)
                    .or_default()
                    .extend(batch.records),
                None => out.committed.extend(batch.records),
            }
        }
        if !progressed {
            break;
        }
    }
    out.open = open.into_values().flatten().collect();
    out.committed.sort_by_key(|r| r.offset);
    out.aborted.sort_by_key(|r| r.offset);
    out.open.sort_by_key(|r| r.offset);
    Ok(out)
}

/// The committed records of `partitions` of `topic` (read-committed, aborted ones dropped),
/// partition by partition in offset order.
pub fn committed_records(
    broker: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<(Vec<TxnRecord>, usize), String> {
    let mut records = Vec::new();
    let mut aborted = 0;
    for &p in partitions {
        let read = read_partition(broker, topic, p, true)?;
        aborted += read.aborted.len();
        records.extend(read.committed);
    }
    Ok((records, aborted))
}
