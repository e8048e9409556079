//! `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`: flattens nested Structs (with
//! a schema) or nested Maps (schemaless) into one level, naming each field by the path of field
//! names joined with `delimiter` (default `.`).
//!
//! As in Kafka Connect:
//! * arrays and primitive values are copied as they are (arrays are not entered);
//! * with a schema only Structs are entered; a Map field is an error; every flattened field is
//!   optional if it or any of its parents is, and takes its own default or else the value its
//!   parents' default Struct holds for it; the result keeps the top schema's name, version,
//!   doc and parameters, but not its optionality or default;
//! * a null nested Struct leaves its flattened fields null (or, if it has a default, takes
//!   them from the default);
//! * schemaless, nested Maps are entered, null values kept, and a name produced twice keeps
//!   its first position with the last value (a `LinkedHashMap`); a Struct is an error;
//! * a null key/value passes through unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{
    ConfigDef, ConfigType, Field, Importance, Props, Schema, SchemaRef, Struct, Type, Value,
};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{self, SchemaCache};

/// The class flattening the record key.
pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.Flatten$Key";
/// The class flattening the record value.
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.Flatten$Value";

const DELIMITER: &str = "delimiter";
const PURPOSE: &str = "flattening";

/// `Flatten$Key` and `Flatten$Value`.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, Flatten::create).to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new().define(config::with_default(
        DELIMITER,
        ConfigType::String,
        ".",
        Importance::Medium,
        "The text put between the field names of each level when naming the flattened fields.",
    ))
}

/// Flattens a key or value.
pub struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache,
}

impl Flatten {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        Ok(Box::new(Flatten {
            side,
            delimiter: cfg.get(DELIMITER).unwrap_or(".").to_owned(),
            cache: SchemaCache::new(),
        }))
    }
}

impl Transformation for Flatten {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (schema_slot, value_slot) = record.data_mut(self.side);
        if value_slot.is_null() {
            return Ok(Outcome::Keep);
        }
        let names = Names {
            delimiter: &self.delimiter,
        };
        match schema_slot.clone() {
            None => {
                let entries = schema_util::require_map(value_slot, PURPOSE)?;
                let mut out = MapBuilder::default();
                names.flatten_map(entries, "", &mut out)?;
                *value_slot = Value::Map(out.entries);
            }
            Some(schema) => {
                let input = schema_util::require_struct(value_slot, PURPOSE)?;
                let updated = self
                    .cache
                    .get_or_try_insert(&schema, |s| names.flatten_schema_top(s))?;
                let mut out = StructBuilder::new(updated.clone())?;
                names.flatten_struct(input, "", &mut out)?;
                *value_slot = Value::Struct(out.finish());
                *schema_slot = Some(updated);
            }
        }
        Ok(Outcome::Keep)
    }
}

/// Field naming and the flattening walks.
struct Names<'a> {
    delimiter: &'a str,
}

