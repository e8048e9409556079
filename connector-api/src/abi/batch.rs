//! Record batches: how records cross the plugin boundary (what a source task's poll answers,
//! what a sink task's put receives), in a flat layout written without building records and
//! read in place.
//!
//! A poll of the file source used to build a [`SourceRecord`] per line (a topic, a value and
//! an offset map: four allocations), encode it, and decode it on the worker's side into the
//! same four allocations again; a put did the same the other way. Here the writer puts each
//! record's parts straight into one buffer ([`RecordBatchWriter`]): the topic, schemas and
//! source partitions once per batch, strings and bytes as they are, offsets as a few typed
//! scalars. The reader copies the buffer once and reads records as views ([`BatchRecord`]):
//! strings and bytes are borrowed, and a source offset is decoded only when it is committed.
//!
//! Layout, little-endian throughout:
//! * header: `b"TB"`, version `1`, `first_seq: u64`, `wants_commit_record: u8`, `count: u32`;
//! * then entries, each led by a kind byte. Definitions give the next id of their table:
//!   `DEF_TOPIC` (`u32` length, UTF-8), `DEF_SCHEMA` (`u32` length, postcard [`Schema`]),
//!   `DEF_PARTITION` (`u32` length, an offset map). A `RECORD` is: flags `u8`, topic id
//!   `u32`, then as the flags say a Kafka partition `i32`, a Kafka offset `i64`, a timestamp
//!   `i64`, a timestamp type `u8`, the original topic's id `u32`, a source partition id `u32`,
//!   a source offset (`u32` length, an offset map); then the key and the
//!   value, each a schema id + 1 (`u32`, 0 = no schema), a tag `u8` and for string, bytes and
//!   encoded values a `u32` length and the bytes (encoded = a postcard [`Value`]); then, as
//!   the flags say, the headers (`u32` length, postcard [`Headers`]).
//! * an offset map is a `u32` count of entries, each a key (`u32` length, UTF-8) and a scalar
//!   (a tag `u8` and its payload; anything nested is JSON text).
//!
//! A writer may define the same topic, schema or partition again; a reader never trusts a
//! length or an id: every malformed batch is an error, never a panic.

use std::sync::Arc;

use crate::error::{ConnectError, ConnectResult};
use crate::record::{Headers, OffsetMap, SinkRecord, SourceRecord, TimestampType};
use crate::schema::{Schema, SchemaRef};
use crate::value::{Value, ValueRef};

const MAGIC: [u8; 3] = [b'T', b'B', 1];
const HEADER_LEN: usize = 3 + 8 + 1 + 4;

const RECORD: u8 = 0;
const DEF_TOPIC: u8 = 1;
const DEF_SCHEMA: u8 = 2;
const DEF_PARTITION: u8 = 3;

const F_KAFKA_PARTITION: u8 = 1;
const F_TIMESTAMP: u8 = 2;
const F_SOURCE_PARTITION: u8 = 4;
const F_SOURCE_OFFSET: u8 = 8;
const F_HEADERS: u8 = 16;
const F_KAFKA_OFFSET: u8 = 32;
const F_TIMESTAMP_TYPE: u8 = 64;
const F_ORIGINAL_TOPIC: u8 = 128;

const V_NULL: u8 = 0;
const V_STRING: u8 = 1;
const V_BYTES: u8 = 2;
const V_ENCODED: u8 = 3;
/// A Struct of the slot's schema: only its field values, encoded (postcard `[Value]`), so a
/// record's schema crosses once per batch instead of inside every value.
const V_FIELDS: u8 = 4;

const S_NULL: u8 = 0;
const S_FALSE: u8 = 1;
const S_TRUE: u8 = 2;
const S_I64: u8 = 3;
const S_U64: u8 = 4;
const S_F64: u8 = 5;
const S_STR: u8 = 6;
const S_JSON: u8 = 7;

/// How many recent definitions of each table the writer looks through before defining again.
const RECENT: usize = 8;

/// One scalar of an offset map written from borrowed parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
}

/// A source offset to write: an offset map, or its entries from borrowed parts (so a task
/// need not build a map per record).
#[derive(Debug, Clone, Copy)]
pub enum OffsetRef<'a> {
    Map(&'a OffsetMap),
    Entries(&'a [(&'a str, Scalar<'a>)]),
}

/// A record to write, from borrowed parts: a source record's or a sink record's fields.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub topic: &'a str,
    pub kafka_partition: Option<i32>,
    /// Sink records only.
    pub kafka_offset: Option<i64>,
    pub timestamp: Option<i64>,
    /// Sink records only.
    pub timestamp_type: Option<TimestampType>,
    /// Sink records only: the topic consumed from, when a transformation renamed it.
    pub original_topic: Option<&'a str>,
    /// Source records only.
    pub source_partition: Option<&'a Arc<OffsetMap>>,
    /// Source records only.
    pub source_offset: Option<OffsetRef<'a>>,
    pub key_schema: Option<&'a SchemaRef>,
    pub key: ValueRef<'a>,
    pub value_schema: Option<&'a SchemaRef>,
    pub value: ValueRef<'a>,
    /// `None` or empty: no headers.
    pub headers: Option<&'a Headers>,
}

