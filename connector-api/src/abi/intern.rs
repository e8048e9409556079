//! Interning on the wire: inside one plugin message, each schema is written once and later
//! uses refer back to it, and offset maps are written as typed entries. Decoded values share
//! one `Arc` per schema. (Records themselves travel as [`super::batch`] record batches.) Outside [`super::encode`] /
//! [`super::decode`] (e.g. plain serde use of the types) everything is written inline.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::record::OffsetMap;
use crate::schema::{Schema, SchemaRef};

#[derive(Default)]
struct Encoder {
    /// Address of each schema written so far → its id.
    schemas: HashMap<usize, u32>,
}

#[derive(Default)]
struct Decoder {
    schemas: Vec<Option<SchemaRef>>,
}

thread_local! {
    static ENCODER: RefCell<Option<Encoder>> = const { RefCell::new(None) };
    static DECODER: RefCell<Option<Decoder>> = const { RefCell::new(None) };
}

/// Interning is on for the current thread while this lives; dropping it restores whatever
/// was active before (so a message encoded inside another one keeps both intact).
pub(crate) struct EncodeScope(Option<Encoder>);

impl EncodeScope {
    pub(crate) fn start() -> EncodeScope {
        EncodeScope(ENCODER.with(|e| e.borrow_mut().replace(Encoder::default())))
    }
}

impl Drop for EncodeScope {
    fn drop(&mut self) {
        let previous = self.0.take();
        ENCODER.with(|e| *e.borrow_mut() = previous);
    }
}

pub(crate) struct DecodeScope(Option<Decoder>);

impl DecodeScope {
    pub(crate) fn start() -> DecodeScope {
        DecodeScope(DECODER.with(|d| d.borrow_mut().replace(Decoder::default())))
    }
}

impl Drop for DecodeScope {
    fn drop(&mut self) {
        let previous = self.0.take();
        DECODER.with(|d| *d.borrow_mut() = previous);
    }
}

#[derive(Serialize)]
enum SchemaOut<'a> {
    Def(u32, &'a Schema),
    Ref(u32),
}

/// Schema ids a message may define: every id below (a message defines each schema once, in
/// a few bytes at least; the bound keeps a forged id from allocating a huge table).
pub const MAX_SCHEMA_ID: u32 = 1 << 20;

#[derive(Deserialize)]
enum SchemaIn {
    Def(u32, Schema),
    Ref(u32),
}

/// `#[serde(with)]` for `SchemaRef` fields.
pub mod schema_ref {
    use super::*;

    pub fn serialize<S: Serializer>(schema: &SchemaRef, ser: S) -> Result<S::Ok, S::Error> {
        // Decide (and release the borrow) before writing: nested schemas come through here too.
        let slot = ENCODER.with(|e| {
            e.borrow_mut().as_mut().map(|enc| {
                let addr = Arc::as_ptr(schema) as usize;
                let next = enc.schemas.len() as u32;
                match enc.schemas.entry(addr) {
                    std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(next);
                        (next, true)
                    }
                }
            })
        });
        match slot {
            None => schema.as_ref().serialize(ser),
            Some((id, true)) => SchemaOut::Def(id, schema).serialize(ser),
            Some((id, false)) => SchemaOut::Ref(id).serialize(ser),
        }
    }

    /// A schema one level deeper (schemas nest as values do; see [`crate::nesting`]).
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<SchemaRef, D::Error> {
        crate::nesting::nested_schema::<D, Nested>(de).map(|Nested(s)| s)
    }

    struct Nested(SchemaRef);

    impl<'de> Deserialize<'de> for Nested {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Nested, D::Error> {
            decode(de).map(Nested)
        }
    }

    fn decode<'de, D: Deserializer<'de>>(de: D) -> Result<SchemaRef, D::Error> {
        let active = DECODER.with(|d| d.borrow().is_some());
        if !active {
            return Schema::deserialize(de).map(Arc::new);
        }
        match SchemaIn::deserialize(de)? {
            SchemaIn::Def(id, _) if id >= MAX_SCHEMA_ID => Err(D::Error::custom(format!(
                "schema id {id} is beyond what a message can define"
            ))),
            SchemaIn::Def(id, schema) => {
                let schema = Arc::new(schema);
                DECODER.with(|d| {
                    if let Some(dec) = d.borrow_mut().as_mut() {
                        let id = id as usize;
                        if dec.schemas.len() <= id {
                            dec.schemas.resize(id + 1, None);
                        }
                        dec.schemas[id] = Some(schema.clone());
                    }
                });
                Ok(schema)
            }
            SchemaIn::Ref(id) => DECODER
                .with(|d| {
                    d.borrow()
                        .as_ref()
                        .and_then(|dec| dec.schemas.get(id as usize).cloned().flatten())
                })
                .ok_or_else(|| D::Error::custom(format!("reference to unknown schema {id}"))),
        }
    }
}

