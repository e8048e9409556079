//! Wire messages for the classes a plugin exports next to connectors: converters, header
//! converters, transformations, predicates and config providers.
//!
//! `component_new` takes an encoded [`ComponentNew`] (kind, class, config); `component_call`
//! takes one [`ComponentRequest`] and answers one [`ComponentResponse`]. Converter, header
//! converter, transformation and predicate requests carry a whole batch, and the response has
//! one result per record, in order. The host encodes converter batches straight from borrowed
//! records ([`FromConnectRef`], [`ToConnectRef`]); the plugin decodes them as the owned
//! variants (same wire layout, checked by a test).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize, Serializer};

use crate::component::ComponentKind;
use crate::config::ConfigDef;
use crate::converter::{ConnectData, ConverterError, RawData};
use crate::record::{Headers, Props};
use crate::transform::{ConnectRecord, Outcome, TransformError};
use crate::{SchemaRef, Value};

/// One non-connector class a plugin provides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentManifest {
    pub class: String,
    pub kind: ComponentKind,
    pub version: String,
    pub config_def: ConfigDef,
}

/// What `component_new` builds: a configured instance of `class` as `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentNew {
    pub kind: ComponentKind,
    pub class: String,
    /// The class's own config (prefix stripped).
    pub config: Props,
    /// Converters only: whether it converts record keys.
    pub is_key: bool,
}

/// Connect data to write, owned (as the plugin decodes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectDataOwned {
    pub topic: String,
    #[serde(default, with = "super::intern::opt_schema_ref")]
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// Bytes to read, owned (as the plugin decodes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawDataOwned {
    pub topic: String,
    pub bytes: Option<ByteBuf>,
}

/// A header value to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderData {
    pub topic: String,
    pub key: String,
    #[serde(default, with = "super::intern::opt_schema_ref")]
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// Header bytes to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderRaw {
    pub topic: String,
    pub key: String,
    pub bytes: Option<ByteBuf>,
}

/// Bytes that encode as one length-prefixed run (not a sequence of numbers).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByteBuf(pub Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<ByteBuf, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ByteBuf, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element()? {
                    out.push(b);
                }
                Ok(ByteBuf(out))
            }
        }
        de.deserialize_byte_buf(V)
    }
}

/// A record as a transformation or predicate sees it, across the boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRecord {
    pub is_sink: bool,
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub kafka_offset: Option<i64>,
    pub timestamp: Option<i64>,
    #[serde(default, with = "super::intern::opt_schema_ref")]
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    #[serde(default, with = "super::intern::opt_schema_ref")]
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub headers: Headers,
}

impl WireRecord {
    /// A copy of `record`.
    pub fn of(record: &dyn ConnectRecord) -> WireRecord {
        WireRecord {
            is_sink: record.is_sink(),
            topic: record.topic().to_owned(),
            kafka_partition: record.kafka_partition(),
            kafka_offset: record.kafka_offset(),
            timestamp: record.timestamp(),
            key_schema: record.key_schema().cloned(),
            key: record.key().clone(),
            value_schema: record.value_schema().cloned(),
            value: record.value().clone(),
            headers: record.headers().clone(),
        }
    }

    /// Writes what a transformation may change (topic, key, value, headers) into `record`.
    pub fn write_to(self, record: &mut dyn ConnectRecord) {
        if record.topic() != self.topic {
            record.set_topic(self.topic);
        }
        let (ks, k) = record.key_mut();
        *ks = self.key_schema;
        *k = self.key;
        let (vs, v) = record.value_mut();
        *vs = self.value_schema;
        *v = self.value;
        *record.headers_mut() = self.headers;
    }
}

impl ConnectRecord for WireRecord {
    crate::transform::common_accessors!();

    fn kafka_partition(&self) -> Option<i32> {
        self.kafka_partition
    }
    fn kafka_offset(&self) -> Option<i64> {
        self.kafka_offset
    }
    fn is_sink(&self) -> bool {
        self.is_sink
    }
}

/// A call to a component instance. Batches keep their order in the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ComponentRequest {
    /// Converter: Connect data → bytes.
    FromConnect(Vec<ConnectDataOwned>),
    /// Converter: bytes → Connect data.
    ToConnect(Vec<RawDataOwned>),
    /// Header converter: header values → bytes.
    FromConnectHeader(Vec<HeaderData>),
    /// Header converter: header bytes → Connect data.
    ToConnectHeader(Vec<HeaderRaw>),
    /// Transformation: each record on its own (a dropped record is `Outcome::Drop`).
    Apply(Vec<WireRecord>),
    /// Predicate.
    Test(Vec<WireRecord>),
    /// Config provider: the values of `keys` at `path`.
    Get {
        path: String,
        keys: BTreeSet<String>,
    },
}