impl<'a> RecordRef<'a> {
    /// A record to `topic` with every other part absent or null.
    pub fn new(topic: &'a str) -> RecordRef<'a> {
        RecordRef {
            topic,
            kafka_partition: None,
            kafka_offset: None,
            timestamp: None,
            timestamp_type: None,
            original_topic: None,
            source_partition: None,
            source_offset: None,
            key_schema: None,
            key: ValueRef::Null,
            value_schema: None,
            value: ValueRef::Null,
            headers: None,
        }
    }

    /// A view of an owned source record.
    pub fn of_source(r: &'a SourceRecord) -> RecordRef<'a> {
        RecordRef {
            source_partition: r.source_partition.as_ref(),
            source_offset: r.source_offset.as_ref().map(OffsetRef::Map),
            kafka_partition: r.kafka_partition,
            key_schema: r.key_schema.as_ref(),
            key: ValueRef::Value(&r.key),
            value_schema: r.value_schema.as_ref(),
            value: ValueRef::Value(&r.value),
            timestamp: r.timestamp,
            headers: Some(&r.headers),
            ..RecordRef::new(&r.topic)
        }
    }

    /// A view of an owned sink record.
    pub fn of_sink(r: &'a SinkRecord) -> RecordRef<'a> {
        RecordRef {
            kafka_partition: Some(r.kafka_partition),
            kafka_offset: Some(r.kafka_offset),
            timestamp: r.timestamp,
            timestamp_type: Some(r.timestamp_type),
            original_topic: r.original_topic.as_deref(),
            key_schema: r.key_schema.as_ref(),
            key: ValueRef::Value(&r.key),
            value_schema: r.value_schema.as_ref(),
            value: ValueRef::Value(&r.value),
            headers: Some(&r.headers),
            ..RecordRef::new(&r.topic)
        }
    }
}

fn timestamp_type_code(t: TimestampType) -> u8 {
    match t {
        TimestampType::NoTimestampType => 0,
        TimestampType::CreateTime => 1,
        TimestampType::LogAppendTime => 2,
    }
}

fn too_big(what: &str) -> ConnectError {
    ConnectError::new(format!(
        "a record's {what} is larger than a batch can carry (4 GiB)"
    ))
}

/// Writes a batch of records: one poll's, or one put's (see the module documentation).
pub struct RecordBatchWriter {
    buf: Vec<u8>,
    count: u32,
    /// Recently defined topics: (id, start, length) of their bytes in `buf`.
    topics: Vec<(u32, usize, usize)>,
    next_topic: u32,
    /// Recently defined schemas and partitions; the `Arc`s are held so an address is never
    /// reused for another value while the batch is written.
    schemas: Vec<(SchemaRef, u32)>,
    next_schema: u32,
    partitions: Vec<(Arc<OffsetMap>, u32)>,
    next_partition: u32,
}

impl Default for RecordBatchWriter {
    fn default() -> Self {
        RecordBatchWriter::with_capacity(0)
    }
}

impl RecordBatchWriter {
    /// A writer whose buffer starts with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> RecordBatchWriter {
        let mut buf = Vec::with_capacity(bytes.max(HEADER_LEN));
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&[0; HEADER_LEN - 3]);
        RecordBatchWriter {
            buf,
            count: 0,
            topics: Vec::new(),
            next_topic: 0,
            schemas: Vec::new(),
            next_schema: 0,
            partitions: Vec::new(),
            next_partition: 0,
        }
    }

    /// Records written so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Writes an owned source record.
    pub fn push_source(&mut self, record: &SourceRecord) -> ConnectResult<()> {
        self.push(&RecordRef::of_source(record))
    }

    /// Writes an owned sink record.
    pub fn push_sink(&mut self, record: &SinkRecord) -> ConnectResult<()> {
        self.push(&RecordRef::of_sink(record))
    }

    /// Writes a record from borrowed parts. On an error the batch is as it was.
    pub fn push(&mut self, r: &RecordRef<'_>) -> ConnectResult<()> {
        let mark = (
            self.buf.len(),
            self.next_topic,
            self.next_schema,
            self.next_partition,
        );
        let written = self.write(r);
        if written.is_err() || self.buf.len() > u32::MAX as usize {
            // Forget the definitions this record made: they are cut off with it.
            (self.next_topic, self.next_schema, self.next_partition) = (mark.1, mark.2, mark.3);
            self.buf.truncate(mark.0);
            self.topics.clear();
            self.schemas.clear();
            self.partitions.clear();
            written?;
            return Err(too_big("batch"));
        }
        Ok(())
    }

    fn write(&mut self, r: &RecordRef<'_>) -> ConnectResult<()> {
        let count = self
            .count
            .checked_add(1)
            .ok_or_else(|| ConnectError::new("a batch holds at most 2^32-1 records"))?;
        let topic = self.topic_id(r.topic)?;
        let original_topic = match r.original_topic {
            Some(t) => Some(self.topic_id(t)?),
            None => None,
        };
        let partition = match r.source_partition {
            Some(p) => Some(self.partition_id(p)?),
            None => None,
        };
        let key_schema = self.schema_id(r.key_schema)?;
        let value_schema = self.schema_id(r.value_schema)?;
        let headers = r.headers.filter(|h| !h.is_empty());
        let mut flags = 0;
        for (present, flag) in [
            (r.kafka_partition.is_some(), F_KAFKA_PARTITION),
            (r.kafka_offset.is_some(), F_KAFKA_OFFSET),
            (r.timestamp.is_some(), F_TIMESTAMP),
            (r.timestamp_type.is_some(), F_TIMESTAMP_TYPE),
            (original_topic.is_some(), F_ORIGINAL_TOPIC),
            (partition.is_some(), F_SOURCE_PARTITION),
            (r.source_offset.is_some(), F_SOURCE_OFFSET),
            (headers.is_some(), F_HEADERS),
        ] {
            if present {
                flags |= flag;
            }
        }
        self.buf.push(RECORD);
        self.buf.push(flags);
        self.put_u32(topic);
        if let Some(p) = r.kafka_partition {
            self.buf.extend_from_slice(&p.to_le_bytes());
        }
        if let Some(o) = r.kafka_offset {
            self.buf.extend_from_slice(&o.to_le_bytes());
        }
        if let Some(t) = r.timestamp {
            self.buf.extend_from_slice(&t.to_le_bytes());
        }
        if let Some(t) = r.timestamp_type {
            self.buf.push(timestamp_type_code(t));
        }
        if let Some(t) = original_topic {
            self.put_u32(t);
        }
        if let Some(p) = partition {
            self.put_u32(p);
        }
        if let Some(offset) = r.source_offset {
            self.sized(|buf| write_offset(buf, offset))?;
        }
        self.put_value(key_schema, r.key)?;
        self.put_value(value_schema, r.value)?;
        if let Some(h) = headers {
            self.sized(|buf| super::encode_into(h, buf).map_err(ConnectError::new))?;
        }
        self.count = count;
        Ok(())
    }

    /// The finished batch, numbered from `first_seq` for `commitRecord`.
    pub fn finish(mut self, first_seq: u64, wants_commit_record: bool) -> Vec<u8> {
        self.buf[3..11].copy_from_slice(&first_seq.to_le_bytes());
        self.buf[11] = u8::from(wants_commit_record);
        self.buf[12..16].copy_from_slice(&self.count.to_le_bytes());
        self.buf
    }

    fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a `u32` length, then what `write` appends, then patches the length.
    fn sized(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> ConnectResult<()>,
    ) -> ConnectResult<()> {
        let at = self.buf.len();
        self.put_u32(0);
        write(&mut self.buf)?;
        let len = u32::try_from(self.buf.len() - at - 4).map_err(|_| too_big("part"))?;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    fn put_bytes(&mut self, bytes: &[u8]) -> ConnectResult<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| too_big("value"))?;
        self.put_u32(len);
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn put_value(&mut self, schema: u32, value: ValueRef<'_>) -> ConnectResult<()> {
        self.put_u32(schema);
        match value {
            ValueRef::Null | ValueRef::Value(Value::Null) => self.buf.push(V_NULL),
            ValueRef::String(s) => {
                self.buf.push(V_STRING);
                self.put_bytes(s.as_bytes())?;
            }
            ValueRef::Value(Value::String(s)) => {
                self.buf.push(V_STRING);
                self.put_bytes(s.as_bytes())?;
            }
            ValueRef::Bytes(b) => {
                self.buf.push(V_BYTES);
                self.put_bytes(b)?;
            }
            ValueRef::Value(Value::Bytes(b)) => {
                self.buf.push(V_BYTES);
                self.put_bytes(b)?;
            }
            ValueRef::Value(Value::Struct(s))
                if schema > 0 && self.is_schema(schema, s.schema()) =>
            {
                self.buf.push(V_FIELDS);
                self.sized(|buf| write_fields(buf, s.schema(), s.values()))?;
            }
            ValueRef::Value(v) => {
                self.buf.push(V_ENCODED);
                self.sized(|buf| super::encode_into(v, buf).map_err(ConnectError::new))?;
            }
        }
        Ok(())
    }

    /// Whether schema id + 1 `id` is `schema` itself.
    fn is_schema(&self, id: u32, schema: &SchemaRef) -> bool {
        self.schemas
            .iter()
            .rev()
            .any(|(s, i)| *i + 1 == id && Arc::ptr_eq(s, schema))
    }

    fn topic_id(&mut self, topic: &str) -> ConnectResult<u32> {
        let found =
            self.topics.iter().rev().find(|(_, start, len)| {
                self.buf.get(*start..*start + *len) == Some(topic.as_bytes())
            });
        if let Some((id, _, _)) = found {
            return Ok(*id);
        }
        let id = self.next_topic;
        self.next_topic += 1;
        self.buf.push(DEF_TOPIC);
        self.put_bytes(topic.as_bytes())?;
        let start = self.buf.len() - topic.len();
        remember(&mut self.topics, (id, start, topic.len()));
        Ok(id)
    }

    /// The schema's id + 1, 0 for none.
    fn schema_id(&mut self, schema: Option<&SchemaRef>) -> ConnectResult<u32> {
        let Some(schema) = schema else {
            return Ok(0);
        };
        if let Some((_, id)) = self
            .schemas
            .iter()
            .rev()
            .find(|(s, _)| Arc::ptr_eq(s, schema))
        {
            return Ok(id + 1);
        }
        let id = self.next_schema;
        self.next_schema += 1;
        self.buf.push(DEF_SCHEMA);
        self.sized(|buf| super::encode_into(&**schema, buf).map_err(ConnectError::new))?;
        remember(&mut self.schemas, (schema.clone(), id));
        Ok(id + 1)
    }

    fn partition_id(&mut self, partition: &Arc<OffsetMap>) -> ConnectResult<u32> {
        let same =
            |(p, _): &&(Arc<OffsetMap>, u32)| Arc::ptr_eq(p, partition) || **p == **partition;
        if let Some((_, id)) = self.partitions.iter().rev().find(same) {
            return Ok(*id);
        }
        let id = self.next_partition;
        self.next_partition += 1;
        self.buf.push(DEF_PARTITION);
        self.sized(|buf| write_offset(buf, OffsetRef::Map(partition)))?;
        remember(&mut self.partitions, (partition.clone(), id));
        Ok(id)
    }
}

/// Keeps the last [`RECENT`] definitions.
/// A struct's field values, directed by its schema: a nested Struct whose schema is its
/// field's own schema instance is written as its field values (tag 1, recursively), so the
/// nested schemas travel once with the slot's schema instead of with every record; any other
/// value is written whole (tag 0, length-prefixed).
fn write_fields(buf: &mut Vec<u8>, schema: &SchemaRef, values: &[Value]) -> ConnectResult<()> {
    for (field, value) in schema.fields.iter().zip(values) {
        match value {
            Value::Struct(s) if Arc::ptr_eq(s.schema(), &field.schema) => {
                buf.push(1);
                write_fields(buf, &field.schema, s.values())?;
            }
            other => {
                buf.push(0);
                let at = buf.len();
                buf.extend_from_slice(&[0; 4]);
                super::encode_into(other, buf).map_err(ConnectError::new)?;
                let len = u32::try_from(buf.len() - at - 4).map_err(|_| too_big("part"))?;
                buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
            }
        }
    }
    Ok(())
}

/// Reads what [`write_fields`] wrote; nested structs share their field's schema `Arc`.
fn read_fields(bytes: &mut &[u8], schema: &SchemaRef) -> Result<Vec<Value>, String> {
    let mut out = Vec::with_capacity(schema.fields.len());
    for field in &schema.fields {
        let (&tag, rest) = bytes
            .split_first()
            .ok_or("record batch: struct fields cut short")?;
        *bytes = rest;
        match tag {
            1 if field.schema.type_ == crate::schema::Type::Struct => {
                let values = read_fields(bytes, &field.schema)?;
                let nested = crate::value::Struct::from_values(field.schema.clone(), values)
                    .map_err(|e| format!("record batch: {}", e.message))?;
                out.push(Value::Struct(nested));
            }
            0 => {
                if bytes.len() < 4 {
                    return Err("record batch: struct fields cut short".into());
                }
                let (len, rest) = bytes.split_at(4);
                let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
                if rest.len() < len {
                    return Err("record batch: struct fields cut short".into());
                }
                let (value, rest) = rest.split_at(len);
                out.push(super::decode(value)?);
                *bytes = rest;
            }
            _ => return Err("record batch: bad struct field tag".into()),
        }
    }
    Ok(out)
}

fn remember<T>(recent: &mut Vec<T>, item: T) {
    if recent.len() == RECENT {
        recent.remove(0);
    }
    recent.push(item);
}

fn put_str(buf: &mut Vec<u8>, s: &str) -> ConnectResult<()> {
    let len = u32::try_from(s.len()).map_err(|_| too_big("offset"))?;
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_scalar(buf: &mut Vec<u8>, v: Scalar<'_>) -> ConnectResult<()> {
    match v {
        Scalar::Null => buf.push(S_NULL),
        Scalar::Bool(b) => buf.push(if b { S_TRUE } else { S_FALSE }),
        Scalar::I64(i) => {
            buf.push(S_I64);
            buf.extend_from_slice(&i.to_le_bytes());
        }
        Scalar::U64(u) => {
            buf.push(S_U64);
            buf.extend_from_slice(&u.to_le_bytes());
        }
        Scalar::F64(f) if f.is_finite() => {
            buf.push(S_F64);
            buf.extend_from_slice(&f.to_le_bytes());
        }
        Scalar::F64(f) => {
            return Err(ConnectError::new(format!(
                "an offset cannot hold {f} (JSON has no such number)"
            )))
        }
        Scalar::Str(s) => {
            buf.push(S_STR);
            put_str(buf, s)?;
        }
    }
    Ok(())
}

fn put_json(buf: &mut Vec<u8>, v: &serde_json::Value) -> ConnectResult<()> {
    use serde_json::Value as J;
    match v {
        J::Null => put_scalar(buf, Scalar::Null),
        J::Bool(b) => put_scalar(buf, Scalar::Bool(*b)),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => put_scalar(buf, Scalar::I64(i)),
            (_, Some(u), _) => put_scalar(buf, Scalar::U64(u)),
            (_, _, Some(f)) => put_scalar(buf, Scalar::F64(f)),
            _ => {
                buf.push(S_JSON);
                put_str(buf, &n.to_string())
            }
        },
        J::String(s) => put_scalar(buf, Scalar::Str(s)),
        nested => {
            buf.push(S_JSON);
            put_str(buf, &nested.to_string())
        }
    }
}

fn write_offset(buf: &mut Vec<u8>, offset: OffsetRef<'_>) -> ConnectResult<()> {
    match offset {
        OffsetRef::Map(map) => {
            let n = u32::try_from(map.len()).map_err(|_| too_big("offset"))?;
            buf.extend_from_slice(&n.to_le_bytes());
            for (k, v) in map {
                put_str(buf, k)?;
                put_json(buf, v)?;
            }
        }
        OffsetRef::Entries(entries) => {
            let n = u32::try_from(entries.len()).map_err(|_| too_big("offset"))?;
            buf.extend_from_slice(&n.to_le_bytes());
            for (k, v) in entries {
                put_str(buf, k)?;
                put_scalar(buf, *v)?;
            }
        }
    }
    Ok(())
}

/// A run of bytes within the batch.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// A key or value slot of a record.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Schema id + 1; 0 = none.
    schema: u32,
    tag: u8,
    span: Span,
}

