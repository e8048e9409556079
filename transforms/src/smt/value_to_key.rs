//! `org.apache.kafka.connect.transforms.ValueToKey`: the key becomes a struct (with a value
//! schema) or a map (without) of the listed top-level value fields. The value must be a struct
//! or a map (a tombstone is an error, as in Java). With a schema every listed field must exist;
//! the key schema (a required, unnamed struct of the listed fields, in list order, with the
//! value's field schemas) is derived once per value schema. The record's value schema becomes
//! the value struct's own schema.
//!
//! Without a schema Java builds the key as a `java.util.HashMap`, so converters write its
//! entries in hash order; the key map here lists the entries in that same order, so a
//! schemaless key serializes (and partitions) exactly as under Java.

use std::collections::HashSet;

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::{
    ConfigDef, ConfigType, Importance, Props, Schema, SchemaRef, Struct, Value,
};

use crate::config::{self, java_list};
use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{check_put, map_get, require_map, require_struct, SchemaCache};
use crate::smt::field_path::struct_get;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.ValueToKey";

const FIELDS: &str = "fields";
const PURPOSE: &str = "copying fields from value to key";

/// The single class (no `$Key` / `$Value` variants).
pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(
        CLASS,
        config_def,
        ValueToKey::create,
    )]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            config::required(
                FIELDS,
                ConfigType::List,
                Importance::High,
                "Field names on the record value to extract as the record key.",
            )
            .validator(Validator::NonEmptyList),
        )
        .define(config::replace_null_with_default())
}

/// Builds the key from fields of the value.
pub struct ValueToKey {
    /// As listed, duplicates included (they fail with a schema, as in Java).
    fields: Vec<String>,
    /// The distinct fields in the iteration order of Java's `HashMap` (schemaless keys).
    map_order: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl ValueToKey {
    fn create(_: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let fields = java_list(cfg.get(FIELDS).unwrap_or_default());
        let map_order = java_hash_map_order(&fields);
        Ok(Box::new(ValueToKey {
            fields,
            map_order,
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
            cache: SchemaCache::new(),
        }))
    }

    fn key_schema(&mut self, value: &Struct) -> Result<SchemaRef, TransformError> {
        let fields = &self.fields;
        self.cache.get_or_try_insert(value.schema(), |schema| {
            let mut seen = HashSet::new();
            let mut key_fields = Vec::with_capacity(fields.len());
            for name in fields {
                let field = schema
                    .field(name)
                    .ok_or_else(|| TransformError::new(format!("Field does not exist: {name}")))?;
                // Java's SchemaBuilder refuses empty and repeated field names.
                if name.is_empty() {
                    return Err(TransformError::new("fieldName cannot be null."));
                }
                if !seen.insert(name.as_str()) {
                    return Err(TransformError::new(format!(
                        "Cannot create field because of field name duplication {name}"
                    )));
                }
                key_fields.push((name.clone(), field.schema.clone()));
            }
            Ok(Schema::struct_(key_fields).into_ref())
        })
    }
}

impl Transformation for ValueToKey {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        if record.value_schema().is_none() {
            let entries = require_map(record.value(), PURPOSE)?;
            let key = self
                .map_order
                .iter()
                .map(|name| {
                    let v = map_get(entries, name).cloned().unwrap_or(Value::Null);
                    (Value::String(name.clone()), v)
                })
                .collect();
            let (key_schema, key_value) = record.key_mut();
            *key_schema = None;
            *key_value = Value::Map(key);
            return Ok(Outcome::Keep);
        }
        let value = require_struct(record.value(), PURPOSE)?;
        let key_schema = self.key_schema(value)?;
        let mut values = Vec::with_capacity(key_schema.fields.len());
        for field in &key_schema.fields {
            let v = struct_get(value, &field.name, self.replace_null_with_default)
                .cloned()
                .unwrap_or(Value::Null);
            check_put(&field.name, &field.schema, &v)?;
            values.push(v);
        }
        let key = Struct::from_parts(key_schema.clone(), values)?;
        let value_schema = value.schema().clone();
        let (ks, kv) = record.key_mut();
        *ks = Some(key_schema);
        *kv = Value::Struct(key);
        *record.value_mut().0 = Some(value_schema);
        Ok(Outcome::Keep)
    }
}

