//! Wire codec for the Kafka Connect group-membership sub-protocols (spec §7).
//!
//! Distributed workers join a classic Kafka consumer group with protocol type
//! [`CONNECT_PROTOCOL_TYPE`] (`connect`). The opaque byte blobs exchanged in that group are
//! defined here:
//!
//! * [`MemberMetadata`]: the per-protocol metadata a worker sends in JoinGroup (§7.3);
//! * [`Assignment`]: the member assignment the leader returns in SyncGroup (§7.4), also carried
//!   (nested, as nullable BYTES) inside v1/v2 member metadata as the worker's current allocation.
//!
//! Encoding primitives (§7.2), all big-endian: `INT16`, `INT32`, `INT64`; `STRING` = INT16 length
//! + UTF-8 bytes (never null); nullable `BYTES` = INT32 length (−1 = null) + bytes; `ARRAY<T>` =
//!   INT32 count + items, a nullable array using count −1 for null.
//!
//! Decoders accept any version ≥ 0 and parse the layout they know for it (versions ≥ 1 use the
//! v1/v2 layout), ignoring trailing bytes appended by newer versions. They never panic on input:
//! every malformed or truncated input yields a [`ProtocolError`].
//!
//! This module is self-contained (no references to other crate modules).

use std::collections::HashMap;

/// The `protocol_type` of a Kafka Connect worker group.
pub const CONNECT_PROTOCOL_TYPE: &str = "connect";

/// Task id meaning "the connector instance itself" in a [`ConnectorAssignment`].
pub const CONNECTOR_TASK_ID: i32 = -1;

/// [`Assignment::error`]: no error.
pub const ERROR_NONE: i16 = 0;
/// [`Assignment::error`]: the leader could not reach the members' config offset; workers must
/// read the config topic to the end and rejoin.
pub const ERROR_CONFIG_MISMATCH: i16 = 1;

// ---------------------------------------------------------------------------------------------
// Sub-protocols
// ---------------------------------------------------------------------------------------------

/// A Connect group sub-protocol (`connect.protocol` and the JoinGroup protocol names, §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectProtocol {
    /// `default` on the wire (`connect.protocol=eager`): stop-the-world rebalancing, metadata v0.
    Eager,
    /// `compatible`: incremental cooperative rebalancing (KIP-415), metadata v1.
    Compatible,
    /// `sessioned`: incremental + signed internal requests (KIP-507), metadata v2. The default.
    #[default]
    Sessioned,
}

impl ConnectProtocol {
    /// The protocol name offered in JoinGroup: `default`, `compatible` or `sessioned`.
    pub fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The member-metadata (and assignment) version of this protocol: 0, 1 or 2.
    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// Parses a `connect.protocol` worker setting: `eager`, `compatible` or `sessioned`,
    /// case-insensitive (surrounding whitespace is ignored, as Kafka's config parser trims).
    pub fn from_config(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("eager") {
            Some(ConnectProtocol::Eager)
        } else if value.eq_ignore_ascii_case("compatible") {
            Some(ConnectProtocol::Compatible)
        } else if value.eq_ignore_ascii_case("sessioned") {
            Some(ConnectProtocol::Sessioned)
        } else {
            None
        }
    }