/// Where a record's parts are.
#[derive(Debug, Clone, Copy)]
struct At {
    flags: u8,
    topic: u32,
    kafka_partition: i32,
    kafka_offset: i64,
    timestamp: i64,
    timestamp_type: TimestampType,
    original_topic: u32,
    partition: u32,
    offset: Span,
    key: Slot,
    value: Slot,
    headers: Span,
}

/// A batch of records, owned by its reader (the worker for a poll, the plugin for a put) and
/// read in place.
pub struct RecordBatch {
    bytes: Vec<u8>,
    topics: Vec<Span>,
    schemas: Vec<SchemaRef>,
    partitions: Vec<Arc<OffsetMap>>,
    records: Vec<At>,
    first_seq: u64,
    wants_commit_record: bool,
}

impl std::fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatch")
            .field("records", &self.records.len())
            .field("bytes", &self.bytes.len())
            .field("first_seq", &self.first_seq)
            .finish()
    }
}

/// Reads the batch front to back, checking every length and id.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("record batch truncated at byte {}", self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn span(&mut self) -> Result<Span, String> {
        let len = self.u32()?;
        let start = u32::try_from(self.pos).map_err(|_| "record batch over 4 GiB".to_string())?;
        self.take(len as usize)?;
        Ok(Span { start, len })
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|e| format!("record batch: {e}"))
    }
}