/// The order in which a `java.util.HashMap` created with capacity `names.len()` and filled
/// with `names` (in order; a repeated name keeps its first place) iterates its keys: by bucket
/// of the final table, then by insertion within a bucket. (Buckets of 8 or more colliding keys
/// in tables of 64 or more become trees in Java, whose order may differ; no field list is
/// that large.)
fn java_hash_map_order(names: &[String]) -> Vec<String> {
    let mut distinct: Vec<&String> = Vec::with_capacity(names.len());
    for name in names {
        if !distinct.contains(&name) {
            distinct.push(name);
        }
    }
    // Table sizing: the requested capacity rounded up to a power of two (at least 1), doubled
    // whenever the size exceeds three quarters of it.
    let mut capacity = names.len().max(1).next_power_of_two();
    for size in 1..=distinct.len() {
        if size > capacity * 3 / 4 {
            capacity *= 2;
        }
    }
    let bucket = |name: &str| {
        let h = java_string_hash(name) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut ordered: Vec<(usize, &String)> = distinct.into_iter().map(|n| (bucket(n), n)).collect();
    ordered.sort_by_key(|(b, _)| *b); // stable: insertion order within a bucket
    ordered.into_iter().map(|(_, n)| n.clone()).collect()
}

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use tributary_connector_api::Type;

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn abc() -> (SchemaRef, Value) {
        let schema = Schema::struct_([
            ("a", Schema::int32()),
            ("b", Schema::optional_string()),
            ("c", Schema::int32()),
        ])
        .into_ref();
        let value = strukt(
            &schema,
            vec![
                ("a", Value::Int32(1)),
                ("b", Value::from("two")),
                ("c", Value::Int32(3)),
            ],
        );
        (schema, value)
    }

    #[test]
    fn schemaless_key_is_a_map_of_the_fields() {
        let mut t = transform(CLASS, &[("fields", "a,b")]);
        let value = map(vec![
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("c", Value::Int32(3)),
        ]);
        let mut r = sink("t", None, Value::from("old"), None, value.clone());
        apply(t.as_mut(), &mut r);
        assert_eq!(r.key_schema, None);
        assert_eq!(
            r.key,
            map(vec![("a", Value::Int32(1)), ("b", Value::Int32(2))])
        );
        assert_eq!(r.value, value);
        // A missing field is a null entry ("zz" = 3904 lands in slot 0, before "a").
        let mut t = transform(CLASS, &[("fields", "a, zz")]);
        let mut r = source("t", None, Value::Null, None, value);
        apply(t.as_mut(), &mut r);
        assert_eq!(
            r.key,
            map(vec![("zz", Value::Null), ("a", Value::Int32(1))])
        );
    }

    #[test]
    fn schemaless_key_entries_follow_java_hash_map_order() {
        // "a" hashes to 97 and "b" to 98: in the 4-slot table (2 requested, grown on the
        // second insert) a is in slot 1 and b in slot 2, whatever the listed order.
        let mut t = transform(CLASS, &[("fields", "b,a")]);
        let value = map(vec![("a", Value::Int32(1)), ("b", Value::Int32(2))]);
        let mut r = sink("t", None, Value::Null, None, value.clone());
        apply(t.as_mut(), &mut r);
        assert_eq!(
            r.key,
            map(vec![("a", Value::Int32(1)), ("b", Value::Int32(2))])
        );
        // Orders worked out by hand from String.hashCode and HashMap's table sizing.
        let order = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            java_hash_map_order(&names)
        };
        assert_eq!(order(&["id"]), ["id"]);
        // "id" = 3355 (odd), "name" = 3373707 -> spread 3373707 ^ 51 = 3373752 (even).
        assert_eq!(order(&["id", "name"]), ["name", "id"]);
        // Four names: the table grows from 4 to 8 slots on the fourth insert.
        // a=97→1, b=98→2, c=99→3, d=100→4 in 8 slots.
        assert_eq!(order(&["d", "c", "b", "a"]), ["a", "b", "c", "d"]);
        // Repeats keep the first place and count towards the requested capacity.
        assert_eq!(order(&["c", "a", "c"]), ["a", "c"]);
        // Orders printed by a JDK's HashMap for the same insertions.
        for (names, java) in [
            ("customer_id,order_id,region", "customer_id,region,order_id"),
            (
                "x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,x11,x12,x13",
                "x8,x9,x10,x12,x1,x11,x2,x3,x13,x4,x5,x6,x7",
            ),
            ("Aa,BB,id", "Aa,BB,id"),
            ("été,naïve,ü", "ü,été,naïve"),
            (",k", ",k"),
            ("user.id,tenant,ts,seq,shard", "shard,user.id,tenant,seq,ts"),
        ] {
            let names: Vec<String> = names.split(',').map(str::to_owned).collect();
            assert_eq!(java_hash_map_order(&names).join(","), java);
        }
        assert_eq!(java_string_hash("name"), 3373707);
        assert_eq!(java_string_hash("hello world"), 1794106052);
        assert_eq!(java_string_hash("é"), 233);
    }

    #[test]
    fn schemaless_value_must_be_a_map() {
        let mut t = transform(CLASS, &[("fields", "a")]);
        let mut r = sink("t", None, Value::Null, None, Value::Int32(1));
        assert!(t.apply(&mut r).is_err());
        let mut r = sink("t", None, Value::Null, None, Value::Null);
        let err = t.apply(&mut r).unwrap_err();
        assert!(
            err.message.contains("copying fields from value to key"),
            "{err}"
        );
    }

    #[test]
    fn with_schema_key_is_a_struct_of_the_fields() {
        let (schema, value) = abc();
        let mut t = transform(CLASS, &[("fields", "c,b")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        apply(t.as_mut(), &mut r);
        let expected =
            Schema::struct_([("c", Schema::int32()), ("b", Schema::optional_string())]).into_ref();
        assert_eq!(r.key_schema, Some(expected.clone()));
        assert_eq!(
            r.key,
            strukt(
                &expected,
                vec![("c", Value::Int32(3)), ("b", Value::from("two"))]
            )
        );
        assert_eq!(r.value, value);
        assert_eq!(r.value_schema, Some(schema));
    }

    #[test]
    fn value_schema_becomes_the_structs_own() {
        let (schema, value) = abc();
        // The record says the value schema is an equal copy; Java re-points it at the struct's.
        let copy = Arc::new((*schema).clone());
        let mut t = transform(CLASS, &[("fields", "a")]);
        let mut r = sink("t", None, Value::Null, Some(copy), value);
        apply(t.as_mut(), &mut r);
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &schema));
    }

    #[test]
    fn with_schema_errors() {
        let (schema, value) = abc();
        let mut t = transform(CLASS, &[("fields", "a,nope")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        assert_eq!(
            t.apply(&mut r).unwrap_err().message,
            "Field does not exist: nope"
        );
        // A tombstone with a schema.
        let mut t = transform(CLASS, &[("fields", "a")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), Value::Null);
        assert!(t.apply(&mut r).is_err());
        // A repeated field cannot make a struct schema.
        let mut t = transform(CLASS, &[("fields", "a,a")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        assert!(t.apply(&mut r).is_err());
        // An empty entry is kept (as in Java) and is no field.
        let mut t = transform(CLASS, &[("fields", "a,,b")]);
        let mut r = sink("t", None, Value::Null, Some(schema), value);
        assert_eq!(
            t.apply(&mut r).unwrap_err().message,
            "Field does not exist: "
        );
        // Even a value field named "" cannot become a key field.
        let odd = Schema::struct_([("", Schema::int32())]).into_ref();
        let v = strukt(&odd, vec![("", Value::Int32(1))]);
        let mut t = transform(CLASS, &[("fields", ",a")]);
        let mut r = sink("t", None, Value::Null, Some(odd), v);
        assert_eq!(
            t.apply(&mut r).unwrap_err().message,
            "fieldName cannot be null."
        );
        // ...while a schemaless key may have an empty name.
        let mut r = sink(
            "t",
            None,
            Value::Null,
            None,
            map(vec![("", Value::Int32(1))]),
        );
        apply(t.as_mut(), &mut r);
        let Value::Map(entries) = &r.key else {
            panic!()
        };
        assert_eq!(map_get(entries, ""), Some(&Value::Int32(1)));
        assert_eq!(map_get(entries, "a"), Some(&Value::Null));
    }

    #[test]
    fn key_schema_is_cached_per_value_schema() {
        let (schema, value) = abc();
        let mut t = transform(CLASS, &[("fields", "a")]);
        let mut first = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        let mut second = sink("t", None, Value::Null, Some(schema), value);
        apply(t.as_mut(), &mut first);
        apply(t.as_mut(), &mut second);
        assert!(Arc::ptr_eq(
            first.key_schema.as_ref().unwrap(),
            second.key_schema.as_ref().unwrap()
        ));
    }

    #[test]
    fn replace_null_with_default() {
        let opt = Schema::new(Type::Int32)
            .optional()
            .with_default(Value::Int32(42))
            .into_ref();
        let schema = Schema::struct_([("opt", opt)]).into_ref();
        for (flag, expected) in [("true", Value::Int32(42)), ("false", Value::Null)] {
            let mut t = transform(
                CLASS,
                &[("fields", "opt"), ("replace.null.with.default", flag)],
            );
            let value = strukt(&schema, vec![("opt", Value::Null)]);
            let mut r = sink("t", None, Value::Null, Some(schema.clone()), value);
            apply(t.as_mut(), &mut r);
            let Value::Struct(key) = &r.key else { panic!() };
            assert_eq!(key.get("opt"), Some(&expected), "{flag}");
        }
        // A required field with a default: without replacement Java's put refuses the null.
        let req = Schema::new(Type::Int32)
            .with_default(Value::Int32(7))
            .into_ref();
        let schema = Schema::struct_([("req", req)]).into_ref();
        let value = strukt(&schema, vec![]);
        let mut t = transform(CLASS, &[("fields", "req")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        apply(t.as_mut(), &mut r);
        let Value::Struct(key) = &r.key else { panic!() };
        assert_eq!(key.get("req"), Some(&Value::Int32(7)));
        let mut t = transform(
            CLASS,
            &[("fields", "req"), ("replace.null.with.default", "false")],
        );
        let mut r = sink("t", None, Value::Null, Some(schema), value);
        assert!(t.apply(&mut r).is_err());
    }

    #[test]
    fn documented_chain_with_extract_field() {
        // Kafka's docs: copy `userId` from the value into the key, then unwrap the key.
        let mut to_key = transform(CLASS, &[("fields", "userId")]);
        let mut unwrap = transform(crate::smt::extract_field::KEY_CLASS, &[("field", "userId")]);
        let schema =
            Schema::struct_([("userId", Schema::int64()), ("name", Schema::string())]).into_ref();
        let value = strukt(
            &schema,
            vec![("userId", Value::Int64(7)), ("name", Value::from("ann"))],
        );
        let mut r = source("t", None, Value::Null, Some(schema.clone()), value.clone());
        apply(to_key.as_mut(), &mut r);
        apply(unwrap.as_mut(), &mut r);
        assert_eq!(
            (r.key_schema, r.key),
            (Some(Schema::int64()), Value::Int64(7))
        );
        assert_eq!((r.value_schema, r.value), (Some(schema), value));

        let value = map(vec![
            ("userId", Value::Int64(7)),
            ("name", Value::from("ann")),
        ]);
        let mut r = sink("t", None, Value::Null, None, value.clone());
        apply(to_key.as_mut(), &mut r);
        apply(unwrap.as_mut(), &mut r);
        assert_eq!((r.key_schema, r.key), (None, Value::Int64(7)));
        assert_eq!(r.value, value);
    }

    #[test]
    fn java_list_splitting() {
        assert_eq!(java_list(" a , b "), ["a", "b"]);
        assert_eq!(java_list("a,,b"), ["a", "", "b"]);
        assert_eq!(java_list("a,"), ["a", ""]);
        assert!(java_list("  ").is_empty());
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[]), "fields");
        assert_eq!(key(&[("fields", "")]), "fields");
        assert_eq!(
            key(&[("fields", "a"), ("replace.null.with.default", "yes")]),
            "replace.null.with.default"
        );
    }
}