/// `#[serde(with)]` for `Option<SchemaRef>` fields.
pub mod opt_schema_ref {
    use super::*;

    struct Out<'a>(&'a SchemaRef);

    impl Serialize for Out<'_> {
        fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            schema_ref::serialize(self.0, ser)
        }
    }

    struct In(SchemaRef);

    impl<'de> Deserialize<'de> for In {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<In, D::Error> {
            schema_ref::deserialize(de).map(In)
        }
    }

    pub fn serialize<S: Serializer>(schema: &Option<SchemaRef>, ser: S) -> Result<S::Ok, S::Error> {
        schema.as_ref().map(Out).serialize(ser)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<SchemaRef>, D::Error> {
        Option::<In>::deserialize(de).map(|o| o.map(|In(s)| s))
    }
}

fn encoding() -> bool {
    ENCODER.with(|e| e.borrow().is_some())
}

fn decoding() -> bool {
    DECODER.with(|d| d.borrow().is_some())
}

/// An offset map inside a wire message: a sequence of (key, value) entries, values written as
/// typed scalars (offsets are nearly always maps of numbers and strings) and anything nested
/// as JSON text (the wire format does not describe itself); inline elsewhere.
struct JsonOut<'a>(&'a OffsetMap);

#[derive(Serialize)]
enum ScalarOut<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
    Json(String),
}

#[derive(Deserialize)]
enum ScalarIn<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
    Json(&'a str),
}

impl<'a> ScalarOut<'a> {
    fn of(v: &'a serde_json::Value) -> ScalarOut<'a> {
        use serde_json::Value as J;
        match v {
            J::Null => ScalarOut::Null,
            J::Bool(b) => ScalarOut::Bool(*b),
            J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => ScalarOut::I64(i),
                (_, Some(u), _) => ScalarOut::U64(u),
                (_, _, Some(f)) => ScalarOut::F64(f),
                _ => ScalarOut::Json(n.to_string()),
            },
            J::String(s) => ScalarOut::Str(s),
            nested => ScalarOut::Json(nested.to_string()),
        }
    }
}

impl Serialize for JsonOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        if !encoding() {
            return self.0.serialize(ser);
        }
        ser.collect_seq(self.0.iter().map(|(k, v)| (k.as_str(), ScalarOut::of(v))))
    }
}

struct JsonIn(OffsetMap);

struct Entries;

impl<'de> serde::de::Visitor<'de> for Entries {
    type Value = OffsetMap;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("offset map entries")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<OffsetMap, A::Error> {
        use serde_json::Value as J;
        let mut map = OffsetMap::new();
        while let Some((key, value)) = seq.next_element::<(&'de str, ScalarIn<'de>)>()? {
            let value = match value {
                ScalarIn::Null => J::Null,
                ScalarIn::Bool(b) => J::Bool(b),
                ScalarIn::I64(i) => J::from(i),
                ScalarIn::U64(u) => J::from(u),
                ScalarIn::F64(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
                ScalarIn::Str(s) => J::String(s.to_owned()),
                ScalarIn::Json(text) => serde_json::from_str(text).map_err(A::Error::custom)?,
            };
            map.insert(key.to_owned(), value);
        }
        Ok(map)
    }
}

impl<'de> Deserialize<'de> for JsonIn {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<JsonIn, D::Error> {
        if !decoding() {
            return OffsetMap::deserialize(de).map(JsonIn);
        }
        de.deserialize_seq(Entries).map(JsonIn)
    }
}

/// `#[serde(with)]` for committed offsets: `(partition, offset)` pairs.
pub mod offset_pairs {
    use super::*;