fn check_id(id: u32, defined: usize, what: &str) -> Result<(), String> {
    if (id as usize) < defined {
        Ok(())
    } else {
        Err(format!("record batch refers to undefined {what} {id}"))
    }
}

fn read_slot(r: &mut Reader<'_>, schemas: usize) -> Result<Slot, String> {
    let schema = r.u32()?;
    if schema > 0 {
        check_id(schema - 1, schemas, "schema")?;
    }
    let tag = r.u8()?;
    let span = match tag {
        V_NULL => Span::default(),
        V_STRING => {
            let span = r.span()?;
            std::str::from_utf8(&r.bytes[span.range()])
                .map_err(|e| format!("record batch: string value: {e}"))?;
            span
        }
        V_BYTES | V_ENCODED => r.span()?,
        V_FIELDS if schema > 0 => r.span()?,
        V_FIELDS => return Err("record batch: struct fields without a schema".into()),
        other => return Err(format!("record batch: unknown value tag {other}")),
    };
    Ok(Slot { schema, tag, span })
}

/// Checks an offset map's layout without building it (its JSON text is checked when read).
fn check_offset(bytes: &[u8]) -> Result<(), String> {
    let mut r = Reader { bytes, pos: 0 };
    let n = r.u32()?;
    for _ in 0..n {
        r.str()?;
        match r.u8()? {
            S_NULL | S_FALSE | S_TRUE => {}
            S_I64 | S_U64 | S_F64 => {
                r.take(8)?;
            }
            S_STR | S_JSON => {
                r.str()?;
            }
            other => return Err(format!("record batch: unknown offset value tag {other}")),
        }
    }
    if r.pos != bytes.len() {
        return Err("record batch: trailing bytes after an offset map".into());
    }
    Ok(())
}