/// Connect data read by a converter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectedOwned {
    #[serde(default, with = "super::intern::opt_schema_ref")]
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ComponentResponse {
    Bytes(Vec<Result<Option<ByteBuf>, ConverterError>>),
    Connected(Vec<Result<ConnectedOwned, ConverterError>>),
    /// The outcome and the record as the transformation left it.
    Applied(Vec<Result<(Outcome, WireRecord), TransformError>>),
    Tested(Vec<bool>),
    Values(BTreeMap<String, String>),
}

/// [`ComponentRequest::FromConnect`] encoded from borrowed records (no copy of the values).
pub struct FromConnectRef<'a>(pub &'a [ConnectData<'a>]);

/// [`ComponentRequest::ToConnect`] encoded from borrowed bytes.
pub struct ToConnectRef<'a>(pub &'a [RawData<'a>]);

struct SchemaOut<'a>(&'a SchemaRef);

impl Serialize for SchemaOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        super::intern::schema_ref::serialize(self.0, ser)
    }
}

struct DataOut<'a>(&'a ConnectData<'a>);

impl Serialize for DataOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = ser.serialize_struct("ConnectDataOwned", 3)?;
        s.serialize_field("topic", self.0.topic)?;
        s.serialize_field("schema", &self.0.schema.map(SchemaOut))?;
        s.serialize_field("value", &self.0.value)?;
        s.end()
    }
}

struct RawOut<'a>(&'a RawData<'a>);

struct BytesOut<'a>(&'a [u8]);

impl Serialize for BytesOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_bytes(self.0)
    }
}

impl Serialize for RawOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = ser.serialize_struct("RawDataOwned", 2)?;
        s.serialize_field("topic", self.0.topic)?;
        s.serialize_field("bytes", &self.0.bytes.map(BytesOut))?;
        s.end()
    }
}

impl Serialize for FromConnectRef<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let items: Vec<DataOut<'_>> = self.0.iter().map(DataOut).collect();
        ser.serialize_newtype_variant("ComponentRequest", 0, "FromConnect", &items)
    }
}

impl Serialize for ToConnectRef<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let items: Vec<RawOut<'_>> = self.0.iter().map(RawOut).collect();
        ser.serialize_newtype_variant("ComponentRequest", 1, "ToConnect", &items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{decode, encode};
    use crate::{Schema, ValueRef};
    use std::sync::Arc;

    #[test]
    fn borrowed_batches_decode_as_owned_requests() {
        let schema: SchemaRef = Arc::new(Schema::new(crate::Type::String).optional());
        let a = Value::String("a".into());
        let batch = [
            ConnectData {
                topic: "t1",
                schema: Some(&schema),
                value: (&a).into(),
            },
            ConnectData {
                topic: "t2",
                schema: None,
                value: ValueRef::Bytes(b"x"),
            },
        ];
        let bytes = encode(&FromConnectRef(&batch)).unwrap();
        let owned: ComponentRequest = decode(&bytes).unwrap();
        assert_eq!(
            owned,
            ComponentRequest::FromConnect(vec![
                ConnectDataOwned {
                    topic: "t1".into(),
                    schema: Some(schema.clone()),
                    value: a.clone(),
                },
                ConnectDataOwned {
                    topic: "t2".into(),
                    schema: None,
                    value: Value::Bytes(b"x".to_vec()),
                },
            ])
        );
        let raw = [
            RawData {
                topic: "t",
                bytes: Some(b"xyz"),
            },
            RawData {
                topic: "u",
                bytes: None,
            },
        ];
        let bytes = encode(&ToConnectRef(&raw)).unwrap();
        let owned: ComponentRequest = decode(&bytes).unwrap();
        assert_eq!(
            owned,
            ComponentRequest::ToConnect(vec![
                RawDataOwned {
                    topic: "t".into(),
                    bytes: Some(ByteBuf(b"xyz".to_vec())),
                },
                RawDataOwned {
                    topic: "u".into(),
                    bytes: None,
                },
            ])
        );
    }
}