    pub fn serialize<S: Serializer>(
        pairs: &[(OffsetMap, OffsetMap)],
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        ser.collect_seq(pairs.iter().map(|(p, o)| (JsonOut(p), JsonOut(o))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Vec<(OffsetMap, OffsetMap)>, D::Error> {
        let pairs = Vec::<(JsonIn, JsonIn)>::deserialize(de)?;
        Ok(pairs.into_iter().map(|(p, o)| (p.0, o.0)).collect())
    }
}

/// `#[serde(with)]` for offset updates: `(partition, offset)` pairs, a `None` offset deletes.
pub mod offset_updates {
    use super::*;

    pub fn serialize<S: Serializer>(
        pairs: &[(OffsetMap, Option<OffsetMap>)],
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        ser.collect_seq(
            pairs
                .iter()
                .map(|(p, o)| (JsonOut(p), o.as_ref().map(JsonOut))),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Vec<(OffsetMap, Option<OffsetMap>)>, D::Error> {
        let pairs = Vec::<(JsonIn, Option<JsonIn>)>::deserialize(de)?;
        Ok(pairs
            .into_iter()
            .map(|(p, o)| (p.0, o.map(|o| o.0)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::abi::{decode, encode};
    use crate::record::OffsetMap;
    use crate::schema::Schema;
    use crate::value::{Struct, Value};
    use std::sync::Arc;

    #[test]
    fn interned_messages_round_trip_and_share_schemas() {
        let inner = Schema::struct_([("n", Schema::int32())]).into_ref();
        let outer = Schema::struct_([("inner", inner.clone()), ("s", Schema::optional_string())])
            .with_name("outer")
            .into_ref();
        let mut values = Vec::new();
        for i in 0..4 {
            let mut in_struct = Struct::new(inner.clone()).unwrap();
            in_struct.put("n", Value::Int32(i)).unwrap();
            let mut value = Struct::new(outer.clone()).unwrap();
            value.put("inner", Value::Struct(in_struct)).unwrap();
            values.push(Value::Struct(value));
        }
        let bytes = encode(&values).unwrap();
        let got: Vec<Value> = decode(&bytes).unwrap();
        assert_eq!(got, values);
        let schema_of = |v: &Value| match v {
            Value::Struct(s) => s.schema().clone(),
            other => panic!("not a struct: {other:?}"),
        };
        assert!(
            Arc::ptr_eq(&schema_of(&got[0]), &schema_of(&got[2])),
            "decoded values share one schema"
        );
        // Each schema is written once: far smaller than the same message written inline.
        let inline = postcard::to_allocvec(&values).unwrap().len();
        assert!(
            bytes.len() * 2 < inline,
            "interned {} vs inline {inline}",
            bytes.len()
        );
    }

    #[test]
    fn forged_schema_ids_and_field_counts_are_errors() {
        let schema = Schema::struct_([("n", Schema::int32())]).into_ref();
        let mut s = Struct::new(schema).unwrap();
        s.put("n", Value::Int32(5)).unwrap();
        let bytes = encode(&vec![Value::Struct(s)]).unwrap();
        // One value, variant Struct (12), schema Def (0) with id 0.
        assert_eq!(&bytes[..4], &[1, 12, 0, 0]);
        // The id as u32::MAX: an error, not a 32 GiB table.
        let mut forged = bytes[..3].to_vec();
        forged.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        forged.extend(&bytes[4..]);
        let e = decode::<Vec<Value>>(&forged).unwrap_err();
        assert!(e.starts_with("cannot decode plugin message"), "{e}");
        // Two values for a one-field schema: the value count is the message's last varint
        // before the values (1), made 2 with a second value appended.
        let values_at = bytes.len() - 3; // [count 1, Int32 variant 4, zigzag 5]
        let mut forged = bytes.clone();
        let tail = forged.split_off(values_at);
        assert_eq!(tail[0], 1, "{bytes:?}");
        forged.push(2);
        forged.extend(&tail[1..]);
        forged.extend(&tail[1..]);
        assert!(decode::<Vec<Value>>(&forged).is_err());
        assert_eq!(decode::<Vec<Value>>(&bytes).unwrap().len(), 1);
    }

    #[test]
    fn offset_maps_of_any_json_round_trip() {
        use crate::abi::TaskRequest;
        let offset: OffsetMap = serde_json::json!({
            "position": 42,
            "big": u64::MAX,
            "negative": -7,
            "ratio": 0.25,
            "file": "a/b.txt",
            "done": false,
            "none": null,
            "lsn": [1, "two", {"three": 3}],
            "nested": {"k": "v"}
        })
        .as_object()
        .cloned()
        .unwrap();
        let mut partition = OffsetMap::new();
        partition.insert("filename".into(), "p".into());
        let request = TaskRequest::StartSource {
            props: Default::default(),
            offsets: vec![(partition, offset)],
        };
        let back: TaskRequest = decode(&encode(&request).unwrap()).unwrap();
        assert_eq!(back, request);
    }
}

#[cfg(test)]
mod plain_serde {
    use crate::schema::Schema;

    #[test]
    fn optional_schema_fields_may_be_absent_in_plain_json() {
        let s: Schema = serde_json::from_str(
            r#"{"type_":"Int32","optional":false,"default":null,"name":null,"version":null,
                "doc":null,"parameters":null,"fields":[]}"#,
        )
        .unwrap();
        assert!(s.key_schema.is_none() && s.value_schema.is_none());
        let back: Schema = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