fn read_offset(bytes: &[u8]) -> Result<OffsetMap, String> {
    use serde_json::Value as J;
    let mut r = Reader { bytes, pos: 0 };
    let n = r.u32()?;
    let mut map = OffsetMap::new();
    for _ in 0..n {
        let key = r.str()?;
        let value = match r.u8()? {
            S_NULL => J::Null,
            S_FALSE => J::Bool(false),
            S_TRUE => J::Bool(true),
            S_I64 => J::from(i64::from_le_bytes(r.array()?)),
            S_U64 => J::from(u64::from_le_bytes(r.array()?)),
            S_F64 => serde_json::Number::from_f64(f64::from_le_bytes(r.array()?))
                .map_or(J::Null, J::Number),
            S_STR => J::String(r.str()?.to_owned()),
            S_JSON => serde_json::from_str(r.str()?)
                .map_err(|e| format!("record batch: offset value: {e}"))?,
            other => return Err(format!("record batch: unknown offset value tag {other}")),
        };
        map.insert(key.to_owned(), value);
    }
    if r.pos != bytes.len() {
        return Err("record batch: trailing bytes after an offset map".into());
    }
    Ok(map)
}

impl RecordBatch {
    /// Reads a batch written by [`RecordBatchWriter`].
    pub fn parse(bytes: Vec<u8>) -> Result<RecordBatch, String> {
        let mut r = Reader {
            bytes: &bytes,
            pos: 0,
        };
        if r.take(3)? != MAGIC {
            return Err("not a record batch (or of another version)".into());
        }
        let first_seq = u64::from_le_bytes(r.array()?);
        let wants_commit_record = r.u8()? != 0;
        let count = r.u32()? as usize;
        // Never trust a count for an allocation: a record takes at least 16 bytes.
        let mut records = Vec::with_capacity(count.min(bytes.len() / 16));
        let (mut topics, mut schemas, mut partitions) = (Vec::new(), Vec::new(), Vec::new());
        while r.pos < bytes.len() {
            match r.u8()? {
                DEF_TOPIC => {
                    let span = r.span()?;
                    std::str::from_utf8(&bytes[span.range()])
                        .map_err(|e| format!("record batch: topic: {e}"))?;
                    topics.push(span);
                }
                DEF_SCHEMA => {
                    let span = r.span()?;
                    let schema: Schema = super::decode(&bytes[span.range()])?;
                    schemas.push(Arc::new(schema));
                }
                DEF_PARTITION => {
                    let span = r.span()?;
                    partitions.push(Arc::new(read_offset(&bytes[span.range()])?));
                }
                RECORD => {
                    let flags = r.u8()?;
                    let topic = r.u32()?;
                    check_id(topic, topics.len(), "topic")?;
                    let mut at = At {
                        flags,
                        topic,
                        kafka_partition: 0,
                        kafka_offset: 0,
                        timestamp: 0,
                        timestamp_type: TimestampType::NoTimestampType,
                        original_topic: 0,
                        partition: 0,
                        offset: Span::default(),
                        key: Slot::default(),
                        value: Slot::default(),
                        headers: Span::default(),
                    };
                    if flags & F_KAFKA_PARTITION != 0 {
                        at.kafka_partition = i32::from_le_bytes(r.array()?);
                    }
                    if flags & F_KAFKA_OFFSET != 0 {
                        at.kafka_offset = i64::from_le_bytes(r.array()?);
                    }
                    if flags & F_TIMESTAMP != 0 {
                        at.timestamp = i64::from_le_bytes(r.array()?);
                    }
                    if flags & F_TIMESTAMP_TYPE != 0 {
                        at.timestamp_type = match r.u8()? {
                            0 => TimestampType::NoTimestampType,
                            1 => TimestampType::CreateTime,
                            2 => TimestampType::LogAppendTime,
                            other => {
                                return Err(format!("record batch: unknown timestamp type {other}"))
                            }
                        };
                    }
                    if flags & F_ORIGINAL_TOPIC != 0 {
                        at.original_topic = r.u32()?;
                        check_id(at.original_topic, topics.len(), "topic")?;
                    }
                    if flags & F_SOURCE_PARTITION != 0 {
                        at.partition = r.u32()?;
                        check_id(at.partition, partitions.len(), "source partition")?;
                    }
                    if flags & F_SOURCE_OFFSET != 0 {
                        at.offset = r.span()?;
                        check_offset(&bytes[at.offset.range()])?;
                    }
                    at.key = read_slot(&mut r, schemas.len())?;
                    at.value = read_slot(&mut r, schemas.len())?;
                    if flags & F_HEADERS != 0 {
                        at.headers = r.span()?;
                    }
                    records.push(at);
                }
                other => return Err(format!("record batch: unknown entry kind {other}")),
            }
        }
        if records.len() != count {
            return Err(format!(
                "record batch says {count} records but holds {}",
                records.len()
            ));
        }
        Ok(RecordBatch {
            bytes,
            topics,
            schemas,
            partitions,
            records,
            first_seq,
            wants_commit_record,
        })
    }