impl Names<'_> {
    /// `prefix` + delimiter + `name`, or `name` at the top (an empty prefix).
    fn join(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        entries: &[(Value, Value)],
        prefix: &str,
        out: &mut MapBuilder,
    ) -> Result<(), TransformError> {
        for (key, value) in entries {
            let key = key.as_str().ok_or_else(|| {
                TransformError::new(format!(
                    "Flatten transformation requires string map keys, found: {}",
                    schema_util::type_name(key)
                ))
            })?;
            let name = self.join(prefix, key);
            match value {
                Value::Map(nested) => self.flatten_map(nested, &name, out)?,
                Value::Struct(_) => {
                    return Err(TransformError::new(format!(
                        "Flatten transformation does not support struct for record without \
                         schemas (for field {name})."
                    )))
                }
                other => out.put(name, other.clone()),
            }
        }
        Ok(())
    }

    /// The flattened schema of a top-level struct schema.
    fn flatten_schema_top(&self, schema: &SchemaRef) -> Result<SchemaRef, TransformError> {
        if schema.type_ != Type::Struct {
            return Err(TransformError::new(format!(
                "Cannot list fields on non-struct type {}",
                schema.type_.name().to_uppercase()
            )));
        }
        let mut out = schema_util::copy_basics(schema, Type::Struct);
        let default = match &schema.default {
            Some(Value::Struct(s)) => Some(s),
            _ => None,
        };
        self.flatten_schema(schema, "", schema.optional, default, &mut out.fields)?;
        Ok(Arc::new(out))
    }

    /// Appends the flattened fields of `schema`; `optional` when a parent is optional,
    /// `parent_default` the default Struct the parents give this level.
    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        optional: bool,
        parent_default: Option<&Struct>,
        out: &mut Vec<Field>,
    ) -> Result<(), TransformError> {
        for field in &schema.fields {
            let name = self.join(prefix, &field.name);
            let field_optional = optional || field.schema.optional;
            let default = field.schema.default.as_ref().or_else(|| {
                parent_default
                    .and_then(|d| d.values().get(field.index))
                    .filter(|v| !v.is_null())
            });
            match field.schema.type_ {
                Type::Struct => {
                    let default = match default {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    self.flatten_schema(&field.schema, &name, field_optional, default, out)?;
                }
                Type::Map => {
                    return Err(TransformError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas \
                         (for field {name})."
                    )))
                }
                _ => {
                    if out.iter().any(|f| f.name == name) {
                        return Err(TransformError::new(format!(
                            "Cannot create field because of field name duplication {name}"
                        )));
                    }
                    // The field's own schema (name, doc, array items …), re-marked.
                    let mut flat = Schema::clone(&field.schema);
                    flat.optional = field_optional;
                    flat.default = default.cloned();
                    out.push(Field {
                        name,
                        index: out.len(),
                        schema: Arc::new(flat),
                    });
                }
            }
        }
        Ok(())
    }

    /// Copies the leaf values of `input` into `out` (a null field reads as its default).
    fn flatten_struct(
        &self,
        input: &Struct,
        prefix: &str,
        out: &mut StructBuilder,
    ) -> Result<(), TransformError> {
        for (field, value) in input.schema().fields.iter().zip(input.values()) {
            let name = self.join(prefix, &field.name);
            let value = match (value, &field.schema.default) {
                (Value::Null, Some(default)) => default,
                _ => value,
            };
            match field.schema.type_ {
                Type::Struct => {
                    if let Value::Struct(nested) = value {
                        self.flatten_struct(nested, &name, out)?;
                    }
                }
                Type::Map => {
                    return Err(TransformError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas \
                         (for field {name})."
                    )))
                }
                _ => out.put(&name, value.clone())?,
            }
        }
        Ok(())
    }
}

/// A schemaless result map: insertion order, a repeated key keeps its first position.
#[derive(Default)]
struct MapBuilder {
    entries: Vec<(Value, Value)>,
    positions: HashMap<String, usize>,
}

impl MapBuilder {
    fn put(&mut self, name: String, value: Value) {
        match self.positions.get(&name) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.positions.insert(name.clone(), self.entries.len());
                self.entries.push((Value::String(name), value));
            }
        }
    }
}

/// The flattened struct being filled; fields usually arrive in schema order.
struct StructBuilder {
    out: Struct,
    next: usize,
}

impl StructBuilder {
    fn new(schema: SchemaRef) -> Result<StructBuilder, TransformError> {
        Ok(StructBuilder {
            out: Struct::new(schema)?,
            next: 0,
        })
    }

    /// Java's `Struct.put(name, value)`: the field must exist and a null needs an optional
    /// field.
    fn put(&mut self, name: &str, value: Value) -> Result<(), TransformError> {
        let schema = self.out.schema().clone();
        let field = match schema.fields.get(self.next) {
            Some(f) if f.name == name => f,
            _ => schema
                .field(name)
                .ok_or_else(|| TransformError::new(format!("{name} is not a valid field name")))?,
        };
        if value.is_null() && !field.schema.optional {
            return Err(TransformError::new(format!(
                "Invalid value: null used for required field: \"{name}\", schema type: {}",
                field.schema.type_.name().to_uppercase()
            )));
        }
        self.next = field.index + 1;
        self.out.put_index(field.index, value);
        Ok(())
    }