    /// Maps a JoinGroup protocol name ([`name`](Self::name), exact match) back to the protocol,
    /// e.g. the protocol the broker selected.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "default" => Some(ConnectProtocol::Eager),
            "compatible" => Some(ConnectProtocol::Compatible),
            "sessioned" => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// The protocol whose metadata version is `version` (0, 1 or 2).
    pub fn from_version(version: i16) -> Option<Self> {
        match version {
            0 => Some(ConnectProtocol::Eager),
            1 => Some(ConnectProtocol::Compatible),
            2 => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// The protocols a worker configured with `self` offers in JoinGroup, most preferred first
    /// (§7.1): `sessioned` → sessioned, compatible, default; `compatible` → compatible, default;
    /// `eager` → default.
    pub fn offered(self) -> Vec<ConnectProtocol> {
        match self {
            ConnectProtocol::Sessioned => vec![
                ConnectProtocol::Sessioned,
                ConnectProtocol::Compatible,
                ConnectProtocol::Eager,
            ],
            ConnectProtocol::Compatible => {
                vec![ConnectProtocol::Compatible, ConnectProtocol::Eager]
            }
            ConnectProtocol::Eager => vec![ConnectProtocol::Eager],
        }
    }

    /// Whether this protocol uses incremental cooperative rebalancing (versions ≥ 1).
    pub fn is_incremental(self) -> bool {
        self != ConnectProtocol::Eager
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a Connect group-protocol blob could not be decoded (or a value could not be encoded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The input ended inside a field.
    #[error("truncated input: {field} needs {needed} byte(s) but only {remaining} remain")]
    Truncated {
        field: &'static str,
        needed: usize,
        remaining: usize,
    },
    /// A length or count was negative and not the −1 null marker.
    #[error("invalid length {length} for {field}: only -1 (null) may be negative")]
    NegativeLength { field: &'static str, length: i64 },
    /// A non-nullable field (STRING, non-nullable ARRAY) carried the −1 null marker.
    #[error("{field} is null (length -1) but the field is not nullable")]
    UnexpectedNull { field: &'static str },
    /// A STRING was not valid UTF-8.
    #[error("{field} is not valid UTF-8: {detail}")]
    InvalidUtf8 {
        field: &'static str,
        detail: std::str::Utf8Error,
    },
    /// A version header was negative.
    #[error("unsupported Connect protocol version {version} in {what}: versions must be >= 0")]
    UnsupportedVersion { what: &'static str, version: i16 },
    /// The allocation nested in member metadata could not be decoded.
    #[error("invalid allocation in member metadata: {0}")]
    InvalidAllocation(Box<ProtocolError>),
    /// Encoding only: a STRING longer than 32767 bytes.
    #[error("{field} is {length} bytes long; a STRING holds at most 32767 bytes")]
    StringTooLong { field: &'static str, length: usize },
    /// Encoding only: an ARRAY or BYTES value whose size does not fit an INT32.
    #[error("{field} has size {length}, more than an INT32 length can describe")]
    TooLong { field: &'static str, length: usize },
}

// ---------------------------------------------------------------------------------------------
// Data types
// ---------------------------------------------------------------------------------------------

/// One connector's share of an assignment: the connector instance (task id
/// [`CONNECTOR_TASK_ID`] = −1) and/or some of its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectorAssignment {
    pub connector: String,
    pub tasks: Vec<i32>,
}

impl ConnectorAssignment {
    /// Groups connectors and `(connector, task)` pairs into per-connector entries, in order of
    /// first appearance (connectors first); a connector instance is listed as task −1 ahead of
    /// its tasks.
    pub fn group<'a>(
        connectors: impl IntoIterator<Item = &'a str>,
        tasks: impl IntoIterator<Item = (&'a str, i32)>,
    ) -> Vec<ConnectorAssignment> {
        let mut out: Vec<ConnectorAssignment> = Vec::new();
        let mut index: HashMap<&'a str, usize> = HashMap::new();
        let items = connectors
            .into_iter()
            .map(|c| (c, CONNECTOR_TASK_ID))
            .chain(tasks);
        for (connector, task) in items {
            let slot = *index.entry(connector).or_insert_with(|| {
                out.push(ConnectorAssignment {
                    connector: connector.to_owned(),
                    tasks: Vec::new(),
                });
                out.len() - 1
            });
            if let Some(entry) = out.get_mut(slot) {
                entry.tasks.push(task);
            }
        }
        out
    }
}

/// Names of the connector instances (task −1) in `list`, in order.
pub fn connectors_in(list: &[ConnectorAssignment]) -> Vec<&str> {
    list.iter()
        .filter(|ca| ca.tasks.contains(&CONNECTOR_TASK_ID))
        .map(|ca| ca.connector.as_str())
        .collect()
}

/// `(connector, task id)` for every task (id ≠ −1) in `list`, in order.
pub fn tasks_in(list: &[ConnectorAssignment]) -> Vec<(&str, i32)> {
    list.iter()
        .flat_map(|ca| {
            ca.tasks
                .iter()
                .filter(|&&t| t != CONNECTOR_TASK_ID)
                .map(move |&t| (ca.connector.as_str(), t))
        })
        .collect()
}

/// Member metadata sent in JoinGroup (§7.3).
///
/// Layout: `version: INT16`, `url: STRING`, `config_offset: INT64`, and for versions ≥ 1
/// `allocation: BYTES?` holding an [`Assignment`] encoding with its own version header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    /// 0 (`default`), 1 (`compatible`) or 2 (`sessioned`).
    pub version: i16,
    /// The worker's advertised REST URL, e.g. `http://10.0.0.5:8083/`.
    pub url: String,
    /// Offset of the worker's config-topic snapshot.
    pub config_offset: i64,
    /// The worker's current full assignment (versions ≥ 1 only; not encoded in v0).
    pub allocation: Option<Assignment>,
}

impl MemberMetadata {
    /// Metadata for `protocol` (version taken from it). The allocation is dropped for
    /// [`ConnectProtocol::Eager`], whose layout cannot carry it.
    pub fn new(
        protocol: ConnectProtocol,
        url: impl Into<String>,
        config_offset: i64,
        allocation: Option<Assignment>,
    ) -> Self {
        MemberMetadata {
            version: protocol.version(),
            url: url.into(),
            config_offset,
            allocation: if protocol.is_incremental() {
                allocation
            } else {
                None
            },
        }
    }

    /// Serializes to the §7.3 layout. A version ≤ 0 uses the v0 layout (no allocation, which is
    /// then ignored); versions ≥ 1 append the allocation as nullable BYTES.
    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let mut out = Vec::with_capacity(2 + 2 + self.url.len() + 8 + 4);
        put_i16(&mut out, self.version);
        put_string(&mut out, &self.url, "url")?;
        put_i64(&mut out, self.config_offset);
        if self.version >= 1 {
            match &self.allocation {
                None => put_i32(&mut out, -1),
                Some(allocation) => {
                    let bytes = allocation.encode()?;
                    put_len(&mut out, bytes.len(), "allocation")?;
                    out.extend_from_slice(&bytes);
                }
            }
        }
        Ok(out)
    }

    /// Parses the §7.3 layout. Any version ≥ 0 is accepted: v0 has no allocation; versions ≥ 1
    /// must carry the allocation field (possibly null). Bytes after the known fields are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("metadata version")?;
        if version < 0 {
            return Err(ProtocolError::UnsupportedVersion {
                what: "member metadata",
                version,
            });
        }
        let url = r.string("url")?;
        let config_offset = r.i64("config offset")?;
        let allocation = if version >= 1 {
            match r.nullable_bytes("allocation")? {
                None => None,
                Some(nested) => Some(
                    Assignment::decode(nested)
                        .map_err(|e| ProtocolError::InvalidAllocation(Box::new(e)))?,
                ),
            }
        } else {
            None
        };
        Ok(MemberMetadata {
            version,
            url,
            config_offset,
            allocation,
        })
    }
}

/// Member assignment returned in SyncGroup (§7.4).
///
/// v0 layout: `version: INT16`, `error: INT16`, `leader: STRING`, `leader_url: STRING`,
/// `config_offset: INT64`, `assignment: ARRAY<ConnectorAssignment>`.
/// v1/v2 layout: the same with a nullable `assignment`, then `revoked:
/// ARRAY<ConnectorAssignment>?` and `delay: INT32`.
/// `ConnectorAssignment` = `connector: STRING`, `tasks: ARRAY<INT32>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// 0 (`default`), 1 (`compatible`) or 2 (`sessioned`).
    pub version: i16,
    /// [`ERROR_NONE`] or [`ERROR_CONFIG_MISMATCH`].
    pub error: i16,
    /// Member id of the group leader.
    pub leader: String,
    /// REST URL of the group leader.
    pub leader_url: String,
    /// Config offset the assignment was computed at.
    pub config_offset: i64,
    /// Eager: the full assignment. Incremental: newly assigned connectors/tasks only.
    /// Always `Some` after decoding v0 (whose array is not nullable); `None` encodes as an empty
    /// array in v0.
    pub assigned: Option<Vec<ConnectorAssignment>>,
    /// Connectors/tasks to stop now (versions ≥ 1; not encoded in v0, `None` after decoding v0).
    pub revoked: Option<Vec<ConnectorAssignment>>,
    /// Milliseconds until the next scheduled rebalance, 0 = none (versions ≥ 1; not encoded in
    /// v0, 0 after decoding v0).
    pub delay_ms: i32,
}

impl Assignment {
    /// Connector instances (task −1) in [`assigned`](Self::assigned), in order.
    pub fn connectors(&self) -> Vec<&str> {
        connectors_in(self.assigned.as_deref().unwrap_or_default())
    }

    /// `(connector, task id)` for the tasks (id ≠ −1) in [`assigned`](Self::assigned).
    pub fn tasks(&self) -> Vec<(&str, i32)> {
        tasks_in(self.assigned.as_deref().unwrap_or_default())
    }

    /// Connector instances (task −1) in [`revoked`](Self::revoked), in order.
    pub fn revoked_connectors(&self) -> Vec<&str> {
        connectors_in(self.revoked.as_deref().unwrap_or_default())
    }

    /// `(connector, task id)` for the tasks (id ≠ −1) in [`revoked`](Self::revoked).
    pub fn revoked_tasks(&self) -> Vec<(&str, i32)> {
        tasks_in(self.revoked.as_deref().unwrap_or_default())
    }

    /// Whether the leader reported an error (`error != 0`).
    pub fn is_error(&self) -> bool {
        self.error != ERROR_NONE
    }

    /// Serializes to the §7.4 layout. A version ≤ 0 uses the v0 layout: `assigned == None` is
    /// written as an empty array and `revoked`/`delay_ms` are not written. Versions ≥ 1 use the
    /// v1/v2 layout.
    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let mut out = Vec::with_capacity(64);
        put_i16(&mut out, self.version);
        put_i16(&mut out, self.error);
        put_string(&mut out, &self.leader, "leader")?;
        put_string(&mut out, &self.leader_url, "leader url")?;
        put_i64(&mut out, self.config_offset);
        if self.version >= 1 {
            put_assignments(&mut out, self.assigned.as_deref(), &ASSIGNED_FIELDS)?;
            put_assignments(&mut out, self.revoked.as_deref(), &REVOKED_FIELDS)?;
            put_i32(&mut out, self.delay_ms);
        } else {
            let assigned = self.assigned.as_deref().unwrap_or_default();
            put_assignments(&mut out, Some(assigned), &ASSIGNED_FIELDS)?;
        }
        Ok(out)
    }

    /// Parses the §7.4 layout. Any version ≥ 0 is accepted. Version 0 is read with the v0 layout
    /// (non-nullable assignment array). Versions ≥ 1 are read with the v1 rules: the assignment
    /// array is nullable, and `revoked` (→ `None`) and `delay` (→ 0) may be missing entirely at
    /// the end of the input, so v0-shaped bodies parse too. A field that is only partly present
    /// is an error. Bytes after the known fields are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("assignment version")?;
        if version < 0 {
            return Err(ProtocolError::UnsupportedVersion {
                what: "assignment",
                version,
            });
        }
        let error = r.i16("error")?;
        let leader = r.string("leader")?;
        let leader_url = r.string("leader url")?;
        let config_offset = r.i64("config offset")?;
        let incremental = version >= 1;
        let assigned = read_assignments(&mut r, incremental, &ASSIGNED_FIELDS)?;
        let (revoked, delay_ms) = if incremental {
            let revoked = if r.is_empty() {
                None
            } else {
                read_assignments(&mut r, true, &REVOKED_FIELDS)?
            };
            let delay_ms = if r.is_empty() { 0 } else { r.i32("delay")? };
            (revoked, delay_ms)
        } else {
            (None, 0)
        };
        Ok(Assignment {
            version,
            error,
            leader,
            leader_url,
            config_offset,
            assigned,
            revoked,
            delay_ms,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ConnectorAssignment arrays
// ---------------------------------------------------------------------------------------------

/// Field names used in error messages for one ARRAY<ConnectorAssignment>.
struct ListFields {
    list: &'static str,
    connector: &'static str,
    tasks: &'static str,
    task: &'static str,
}

const ASSIGNED_FIELDS: ListFields = ListFields {
    list: "assignment count",
    connector: "assignment connector name",
    tasks: "assignment task count",
    task: "assignment task id",
};

const REVOKED_FIELDS: ListFields = ListFields {
    list: "revoked count",
    connector: "revoked connector name",
    tasks: "revoked task count",
    task: "revoked task id",
};

fn put_assignments(
    out: &mut Vec<u8>,
    list: Option<&[ConnectorAssignment]>,
    fields: &ListFields,
) -> Result<(), ProtocolError> {
    let Some(list) = list else {
        put_i32(out, -1);
        return Ok(());
    };
    put_len(out, list.len(), fields.list)?;
    for ca in list {
        put_string(out, &ca.connector, fields.connector)?;
        put_len(out, ca.tasks.len(), fields.tasks)?;
        for &task in &ca.tasks {
            put_i32(out, task);
        }
    }
    Ok(())
}

fn read_assignments(
    r: &mut Reader<'_>,
    nullable: bool,
    fields: &ListFields,
) -> Result<Option<Vec<ConnectorAssignment>>, ProtocolError> {
    let Some(count) = r.count(fields.list, nullable)? else {
        return Ok(None);
    };
    // Each element takes at least 6 bytes (empty name + empty task array): never reserve more
    // than the input could hold, whatever the declared count.
    let mut list = Vec::with_capacity(count.min(r.remaining() / 6));
    for _ in 0..count {
        let connector = r.string(fields.connector)?;
        let task_count = r.count(fields.tasks, false)?.unwrap_or(0);
        let mut tasks = Vec::with_capacity(task_count.min(r.remaining() / 4));
        for _ in 0..task_count {
            tasks.push(r.i32(fields.task)?);
        }
        list.push(ConnectorAssignment { connector, tasks });
    }
    Ok(Some(list))
}

// ---------------------------------------------------------------------------------------------
// Primitive writers
// ---------------------------------------------------------------------------------------------

fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// INT32 length/count prefix.
fn put_len(out: &mut Vec<u8>, len: usize, field: &'static str) -> Result<(), ProtocolError> {
    let len32 = i32::try_from(len).map_err(|_| ProtocolError::TooLong { field, length: len })?;
    put_i32(out, len32);
    Ok(())
}

/// STRING: INT16 length + UTF-8 bytes.
fn put_string(out: &mut Vec<u8>, s: &str, field: &'static str) -> Result<(), ProtocolError> {
    let len = s.len();
    let len16 =
        i16::try_from(len).map_err(|_| ProtocolError::StringTooLong { field, length: len })?;
    put_i16(out, len16);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Primitive reader
// ---------------------------------------------------------------------------------------------

/// A bounds-checked big-endian cursor over a byte slice.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ProtocolError> {
        match self.buf.split_at_checked(n) {
            Some((head, tail)) => {
                self.buf = tail;
                Ok(head)
            }
            None => Err(ProtocolError::Truncated {
                field,
                needed: n,
                remaining: self.buf.len(),
            }),
        }
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ProtocolError> {
        let remaining = self.buf.len();
        let bytes = self.take(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| ProtocolError::Truncated {
            field,
            needed: N,
            remaining,
        })
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, ProtocolError> {
        self.fixed::<2>(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, ProtocolError> {
        self.fixed::<4>(field).map(i32::from_be_bytes)
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, ProtocolError> {
        self.fixed::<8>(field).map(i64::from_be_bytes)
    }

    /// Non-nullable STRING.
    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(field)?;
        let len = match usize::try_from(len) {
            Ok(n) => n,
            Err(_) if len == -1 => return Err(ProtocolError::UnexpectedNull { field }),
            Err(_) => {
                return Err(ProtocolError::NegativeLength {
                    field,
                    length: i64::from(len),
                })
            }
        };
        let bytes = self.take(len, field)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(detail) => Err(ProtocolError::InvalidUtf8 { field, detail }),
        }
    }

    /// Nullable BYTES: INT32 length (−1 = null) + bytes.
    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, ProtocolError> {
        match self.length(field, true)? {
            None => Ok(None),
            Some(len) => self.take(len, field).map(Some),
        }
    }

    /// ARRAY count: INT32, −1 = null when `nullable`.
    fn count(
        &mut self,
        field: &'static str,
        nullable: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        self.length(field, nullable)
    }

    /// INT32 length or count; `Ok(None)` for −1 when `nullable`.
    fn length(
        &mut self,
        field: &'static str,
        nullable: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let len = self.i32(field)?;
        match usize::try_from(len) {
            Ok(n) => Ok(Some(n)),
            Err(_) if len == -1 && nullable => Ok(None),
            Err(_) if len == -1 => Err(ProtocolError::UnexpectedNull { field }),
            Err(_) => Err(ProtocolError::NegativeLength {
                field,
                length: i64::from(len),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(connector: &str, tasks: &[i32]) -> ConnectorAssignment {
        ConnectorAssignment {
            connector: connector.to_owned(),
            tasks: tasks.to_vec(),
        }
    }

    fn assignment(version: i16) -> Assignment {
        Assignment {
            version,
            error: ERROR_NONE,
            leader: "w1".into(),
            leader_url: "http://l:8083/".into(),
            config_offset: 42,
            assigned: Some(vec![ca("a", &[-1, 0]), ca("b", &[1])]),
            revoked: if version >= 1 {
                Some(vec![ca("c", &[-1])])
            } else {
                None
            },
            delay_ms: if version >= 1 { 1500 } else { 0 },
        }
    }

    /// Hex helper: "00 0E 68" → bytes.
    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .filter(|t| *t != "|")
            .map(|t| u8::from_str_radix(t, 16).unwrap())
            .collect()
    }

    // --- ConnectProtocol ----------------------------------------------------------------------

    #[test]
    fn protocol_names_versions_and_config() {
        assert_eq!(ConnectProtocol::Eager.name(), "default");
        assert_eq!(ConnectProtocol::Compatible.name(), "compatible");
        assert_eq!(ConnectProtocol::Sessioned.name(), "sessioned");
        assert_eq!(ConnectProtocol::Eager.version(), 0);
        assert_eq!(ConnectProtocol::Compatible.version(), 1);
        assert_eq!(ConnectProtocol::Sessioned.version(), 2);
        assert_eq!(ConnectProtocol::default(), ConnectProtocol::Sessioned);
        assert_eq!(
            ConnectProtocol::from_config("EAGER"),
            Some(ConnectProtocol::Eager)
        );
        assert_eq!(
            ConnectProtocol::from_config("Compatible"),
            Some(ConnectProtocol::Compatible)
        );
        assert_eq!(
            ConnectProtocol::from_config(" sessioned "),
            Some(ConnectProtocol::Sessioned)
        );
        assert_eq!(ConnectProtocol::from_config("default"), None);
        assert_eq!(ConnectProtocol::from_config(""), None);
        for p in [
            ConnectProtocol::Eager,
            ConnectProtocol::Compatible,
            ConnectProtocol::Sessioned,
        ] {
            assert_eq!(ConnectProtocol::from_name(p.name()), Some(p));
            assert_eq!(ConnectProtocol::from_version(p.version()), Some(p));
        }
        assert_eq!(ConnectProtocol::from_name("eager"), None);
        assert_eq!(ConnectProtocol::from_version(3), None);
    }

    #[test]
    fn offered_protocols_follow_the_table() {
        use ConnectProtocol::*;
        assert_eq!(Sessioned.offered(), vec![Sessioned, Compatible, Eager]);
        assert_eq!(Compatible.offered(), vec![Compatible, Eager]);
        assert_eq!(Eager.offered(), vec![Eager]);
        let versions: Vec<i16> = Sessioned.offered().iter().map(|p| p.version()).collect();
        assert_eq!(versions, vec![2, 1, 0]);
    }

    // --- Member metadata ----------------------------------------------------------------------

    #[test]
    fn metadata_v0_matches_worked_example() {
        let md = MemberMetadata {
            version: 0,
            url: "http://a:8083/".into(),
            config_offset: 5,
            allocation: None,
        };
        let expected = hex(
            "00 00 | 00 0E 68 74 74 70 3A 2F 2F 61 3A 38 30 38 33 2F | 00 00 00 00 00 00 00 05",
        );
        assert_eq!(md.encode().unwrap(), expected);
        assert_eq!(MemberMetadata::decode(&expected).unwrap(), md);
        assert_eq!(
            MemberMetadata::new(ConnectProtocol::Eager, "http://a:8083/", 5, None)
                .encode()
                .unwrap(),
            expected
        );
    }

    #[test]
    fn metadata_v0_encode_ignores_allocation() {
        let md = MemberMetadata {
            version: 0,
            url: "u".into(),
            config_offset: 1,
            allocation: Some(assignment(1)),
        };
        let decoded = MemberMetadata::decode(&md.encode().unwrap()).unwrap();
        assert_eq!(decoded.allocation, None);
        assert_eq!(
            md.encode().unwrap(),
            hex("00 00 00 01 75 00 00 00 00 00 00 00 01")
        );
        let built = MemberMetadata::new(ConnectProtocol::Eager, "u", 1, Some(assignment(0)));
        assert_eq!(built.allocation, None);
    }

    #[test]
    fn metadata_v1_null_allocation_exact_bytes() {
        let md = MemberMetadata {
            version: 1,
            url: "u".into(),
            config_offset: -1,
            allocation: None,
        };
        let bytes = md.encode().unwrap();
        assert_eq!(
            bytes,
            hex("00 01 | 00 01 75 | FF FF FF FF FF FF FF FF | FF FF FF FF")
        );
        assert_eq!(MemberMetadata::decode(&bytes).unwrap(), md);
    }

    #[test]
    fn metadata_v2_with_nested_allocation_exact_bytes() {
        let alloc = Assignment {
            version: 2,
            error: 0,
            leader: "L".into(),
            leader_url: "U".into(),
            config_offset: 7,
            assigned: Some(vec![ca("c", &[-1, 3])]),
            revoked: None,
            delay_ms: 0,
        };
        let md = MemberMetadata::new(ConnectProtocol::Sessioned, "u", 9, Some(alloc.clone()));
        assert_eq!(md.version, 2);
        let nested = hex(
            "00 02 | 00 00 | 00 01 4C | 00 01 55 | 00 00 00 00 00 00 00 07 \
             | 00 00 00 01 | 00 01 63 | 00 00 00 02 | FF FF FF FF | 00 00 00 03 \
             | FF FF FF FF | 00 00 00 00",
        );
        assert_eq!(alloc.encode().unwrap(), nested);
        let mut expected = hex("00 02 | 00 01 75 | 00 00 00 00 00 00 00 09");
        expected.extend_from_slice(&(nested.len() as i32).to_be_bytes());
        expected.extend_from_slice(&nested);
        assert_eq!(md.encode().unwrap(), expected);
        assert_eq!(MemberMetadata::decode(&expected).unwrap(), md);
    }

    #[test]
    fn metadata_round_trips_every_version() {
        let allocations = [
            None,
            Some(assignment(0)),
            Some(assignment(1)),
            Some(assignment(2)),
            Some(Assignment {
                assigned: None,
                revoked: Some(vec![]),
                ..assignment(2)
            }),
        ];
        for version in 0..=2 {
            for allocation in &allocations {
                let md = MemberMetadata {
                    version,
                    url: "http://10.0.0.5:8083/".into(),
                    config_offset: i64::MAX,
                    allocation: allocation.clone(),
                };
                let decoded = MemberMetadata::decode(&md.encode().unwrap()).unwrap();
                let mut expected = md.clone();
                if version == 0 {
                    expected.allocation = None;
                }
                assert_eq!(decoded, expected, "version {version}");
            }
        }
    }

    #[test]
    fn metadata_from_newer_version_ignores_trailing_bytes() {
        let md = MemberMetadata {
            version: 3,
            url: "http://a:8083/".into(),
            config_offset: 5,
            allocation: Some(assignment(3)),
        };
        let mut bytes = md.encode().unwrap();
        bytes.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x01]);
        assert_eq!(MemberMetadata::decode(&bytes).unwrap(), md);

        // v0 with extra bytes after the known fields.
        let mut v0 = hex("00 00 00 01 75 00 00 00 00 00 00 00 01");
        v0.extend_from_slice(&[1, 2, 3]);
        assert_eq!(MemberMetadata::decode(&v0).unwrap().config_offset, 1);
    }

    #[test]
    fn metadata_nested_allocation_with_trailing_bytes_inside() {
        // A v3 allocation whose BYTES value holds more than the known fields.
        let alloc = assignment(3);
        let mut nested = alloc.encode().unwrap();
        nested.extend_from_slice(&[9, 9, 9]);
        let mut bytes = hex("00 03 00 01 75 00 00 00 00 00 00 00 02");
        bytes.extend_from_slice(&(nested.len() as i32).to_be_bytes());
        bytes.extend_from_slice(&nested);
        bytes.push(0xFF); // and a trailing byte after the metadata itself
        let md = MemberMetadata::decode(&bytes).unwrap();
        assert_eq!(md.allocation, Some(alloc));
    }

    #[test]
    fn metadata_every_truncation_errors() {
        let samples = [
            MemberMetadata::new(ConnectProtocol::Eager, "http://a:8083/", 5, None),
            MemberMetadata::new(ConnectProtocol::Compatible, "http://a:8083/", 5, None),
            MemberMetadata::new(ConnectProtocol::Compatible, "x", 5, Some(assignment(1))),
            MemberMetadata::new(ConnectProtocol::Sessioned, "x", 5, Some(assignment(2))),
            MemberMetadata::new(ConnectProtocol::Sessioned, "x", 5, Some(assignment(0))),
        ];
        for md in &samples {
            let bytes = md.encode().unwrap();
            for cut in 0..bytes.len() {
                let result = MemberMetadata::decode(&bytes[..cut]);
                assert!(
                    result.is_err(),
                    "prefix {cut}/{} of {md:?} decoded as {result:?}",
                    bytes.len()
                );
            }
            assert_eq!(&MemberMetadata::decode(&bytes).unwrap(), md);
        }
    }

    #[test]
    fn metadata_rejects_malformed_input() {
        // Negative version.
        assert_eq!(
            MemberMetadata::decode(&hex("FF FF 00 00 00 00 00 00 00 00 00 00")),
            Err(ProtocolError::UnsupportedVersion {
                what: "member metadata",
                version: -1
            })
        );
        // String length past the end.
        assert!(matches!(
            MemberMetadata::decode(&hex("00 00 00 20 68 74")),
            Err(ProtocolError::Truncated {
                field: "url",
                needed: 32,
                remaining: 2
            })
        ));
        // Null (-1) and other negative string lengths.
        assert_eq!(
            MemberMetadata::decode(&hex("00 00 FF FF 00 00 00 00 00 00 00 00")),
            Err(ProtocolError::UnexpectedNull { field: "url" })
        );
        assert_eq!(
            MemberMetadata::decode(&hex("00 00 FF FE 00 00 00 00 00 00 00 00")),
            Err(ProtocolError::NegativeLength {
                field: "url",
                length: -2
            })
        );
        // Invalid UTF-8.
        assert!(matches!(
            MemberMetadata::decode(&hex("00 00 00 02 C3 28 00 00 00 00 00 00 00 00")),
            Err(ProtocolError::InvalidUtf8 { field: "url", .. })
        ));
        // Allocation with a negative length other than -1.
        assert_eq!(
            MemberMetadata::decode(&hex("00 01 00 00 00 00 00 00 00 00 00 00 FF FF FF FE")),
            Err(ProtocolError::NegativeLength {
                field: "allocation",
                length: -2
            })
        );
        // Allocation length past the end.
        assert!(matches!(
            MemberMetadata::decode(&hex("00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 10 00")),
            Err(ProtocolError::Truncated {
                field: "allocation",
                ..
            })
        ));
        // Empty (zero-length) allocation and a malformed nested allocation.
        assert!(matches!(
            MemberMetadata::decode(&hex("00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00")),
            Err(ProtocolError::InvalidAllocation(_))
        ));
        let err = MemberMetadata::decode(&hex(
            "00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 02 FF FF",
        ))
        .unwrap_err();
        assert_eq!(
            err,
            ProtocolError::InvalidAllocation(Box::new(ProtocolError::UnsupportedVersion {
                what: "assignment",
                version: -1
            }))
        );
        assert!(err.to_string().contains("allocation"), "{err}");
    }

    // --- Assignment ---------------------------------------------------------------------------

    #[test]
    fn assignment_v0_exact_bytes() {
        let a = Assignment {
            version: 0,
            error: ERROR_CONFIG_MISMATCH,
            leader: "L".into(),
            leader_url: "U".into(),
            config_offset: 258,
            assigned: Some(vec![ca("c", &[-1, 0])]),
            revoked: None,
            delay_ms: 0,
        };
        let expected = hex(
            "00 00 | 00 01 | 00 01 4C | 00 01 55 | 00 00 00 00 00 00 01 02 \
             | 00 00 00 01 | 00 01 63 | 00 00 00 02 | FF FF FF FF | 00 00 00 00",
        );
        assert_eq!(a.encode().unwrap(), expected);
        assert_eq!(Assignment::decode(&expected).unwrap(), a);
    }

    #[test]
    fn assignment_v1_exact_bytes() {
        let a = Assignment {
            version: 1,
            error: ERROR_NONE,
            leader: "L".into(),
            leader_url: "U".into(),
            config_offset: 1,
            assigned: None,
            revoked: Some(vec![ca("c", &[2])]),
            delay_ms: 300_000,
        };
        let expected = hex(
            "00 01 | 00 00 | 00 01 4C | 00 01 55 | 00 00 00 00 00 00 00 01 | FF FF FF FF \
             | 00 00 00 01 | 00 01 63 | 00 00 00 01 | 00 00 00 02 | 00 04 93 E0",
        );
        assert_eq!(a.encode().unwrap(), expected);
        assert_eq!(Assignment::decode(&expected).unwrap(), a);
    }

    #[test]
    fn assignment_round_trips_every_version() {
        let lists = [
            None,
            Some(vec![]),
            Some(vec![ca("x", &[])]),
            Some(vec![ca("a", &[-1, 0, 1]), ca("ü", &[7])]),
        ];
        for version in 0..=2 {
            for assigned in &lists {
                for revoked in &lists {
                    for error in [ERROR_NONE, ERROR_CONFIG_MISMATCH] {
                        let a = Assignment {
                            version,
                            error,
                            leader: "connect-1-5f2e".into(),
                            leader_url: "http://10.0.0.5:8083/".into(),
                            config_offset: -1,
                            assigned: assigned.clone(),
                            revoked: revoked.clone(),
                            delay_ms: 12_345,
                        };
                        let decoded = Assignment::decode(&a.encode().unwrap()).unwrap();
                        let mut expected = a.clone();
                        if version == 0 {
                            expected.assigned = Some(assigned.clone().unwrap_or_default());
                            expected.revoked = None;
                            expected.delay_ms = 0;
                        }
                        assert_eq!(decoded, expected);
                    }
                }
            }
        }
    }

    #[test]
    fn v0_assignment_parses_with_v1_rules() {
        let v0 = assignment(0);
        let bytes = v0.encode().unwrap();
        // Same body, but with a v1 header: revoked and delay are simply missing.
        let mut as_v1 = bytes.clone();
        as_v1[1] = 1;
        let decoded = Assignment::decode(&as_v1).unwrap();
        assert_eq!(
            decoded,
            Assignment {
                version: 1,
                revoked: None,
                delay_ms: 0,
                ..v0.clone()
            }
        );
        // And the v0 encoding itself.
        let decoded = Assignment::decode(&bytes).unwrap();
        assert_eq!(decoded, v0);
        assert_eq!(decoded.revoked, None);
        assert_eq!(decoded.delay_ms, 0);

        // Only the delay missing.
        let full = assignment(2);
        let enc = full.encode().unwrap();
        let decoded = Assignment::decode(&enc[..enc.len() - 4]).unwrap();
        assert_eq!(
            decoded,
            Assignment {
                delay_ms: 0,
                ..full
            }
        );
    }

    #[test]
    fn assignment_from_newer_version_ignores_trailing_bytes() {
        let a = assignment(3);
        let mut bytes = a.encode().unwrap();
        bytes.extend_from_slice(&[0, 0, 0, 7, 1, 2, 3]);
        assert_eq!(Assignment::decode(&bytes).unwrap(), a);

        let v0 = assignment(0);
        let mut bytes = v0.encode().unwrap();
        bytes.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 9]);
        assert_eq!(Assignment::decode(&bytes).unwrap(), v0);
    }

    #[test]
    fn assignment_every_truncation_errors_except_tolerated_tails() {
        let samples = [
            assignment(0),
            assignment(1),
            assignment(2),
            Assignment {
                assigned: None,
                revoked: None,
                ..assignment(2)
            },
            Assignment {
                assigned: Some(vec![]),
                revoked: Some(vec![]),
                ..assignment(1)
            },
        ];
        for a in &samples {
            let bytes = a.encode().unwrap();
            let len = bytes.len();
            // For v1+ the encoding may legally end before `revoked` or before `delay`.
            let (before_revoked, before_delay) = if a.version >= 1 {
                let mut revoked = Vec::new();
                put_assignments(&mut revoked, a.revoked.as_deref(), &REVOKED_FIELDS).unwrap();
                (Some(len - 4 - revoked.len()), Some(len - 4))
            } else {
                (None, None)
            };
            for cut in 0..len {
                let result = Assignment::decode(&bytes[..cut]);
                if Some(cut) == before_revoked {
                    let expected = Assignment {
                        revoked: None,
                        delay_ms: 0,
                        ..a.clone()
                    };
                    assert_eq!(result, Ok(expected));
                } else if Some(cut) == before_delay {
                    let expected = Assignment {
                        delay_ms: 0,
                        ..a.clone()
                    };
                    assert_eq!(result, Ok(expected));
                } else {
                    assert!(
                        result.is_err(),
                        "prefix {cut}/{len} of {a:?} decoded as {result:?}"
                    );
                }
            }
            assert_eq!(&Assignment::decode(&bytes).unwrap(), a);
        }
    }

    #[test]
    fn assignment_rejects_malformed_input() {
        let header = hex("00 01 00 00 00 01 4C 00 01 55 00 00 00 00 00 00 00 01");
        let with = |tail: &str| {
            let mut b = header.clone();
            b.extend_from_slice(&hex(tail));
            b
        };
        assert_eq!(
            Assignment::decode(&hex("80 00 00 00")),
            Err(ProtocolError::UnsupportedVersion {
                what: "assignment",
                version: i16::MIN
            })
        );
        // Leader string length pointing past the end.
        assert_eq!(
            Assignment::decode(&hex("00 00 00 00 7F FF 41 42")),
            Err(ProtocolError::Truncated {
                field: "leader",
                needed: 32767,
                remaining: 2
            })
        );
        // Connector name length past the end.
        assert!(matches!(
            Assignment::decode(&with("00 00 00 01 00 05 61")),
            Err(ProtocolError::Truncated {
                field: "assignment connector name",
                ..
            })
        ));
        // Negative counts other than -1.
        assert_eq!(
            Assignment::decode(&with("FF FF FF FE")),
            Err(ProtocolError::NegativeLength {
                field: "assignment count",
                length: -2
            })
        );
        assert_eq!(
            Assignment::decode(&with("FF FF FF FF 80 00 00 00")),
            Err(ProtocolError::NegativeLength {
                field: "revoked count",
                length: i64::from(i32::MIN)
            })
        );
        // Null task array is not allowed.
        assert_eq!(
            Assignment::decode(&with("00 00 00 01 00 01 61 FF FF FF FF")),
            Err(ProtocolError::UnexpectedNull {
                field: "assignment task count"
            })
        );
        // v0 assignment array is not nullable.
        let mut v0 = header.clone();
        v0[1] = 0;
        v0.extend_from_slice(&hex("FF FF FF FF"));
        assert_eq!(
            Assignment::decode(&v0),
            Err(ProtocolError::UnexpectedNull {
                field: "assignment count"
            })
        );
        // Huge declared counts with no data: an error, not a huge allocation.
        assert!(matches!(
            Assignment::decode(&with("7F FF FF FF")),
            Err(ProtocolError::Truncated { .. })
        ));
        assert!(matches!(
            Assignment::decode(&with("00 00 00 01 00 00 7F FF FF FF 00 00")),
            Err(ProtocolError::Truncated {
                field: "assignment task id",
                ..
            })
        ));
        // Invalid UTF-8 in a connector name.
        assert!(matches!(
            Assignment::decode(&with("00 00 00 01 00 01 FF 00 00 00 00")),
            Err(ProtocolError::InvalidUtf8 {
                field: "assignment connector name",
                ..
            })
        ));
        // Partial delay is truncation, not "missing".
        assert!(matches!(
            Assignment::decode(&with("FF FF FF FF FF FF FF FF 00 00")),
            Err(ProtocolError::Truncated { field: "delay", .. })
        ));
        assert!(Assignment::decode(&[]).is_err());
    }

    #[test]
    fn error_messages_are_clear() {
        let e = Assignment::decode(&hex("00 00 00 00 00 09 41")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "truncated input: leader needs 9 byte(s) but only 1 remain"
        );
        let e = ProtocolError::NegativeLength {
            field: "revoked count",
            length: -5,
        };
        assert_eq!(
            e.to_string(),
            "invalid length -5 for revoked count: only -1 (null) may be negative"
        );
        let e = MemberMetadata::decode(&hex("FF FE")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported Connect protocol version -2 in member metadata: versions must be >= 0"
        );
        let e = MemberMetadata::decode(&hex("00 00 00 01 FF 00 00 00 00 00 00 00 00")).unwrap_err();
        assert!(e.to_string().starts_with("url is not valid UTF-8"), "{e}");
    }

    #[test]
    fn encode_rejects_unrepresentable_strings() {
        let long = "x".repeat(i16::MAX as usize + 1);
        let md = MemberMetadata {
            version: 0,
            url: long.clone(),
            config_offset: 0,
            allocation: None,
        };
        assert_eq!(
            md.encode(),
            Err(ProtocolError::StringTooLong {
                field: "url",
                length: 32768
            })
        );
        let a = Assignment {
            assigned: Some(vec![ca(&long, &[])]),
            ..assignment(1)
        };
        assert!(matches!(
            a.encode(),
            Err(ProtocolError::StringTooLong {
                field: "assignment connector name",
                ..
            })
        ));
        let md = MemberMetadata::new(ConnectProtocol::Compatible, "u", 0, Some(a));
        assert!(md.encode().is_err());
        // The maximum length itself is fine.
        let max = "y".repeat(i16::MAX as usize);
        let md = MemberMetadata {
            url: max,
            ..MemberMetadata::new(ConnectProtocol::Eager, "", 0, None)
        };
        assert_eq!(MemberMetadata::decode(&md.encode().unwrap()).unwrap(), md);
    }

    #[test]
    fn mutated_and_random_inputs_never_panic() {
        // Deterministic xorshift; decoding must return (Ok or Err) for every input.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let md = MemberMetadata::new(
            ConnectProtocol::Sessioned,
            "http://a:8083/",
            5,
            Some(assignment(2)),
        );
        let seeds = [
            md.encode().unwrap(),
            assignment(0).encode().unwrap(),
            assignment(1).encode().unwrap(),
        ];
        for seed in &seeds {
            for _ in 0..2000 {
                let mut bytes = seed.clone();
                for _ in 0..(next() % 4 + 1) {
                    let pos = (next() as usize) % bytes.len();
                    bytes[pos] = next() as u8;
                }
                let _ = MemberMetadata::decode(&bytes);
                let _ = Assignment::decode(&bytes);
            }
        }
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = MemberMetadata::decode(&bytes);
            let _ = Assignment::decode(&bytes);
        }
    }

    // --- Helpers ------------------------------------------------------------------------------

    #[test]
    fn connector_and_task_helpers() {
        let a = Assignment {
            assigned: Some(vec![ca("a", &[-1, 0, 2]), ca("b", &[1]), ca("c", &[-1])]),
            revoked: Some(vec![ca("d", &[3, -1])]),
            ..assignment(1)
        };
        assert_eq!(a.connectors(), vec!["a", "c"]);
        assert_eq!(a.tasks(), vec![("a", 0), ("a", 2), ("b", 1)]);
        assert_eq!(a.revoked_connectors(), vec!["d"]);
        assert_eq!(a.revoked_tasks(), vec![("d", 3)]);
        let empty = Assignment {
            assigned: None,
            revoked: None,
            ..assignment(1)
        };
        assert!(empty.connectors().is_empty());
        assert!(empty.tasks().is_empty());
        assert!(empty.revoked_connectors().is_empty());
        assert!(empty.revoked_tasks().is_empty());
        assert!(!a.is_error());
        assert!(Assignment {
            error: ERROR_CONFIG_MISMATCH,
            ..a
        }
        .is_error());
    }

    #[test]
    fn group_builds_per_connector_entries() {
        let grouped =
            ConnectorAssignment::group(["b", "a"], [("a", 0), ("c", 1), ("b", 2), ("a", 1)]);
        assert_eq!(
            grouped,
            vec![ca("b", &[-1, 2]), ca("a", &[-1, 0, 1]), ca("c", &[1])]
        );
        assert!(ConnectorAssignment::group([], []).is_empty());
        let a = Assignment {
            assigned: Some(grouped),
            ..assignment(0)
        };
        assert_eq!(a.connectors(), vec!["b", "a"]);
        assert_eq!(a.tasks(), vec![("b", 2), ("a", 0), ("a", 1), ("c", 1)]);
    }
}