    /// A batch of owned source records (tests, and tasks that build records).
    pub fn of_source_records(
        records: &[SourceRecord],
        first_seq: u64,
        wants_commit_record: bool,
    ) -> Result<RecordBatch, String> {
        let mut w = RecordBatchWriter::default();
        for r in records {
            w.push_source(r).map_err(|e| e.message)?;
        }
        RecordBatch::parse(w.finish(first_seq, wants_commit_record))
    }

    /// A batch of owned sink records.
    pub fn of_sink_records(records: &[SinkRecord]) -> Result<RecordBatch, String> {
        let mut w = RecordBatchWriter::default();
        for r in records {
            w.push_sink(r).map_err(|e| e.message)?;
        }
        RecordBatch::parse(w.finish(0, false))
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The sequence number of the first record, for `commitRecord`.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn wants_commit_record(&self) -> bool {
        self.wants_commit_record
    }

    /// Record `i`, if there is one.
    pub fn record(&self, i: usize) -> Option<BatchRecord<'_>> {
        self.records
            .get(i)
            .map(|at| BatchRecord { batch: self, at })
    }

    pub fn iter(&self) -> impl Iterator<Item = BatchRecord<'_>> {
        self.records
            .iter()
            .map(|at| BatchRecord { batch: self, at })
    }

    /// Record `i`'s source offset, decoded (`None` when it has none or `i` is out of range).
    pub fn source_offset(&self, i: usize) -> Option<Result<OffsetMap, String>> {
        self.record(i).and_then(|r| r.source_offset())
    }

    fn str_at(&self, span: Span) -> &str {
        let bytes = &self.bytes[span.range()];
        // SAFETY: `span` is a topic or a string value, each checked to be UTF-8 when the batch
        // was parsed, and `bytes` is never changed afterwards.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

/// A key or value of a [`BatchRecord`]: a string or bytes read in place, or any other value
/// still encoded.
#[derive(Debug, Clone, Copy)]
pub enum FieldRef<'a> {
    InPlace(ValueRef<'a>),
    Encoded(&'a [u8]),
    /// A Struct of this schema whose field values are encoded.
    Fields(&'a SchemaRef, &'a [u8]),
}

impl FieldRef<'_> {
    /// The value, owned.
    pub fn to_value(&self) -> Result<Value, String> {
        match self {
            FieldRef::InPlace(v) => Ok(v.to_value()),
            FieldRef::Encoded(bytes) => super::decode(bytes),
            FieldRef::Fields(schema, bytes) => {
                let mut rest = *bytes;
                let values = read_fields(&mut rest, schema)?;
                if !rest.is_empty() {
                    return Err("record batch: extra bytes after struct fields".into());
                }
                crate::value::Struct::from_values((*schema).clone(), values)
                    .map(Value::Struct)
                    .map_err(|e| format!("record batch: {}", e.message))
            }
        }
    }

    /// Whether the value must be decoded (neither a string nor bytes read in place).
    pub fn is_encoded(&self) -> bool {
        !matches!(self, FieldRef::InPlace(_))
    }
}

/// One record of a [`RecordBatch`], read in place.
#[derive(Clone, Copy)]
pub struct BatchRecord<'a> {
    batch: &'a RecordBatch,
    at: &'a At,
}

impl std::fmt::Debug for BatchRecord<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let owned = match self.kafka_offset() {
            Some(_) => self.to_sink_record().map(|r| format!("{r:?}")),
            None => self.to_source_record().map(|r| format!("{r:?}")),
        };
        match owned {
            Ok(r) => f.write_str(&r),
            Err(e) => write!(f, "<unreadable record: {e}>"),
        }
    }
}