    fn finish(self) -> Struct {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn flatten_value(
        pairs: &[(&str, &str)],
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), TransformError> {
        let mut t = transform(VALUE_CLASS, pairs);
        let mut r = source("t", None, Value::Null, schema, value);
        t.apply(&mut r)?;
        Ok((r.value_schema, r.value))
    }

    fn get<'a>(v: &'a Value, name: &str) -> &'a Value {
        match v {
            Value::Struct(s) => s
                .get(name)
                .unwrap_or_else(|| panic!("no field {name} in {v:?}")),
            Value::Map(m) => {
                schema_util::map_get(m, name).unwrap_or_else(|| panic!("no entry {name} in {v:?}"))
            }
            other => panic!("not a struct or map: {other:?}"),
        }
    }

    fn names(schema: &Schema) -> Vec<&str> {
        schema.fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn top_level_must_be_a_struct_or_map() {
        let e = flatten_value(&[], Some(Schema::int32()), Value::Int32(42)).unwrap_err();
        assert!(
            e.message.contains("Only Struct objects supported"),
            "{}",
            e.message
        );
        let e = flatten_value(&[], None, Value::Int32(42)).unwrap_err();
        assert!(
            e.message.contains("Only Map objects supported"),
            "{}",
            e.message
        );
    }

    fn primitives_schema() -> SchemaRef {
        Schema::struct_([
            ("int8", Schema::int8()),
            ("int16", Schema::int16()),
            ("int32", Schema::int32()),
            ("int64", Schema::int64()),
            ("float32", Schema::float32()),
            ("float64", Schema::float64()),
            ("boolean", Schema::boolean()),
            ("string", Schema::string()),
            ("bytes", Schema::bytes()),
        ])
        .into_ref()
    }

    fn primitives() -> Vec<(&'static str, Value)> {
        vec![
            ("int8", Value::Int8(8)),
            ("int16", Value::Int16(16)),
            ("int32", Value::Int32(32)),
            ("int64", Value::Int64(64)),
            ("float32", Value::Float32(32.0)),
            ("float64", Value::Float64(64.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::from("stringy")),
            ("bytes", Value::Bytes(b"bytes".to_vec())),
        ]
    }

    #[test]
    fn nested_structs() {
        let leaf = primitives_schema();
        let middle = Schema::struct_([("B", leaf.clone())]).into_ref();
        let top = Schema::struct_([("A", middle.clone())])
            .with_name("com.example.Top")
            .with_version(2)
            .with_doc("top doc")
            .into_ref();
        let value = strukt(
            &top,
            vec![(
                "A",
                strukt(&middle, vec![("B", strukt(&leaf, primitives()))]),
            )],
        );
        let (schema, v) = flatten_value(&[], Some(top), value).unwrap();
        let schema = schema.unwrap();
        assert_eq!(schema.type_, Type::Struct);
        assert_eq!(schema.name.as_deref(), Some("com.example.Top"));
        assert_eq!(schema.version, Some(2));
        assert_eq!(schema.doc.as_deref(), Some("top doc"));
        assert_eq!(
            names(&schema),
            [
                "A.B.int8",
                "A.B.int16",
                "A.B.int32",
                "A.B.int64",
                "A.B.float32",
                "A.B.float64",
                "A.B.boolean",
                "A.B.string",
                "A.B.bytes"
            ]
        );
        for (name, expected) in primitives() {
            let flat = format!("A.B.{name}");
            assert_eq!(get(&v, &flat), &expected, "{flat}");
            assert_eq!(
                schema.field(&flat).unwrap().schema,
                leaf.field(name).unwrap().schema,
                "{flat}"
            );
        }
    }

    #[test]
    fn nested_maps_with_a_delimiter() {
        let value = map(vec![("A", map(vec![("B", map(primitives()))]))]);
        let (schema, v) = flatten_value(&[("delimiter", "#")], None, value).unwrap();
        assert!(schema.is_none());
        let Value::Map(entries) = &v else { panic!() };
        assert_eq!(entries.len(), 9);
        for (name, expected) in primitives() {
            assert_eq!(get(&v, &format!("A#B#{name}")), &expected);
        }
        let (_, v) = flatten_value(
            &[("delimiter", "")],
            None,
            map(vec![("a", map(vec![("b", Value::Int32(1))]))]),
        )
        .unwrap();
        assert_eq!(v, map(vec![("ab", Value::Int32(1))]));
    }

    #[test]
    fn documentation_example() {
        let value = map(vec![(
            "content",
            map(vec![
                ("id", Value::Int32(42)),
                (
                    "name",
                    map(vec![
                        ("first", Value::from("David")),
                        ("middle", Value::Null),
                        ("last", Value::from("Wong")),
                    ]),
                ),
            ]),
        )]);
        let (_, v) = flatten_value(&[], None, value).unwrap();
        assert_eq!(
            v,
            map(vec![
                ("content.id", Value::Int32(42)),
                ("content.name.first", Value::from("David")),
                ("content.name.middle", Value::Null),
                ("content.name.last", Value::from("Wong")),
            ])
        );
    }

    #[test]
    fn optional_fields_and_structs() {
        let inner = Schema::struct_([("opt_int32", Schema::optional_int32())]).into_ref();
        let outer = Schema::struct_([("B", inner.clone())]).into_ref();
        let value = strukt(&outer, vec![("B", strukt(&inner, vec![]))]);
        let (_, v) = flatten_value(&[], Some(outer), value).unwrap();
        assert_eq!(get(&v, "B.opt_int32"), &Value::Null);

        // A null optional nested struct leaves its fields null; they become optional.
        let inner = Schema::struct_([("req_int32", Schema::int32())])
            .optional()
            .into_ref();
        let outer = Schema::struct_([("B", inner), ("c", Schema::string())]).into_ref();
        let value = strukt(&outer, vec![("c", Value::from("x"))]);
        let (schema, v) = flatten_value(&[], Some(outer), value).unwrap();
        let schema = schema.unwrap();
        assert_eq!(
            *schema.field("B.req_int32").unwrap().schema,
            Schema::new(Type::Int32).optional()
        );
        assert_eq!(get(&v, "B.req_int32"), &Value::Null);
        assert_eq!(get(&v, "c"), &Value::from("x"));

        // Schemaless: null values are kept.
        let value = map(vec![("B", map(vec![("opt_int32", Value::Null)]))]);
        let (_, v) = flatten_value(&[], None, value).unwrap();
        assert_eq!(v, map(vec![("B.opt_int32", Value::Null)]));
    }

    #[test]
    fn optional_top_level_struct() {
        // Every field becomes optional, the result itself is required.
        let schema = Schema::struct_([("a", Schema::int32())])
            .optional()
            .into_ref();
        let value = strukt(&schema, vec![("a", Value::Int32(1))]);
        let (out, v) = flatten_value(&[], Some(schema), value).unwrap();
        let out = out.unwrap();
        assert!(!out.optional);
        assert_eq!(*out.fields[0].schema, Schema::new(Type::Int32).optional());
        assert_eq!(get(&v, "a"), &Value::Int32(1));
    }

    #[test]
    fn key_variant() {
        let mut t = transform(KEY_CLASS, &[]);
        let mut r = source(
            "t",
            None,
            map(vec![("A", map(vec![("B", Value::Int32(12))]))]),
            None,
            Value::Null,
        );
        apply(t.as_mut(), &mut r);
        assert!(r.key_schema.is_none());
        assert_eq!(r.key, map(vec![("A.B", Value::Int32(12))]));
        assert_eq!(r.value, Value::Null);
    }

    #[test]
    fn arrays_are_not_entered() {
        let value = map(vec![(
            "foo",
            Value::Array(vec![
                Value::from("bar"),
                map(vec![("baz", map(vec![("lfg", Value::from("lfg"))]))]),
            ]),
        )]);
        let (_, v) = flatten_value(&[], None, value.clone()).unwrap();
        assert_eq!(v, value);

        let nested = Schema::struct_([("lfg", Schema::string())]).into_ref();
        let inner = Schema::struct_([("baz", nested.clone())]).into_ref();
        let schema = Schema::struct_([(
            "foo",
            Schema::array(inner.clone()).with_doc("durk").into_ref(),
        )])
        .into_ref();
        let item = strukt(
            &inner,
            vec![("baz", strukt(&nested, vec![("lfg", Value::from("lfg"))]))],
        );
        let value = strukt(&schema, vec![("foo", Value::Array(vec![item]))]);
        let (out, v) = flatten_value(&[], Some(schema.clone()), value.clone()).unwrap();
        assert_eq!(out.unwrap(), schema);
        assert_eq!(v, value);
    }

    #[test]
    fn optionality_and_defaults_from_parents() {
        let child = Schema::struct_([
            ("req_field", Schema::string()),
            (
                "opt_field",
                Schema::new(Type::String)
                    .optional()
                    .with_default(Value::from("child_default"))
                    .into_ref(),
            ),
        ])
        .optional()
        .into_ref();
        let child_default = strukt(&child, vec![("req_field", Value::from("req_default"))]);
        let schema = Schema::clone(&child).with_default(child_default).into_ref();
        let value = strukt(&schema, vec![]);
        let (out, _) = flatten_value(&[], Some(schema), value).unwrap();
        let out = out.unwrap();
        assert_eq!(out.fields.len(), 2);
        assert_eq!(
            *out.field("req_field").unwrap().schema,
            Schema::new(Type::String)
                .optional()
                .with_default(Value::from("req_default"))
        );
        // The field's own default wins over the parent's (null) value for it.
        assert_eq!(
            *out.field("opt_field").unwrap().schema,
            Schema::new(Type::String)
                .optional()
                .with_default(Value::from("child_default"))
        );
    }

    #[test]
    fn null_nested_struct_with_a_default() {
        let inner =
            Schema::struct_([("n", Schema::int32()), ("s", Schema::optional_string())]).into_ref();
        let inner_default = strukt(&inner, vec![("n", Value::Int32(5))]);
        let defaulted = Schema::clone(&inner)
            .optional()
            .with_default(inner_default)
            .into_ref();
        let own_default = Schema::new(Type::Int64)
            .with_default(Value::Int64(9))
            .into_ref();
        let schema = Schema::struct_([("in", defaulted), ("m", own_default)]).into_ref();
        let value = strukt(&schema, vec![]);
        let (out, v) = flatten_value(&[], Some(schema), value).unwrap();
        let out = out.unwrap();
        assert_eq!(names(&out), ["in.n", "in.s", "m"]);
        assert_eq!(
            *out.field("in.n").unwrap().schema,
            Schema::new(Type::Int32)
                .optional()
                .with_default(Value::Int32(5))
        );
        assert_eq!(get(&v, "in.n"), &Value::Int32(5));
        assert_eq!(get(&v, "in.s"), &Value::Null);
        // Java reads nulls through `Struct.get`, so defaults fill in.
        assert_eq!(get(&v, "m"), &Value::Int64(9));
    }

    #[test]
    fn tombstones_pass_through() {
        let (schema, v) = flatten_value(&[], None, Value::Null).unwrap();
        assert_eq!((schema, v), (None, Value::Null));
        let schema = Schema::struct_([("magic", Schema::optional_int64())])
            .with_name("name")
            .with_version(1)
            .with_doc("doc")
            .optional()
            .into_ref();
        let (out, v) = flatten_value(&[], Some(schema.clone()), Value::Null).unwrap();
        assert_eq!(out, Some(schema));
        assert_eq!(v, Value::Null);
    }

    #[test]
    fn null_fields_keep_their_order() {
        let value = map(vec![
            ("firstNull", Value::Null),
            ("firstNonNull", Value::from("nonNull")),
            ("secondNull", Value::Null),
            ("secondNonNull", Value::from("alsoNonNull")),
            ("thirdNonNull", Value::Null),
        ]);
        let (_, v) = flatten_value(&[], None, value.clone()).unwrap();
        assert_eq!(v, value);

        let schema = Schema::struct_([
            ("firstNull", Schema::optional_string()),
            ("firstNonNull", Schema::optional_string()),
            ("secondNull", Schema::optional_string()),
            ("secondNonNull", Schema::optional_string()),
            ("thirdNonNull", Schema::optional_string()),
        ])
        .into_ref();
        let value = strukt(
            &schema,
            vec![
                ("firstNonNull", Value::from("nonNull")),
                ("secondNonNull", Value::from("alsoNonNull")),
            ],
        );
        let (out, v) = flatten_value(&[], Some(schema.clone()), value.clone()).unwrap();
        assert_eq!(out, Some(schema));
        assert_eq!(v, value);
    }

    #[test]
    fn unsupported_nesting() {
        let schema = Schema::struct_([(
            "m",
            Schema::map(Schema::string(), Schema::int32()).into_ref(),
        )])
        .into_ref();
        let value = strukt(&schema, vec![("m", Value::Map(vec![]))]);
        let e = flatten_value(&[], Some(schema), value).unwrap_err();
        assert!(e.message.contains("does not support MAP"), "{}", e.message);

        let inner = Schema::struct_([("x", Schema::int32())]).into_ref();
        let value = map(vec![(
            "a",
            map(vec![("s", strukt(&inner, vec![("x", Value::Int32(1))]))]),
        )]);
        let e = flatten_value(&[], None, value).unwrap_err();
        assert!(e.message.contains("(for field a.s)"), "{}", e.message);

        let value = Value::Map(vec![(Value::Int32(1), Value::Int32(2))]);
        assert!(flatten_value(&[], None, value).is_err());
    }

    #[test]
    fn colliding_names() {
        // Schemaless: the first position, the last value.
        let value = map(vec![
            ("a.b", Value::Int32(1)),
            ("c", Value::Int32(2)),
            ("a", map(vec![("b", Value::Int32(3))])),
        ]);
        let (_, v) = flatten_value(&[], None, value).unwrap();
        assert_eq!(
            v,
            map(vec![("a.b", Value::Int32(3)), ("c", Value::Int32(2))])
        );
        // With a schema the duplicate field is an error.
        let inner = Schema::struct_([("b", Schema::int32())]).into_ref();
        let schema = Schema::struct_([("a.b", Schema::int32()), ("a", inner.clone())]).into_ref();
        let value = strukt(
            &schema,
            vec![
                ("a.b", Value::Int32(1)),
                ("a", strukt(&inner, vec![("b", Value::Int32(3))])),
            ],
        );
        let e = flatten_value(&[], Some(schema), value).unwrap_err();
        assert!(e.message.contains("duplication a.b"), "{}", e.message);
    }

    #[test]
    fn sink_records_and_schema_cache() {
        let mut t = transform(VALUE_CLASS, &[("delimiter", "_")]);
        let inner = Schema::struct_([("x", Schema::int32())]).into_ref();
        let schema = Schema::struct_([("p", inner.clone())]).into_ref();
        let mut first: Option<SchemaRef> = None;
        for n in 0..3 {
            let value = strukt(
                &schema,
                vec![("p", strukt(&inner, vec![("x", Value::Int32(n))]))],
            );
            let mut r = sink("t", None, Value::Null, Some(schema.clone()), value);
            apply(t.as_mut(), &mut r);
            assert_eq!(get(&r.value, "p_x"), &Value::Int32(n));
            let out = r.value_schema.unwrap();
            match &first {
                None => first = Some(out),
                Some(f) => assert!(Arc::ptr_eq(f, &out)),
            }
        }
        assert!(build(VALUE_CLASS, &[]).is_ok());
        assert!(build(KEY_CLASS, &[("delimiter", "->")]).is_ok());
    }
}