impl<'a> BatchRecord<'a> {
    pub fn topic(&self) -> &'a str {
        let span = self.batch.topics[self.at.topic as usize];
        self.batch.str_at(span)
    }

    pub fn kafka_partition(&self) -> Option<i32> {
        (self.at.flags & F_KAFKA_PARTITION != 0).then_some(self.at.kafka_partition)
    }

    pub fn timestamp(&self) -> Option<i64> {
        (self.at.flags & F_TIMESTAMP != 0).then_some(self.at.timestamp)
    }

    /// A sink record's offset in its partition.
    pub fn kafka_offset(&self) -> Option<i64> {
        (self.at.flags & F_KAFKA_OFFSET != 0).then_some(self.at.kafka_offset)
    }

    pub fn timestamp_type(&self) -> TimestampType {
        self.at.timestamp_type
    }

    /// A sink record's topic before a transformation renamed it.
    pub fn original_topic(&self) -> Option<&'a str> {
        let batch: &'a RecordBatch = self.batch;
        (self.at.flags & F_ORIGINAL_TOPIC != 0)
            .then(|| batch.str_at(batch.topics[self.at.original_topic as usize]))
    }

    pub fn source_partition(&self) -> Option<&'a Arc<OffsetMap>> {
        (self.at.flags & F_SOURCE_PARTITION != 0)
            .then(|| &self.batch.partitions[self.at.partition as usize])
    }

    pub fn has_source_offset(&self) -> bool {
        self.at.flags & F_SOURCE_OFFSET != 0
    }

    /// The source offset, decoded.
    pub fn source_offset(&self) -> Option<Result<OffsetMap, String>> {
        self.has_source_offset()
            .then(|| read_offset(&self.batch.bytes[self.at.offset.range()]))
    }

    fn schema(&self, slot: &Slot) -> Option<&'a SchemaRef> {
        let batch: &'a RecordBatch = self.batch;
        (slot.schema > 0).then(|| &batch.schemas[slot.schema as usize - 1])
    }

    pub fn key_schema(&self) -> Option<&'a SchemaRef> {
        self.schema(&self.at.key)
    }

    pub fn value_schema(&self) -> Option<&'a SchemaRef> {
        self.schema(&self.at.value)
    }

    fn field(&self, slot: &Slot) -> FieldRef<'a> {
        let batch: &'a RecordBatch = self.batch;
        match slot.tag {
            V_STRING => FieldRef::InPlace(ValueRef::String(batch.str_at(slot.span))),
            V_BYTES => FieldRef::InPlace(ValueRef::Bytes(&batch.bytes[slot.span.range()])),
            V_ENCODED => FieldRef::Encoded(&batch.bytes[slot.span.range()]),
            V_FIELDS => match self.schema(slot) {
                Some(schema) => FieldRef::Fields(schema, &batch.bytes[slot.span.range()]),
                None => FieldRef::InPlace(ValueRef::Null),
            },
            _ => FieldRef::InPlace(ValueRef::Null),
        }
    }

    pub fn key(&self) -> FieldRef<'a> {
        self.field(&self.at.key)
    }

    pub fn value(&self) -> FieldRef<'a> {
        self.field(&self.at.value)
    }

    pub fn has_headers(&self) -> bool {
        self.at.flags & F_HEADERS != 0
    }

    /// The headers, decoded (empty when there are none).
    pub fn headers(&self) -> Result<Headers, String> {
        if self.at.flags & F_HEADERS == 0 {
            return Ok(Headers::new());
        }
        super::decode(&self.batch.bytes[self.at.headers.range()])
    }

    /// An owned sink record (for a task that takes records, not batches).
    pub fn to_sink_record(&self) -> Result<SinkRecord, String> {
        Ok(SinkRecord {
            topic: self.topic().to_owned(),
            kafka_partition: self.kafka_partition().unwrap_or_default(),
            kafka_offset: self.kafka_offset().unwrap_or_default(),
            key_schema: self.key_schema().cloned(),
            key: self.key().to_value()?,
            value_schema: self.value_schema().cloned(),
            value: self.value().to_value()?,
            timestamp: self.timestamp(),
            timestamp_type: self.timestamp_type(),
            headers: self.headers()?,
            original_topic: self.original_topic().map(str::to_owned),
        })
    }

    /// An owned source record (for transformations and `commitRecord`).
    pub fn to_source_record(&self) -> Result<SourceRecord, String> {
        Ok(SourceRecord {
            source_partition: self.source_partition().cloned(),
            source_offset: self.source_offset().transpose()?,
            topic: self.topic().to_owned(),
            kafka_partition: self.kafka_partition(),
            key_schema: self.key_schema().cloned(),
            key: self.key().to_value()?,
            value_schema: self.value_schema().cloned(),
            value: self.value().to_value()?,
            timestamp: self.timestamp(),
            headers: self.headers()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Struct;
    use serde_json::json;

    fn map(v: serde_json::Value) -> OffsetMap {
        v.as_object().cloned().unwrap()
    }

    fn sample() -> Vec<SourceRecord> {
        let partition = Arc::new(map(json!({"filename": "/data/in.txt"})));
        let other = Arc::new(map(json!({"table": "t", "nested": {"a": [1, 2]}})));
        let string: SchemaRef = Arc::new(Schema::new(crate::Type::String).optional());
        let st: SchemaRef = Schema::struct_([("id", Schema::new(crate::Type::Int64).into_ref())])
            .with_name("row")
            .into_ref();
        let mut s = Struct::new(st.clone()).unwrap();
        s.put("id", Value::Int64(7)).unwrap();
        let mut headers = Headers::new();
        headers.add("h", Some(string.clone()), Value::String("v".into()));
        let mut out = Vec::new();
        for i in 0..5i64 {
            let mut r = SourceRecord::new(
                Some(partition.clone()),
                Some(map(
                    json!({"position": i, "big": u64::MAX, "f": 1.5, "s": "x", "n": null}),
                )),
                "lines",
                Some(string.clone()),
                Value::String(format!("line {i} é")),
            );
            r.timestamp = Some(1000 + i);
            out.push(r);
        }
        out.push(SourceRecord {
            source_partition: Some(other),
            source_offset: Some(map(json!({"id": 3, "ok": true}))),
            topic: "structs".into(),
            kafka_partition: Some(2),
            key_schema: None,
            key: Value::Bytes(vec![0, 255]),
            value_schema: Some(st),
            value: Value::Struct(s),
            timestamp: None,
            headers,
        });
        out.push(SourceRecord::new(None, None, "lines", None, Value::Null));
        out
    }

    #[test]
    fn records_read_back_as_written() {
        let records = sample();
        let batch = RecordBatch::of_source_records(&records, 40, true).unwrap();
        assert_eq!(batch.len(), records.len());
        assert_eq!(batch.first_seq(), 40);
        assert!(batch.wants_commit_record());
        let back: Vec<SourceRecord> = batch
            .iter()
            .map(|r| r.to_source_record().unwrap())
            .collect();
        assert_eq!(back, records);
        // A topic, a schema and a partition are written once, and read as one shared value.
        let a = batch.record(0).unwrap();
        let b = batch.record(4).unwrap();
        assert!(Arc::ptr_eq(
            a.source_partition().unwrap(),
            b.source_partition().unwrap()
        ));
        assert!(Arc::ptr_eq(
            a.value_schema().unwrap(),
            b.value_schema().unwrap()
        ));
        assert!(matches!(
            a.value(),
            FieldRef::InPlace(ValueRef::String("line 0 é"))
        ));
        // A Struct of the slot's own schema crosses as its field values only.
        assert!(matches!(
            batch.record(5).unwrap().value(),
            FieldRef::Fields(..)
        ));
    }

    #[test]
    fn a_struct_of_another_schema_instance_is_encoded_whole() {
        let schema =
            || Schema::struct_([("id", Schema::new(crate::Type::Int64).into_ref())]).into_ref();
        let (slot, own) = (schema(), schema());
        let mut value = Struct::new(own).unwrap();
        value.put("id", Value::Int64(1)).unwrap();
        let record = struct_record(slot, value);
        let batch = RecordBatch::of_sink_records(std::slice::from_ref(&record)).unwrap();
        assert!(matches!(
            batch.record(0).unwrap().value(),
            FieldRef::Encoded(_)
        ));
        assert_eq!(batch.record(0).unwrap().to_sink_record().unwrap(), record);
    }

    #[test]
    fn nested_structs_of_their_field_schema_cross_as_field_values() {
        // An envelope as a change-data-capture source writes it: nested structs of the
        // field's own schema instance, one of another instance, a null and a primitive.
        let row = Schema::struct_([("id", Schema::new(crate::Type::Int64).into_ref())])
            .optional()
            .into_ref();
        let other = Schema::struct_([("id", Schema::new(crate::Type::Int64).into_ref())])
            .optional()
            .into_ref();
        let envelope = Schema::struct_([
            ("before", row.clone()),
            ("after", row.clone()),
            ("other", other.clone()),
            ("op", Schema::new(crate::Type::String).into_ref()),
        ])
        .into_ref();
        let mut after = Struct::new(row.clone()).unwrap();
        after.put("id", Value::Int64(7)).unwrap();
        // Equal to the field's schema but another instance: written whole.
        let mut separate = Struct::new(other.clone()).unwrap();
        separate.put("id", Value::Int64(8)).unwrap();
        let value = Struct::from_parts(
            envelope.clone(),
            vec![
                Value::Null,
                Value::Struct(after),
                Value::Struct(separate),
                Value::String("c".into()),
            ],
        )
        .unwrap();
        let record = struct_record(envelope, value);
        let batch = RecordBatch::of_sink_records(std::slice::from_ref(&record)).unwrap();
        assert!(matches!(
            batch.record(0).unwrap().value(),
            FieldRef::Fields(..)
        ));
        assert_eq!(batch.record(0).unwrap().to_sink_record().unwrap(), record);
        // Cut-off or forged field bytes are an error, not a panic.
        let FieldRef::Fields(schema, bytes) = batch.record(0).unwrap().value() else {
            panic!()
        };
        for end in 0..bytes.len() {
            assert!(FieldRef::Fields(schema, &bytes[..end]).to_value().is_err());
        }
        let mut forged = bytes.to_vec();
        forged[0] = 9;
        assert!(FieldRef::Fields(schema, &forged).to_value().is_err());
    }

    #[test]
    fn a_failed_push_leaves_the_batch_as_it_was() {
        let mut w = RecordBatchWriter::default();
        w.push(&RecordRef::new("t1")).unwrap();
        let bad = [("x", Scalar::F64(f64::NAN))];
        let refused = w.push(&RecordRef {
            source_offset: Some(OffsetRef::Entries(&bad)),
            ..RecordRef::new("t2")
        });
        assert!(refused.is_err());
        w.push(&RecordRef::new("t2")).unwrap();
        w.push(&RecordRef::new("t1")).unwrap();
        let batch = RecordBatch::parse(w.finish(0, false)).unwrap();
        let topics: Vec<&str> = batch.iter().map(|r| r.topic()).collect();
        assert_eq!(topics, ["t1", "t2", "t1"]);
    }

    /// A sink record whose value is `value` of `schema`.
    fn struct_record(schema: SchemaRef, value: Struct) -> SinkRecord {
        SinkRecord {
            topic: "t".into(),
            kafka_partition: 0,
            kafka_offset: 0,
            key_schema: None,
            key: Value::Null,
            value_schema: Some(schema),
            value: Value::Struct(value),
            timestamp: None,
            timestamp_type: TimestampType::NoTimestampType,
            headers: Headers::new(),
            original_topic: None,
        }
    }

    #[test]
    fn sink_records_read_back_as_written() {
        let mut headers = Headers::new();
        headers.add("h", None, Value::Int32(1));
        let records = vec![
            SinkRecord {
                topic: "renamed".into(),
                kafka_partition: 3,
                kafka_offset: 1 << 40,
                key_schema: None,
                key: Value::String("k".into()),
                value_schema: Some(Schema::new(crate::Type::String).into_ref()),
                value: Value::String("v".into()),
                timestamp: Some(5),
                timestamp_type: TimestampType::LogAppendTime,
                headers,
                original_topic: Some("orders".into()),
            },
            SinkRecord {
                topic: "orders".into(),
                kafka_partition: 0,
                kafka_offset: 0,
                key_schema: None,
                key: Value::Null,
                value_schema: None,
                value: Value::Bytes(vec![1, 2]),
                timestamp: None,
                timestamp_type: TimestampType::NoTimestampType,
                headers: Headers::new(),
                original_topic: None,
            },
        ];
        let batch = RecordBatch::of_sink_records(&records).unwrap();
        let back: Vec<SinkRecord> = batch.iter().map(|r| r.to_sink_record().unwrap()).collect();
        assert_eq!(back, records);
    }

    #[test]
    fn borrowed_entries_write_like_a_map() {
        let partition = Arc::new(map(json!({"filename": "f"})));
        let mut w = RecordBatchWriter::default();
        let entries = [("position", Scalar::I64(42))];
        w.push(&RecordRef {
            source_partition: Some(&partition),
            source_offset: Some(OffsetRef::Entries(&entries)),
            value: ValueRef::String("x"),
            ..RecordRef::new("t")
        })
        .unwrap();
        let batch = RecordBatch::parse(w.finish(0, false)).unwrap();
        assert_eq!(
            batch.source_offset(0).unwrap().unwrap(),
            map(json!({"position": 42}))
        );
        assert!(batch.source_offset(1).is_none());
    }

    #[test]
    fn a_malformed_batch_is_an_error_never_a_panic() {
        let good = {
            let mut w = RecordBatchWriter::default();
            for r in sample() {
                w.push_source(&r).unwrap();
            }
            w.finish(0, false)
        };
        assert!(RecordBatch::parse(good.clone()).is_ok());
        // Every truncation, and every single-byte corruption, is handled.
        for len in 0..good.len() {
            let _ = RecordBatch::parse(good[..len].to_vec()).map(|b| {
                for r in b.iter() {
                    let _ = r.to_source_record();
                }
            });
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut bad = good.clone();
                bad[i] = v;
                if let Ok(b) = RecordBatch::parse(bad) {
                    for r in b.iter() {
                        let _ = r.to_source_record();
                    }
                }
            }
        }
        // A huge count does not allocate for it.
        let mut huge = RecordBatchWriter::default().finish(0, false);
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(RecordBatch::parse(huge).is_err());
    }
}
