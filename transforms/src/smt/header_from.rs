//! `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`: copies or moves fields of
//! the key or value into headers. `fields` and `headers` pair up by position; `operation` is
//! `copy` (the field stays) or `move` (it is removed, and the schema loses it).

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::{
    ConfigDef, ConfigType, Importance, Props, Schema, SchemaRef, Struct, Type, Value,
};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{copy_basics, require_map, require_struct, with_default, SchemaCache};

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.HeaderFrom$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.HeaderFrom$Value";

pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, HeaderFrom::create).to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            config::required(
                "fields",
                ConfigType::List,
                Importance::High,
                "The fields of the key or value whose values become headers.",
            )
            .validator(Validator::NonEmptyList),
        )
        .define(
            config::required(
                "headers",
                ConfigType::List,
                Importance::High,
                "The header keys, in the same order as the fields they take their values from.",
            )
            .validator(Validator::NonEmptyList),
        )
        .define(
            config::required(
                "operation",
                ConfigType::String,
                Importance::High,
                "move to remove the fields from the key or value, copy to keep them.",
            )
            .validator(Validator::OneOf(vec!["move".into(), "copy".into()], false)),
        )
        .define(config::replace_null_with_default())
}

/// Fields into headers.
pub struct HeaderFrom {
    side: Side,
    /// (field, header) pairs.
    pairs: Vec<(String, String)>,
    moving: bool,
    replace_null_with_default: bool,
    move_schemas: SchemaCache,
}

impl HeaderFrom {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let fields = cfg.get_list("fields");
        let headers = cfg.get_list("headers");
        if fields.len() != headers.len() {
            return Err(ConfigError {
                key: "headers".into(),
                message:
                    "'fields' config must have the same number of elements as 'headers' config."
                        .into(),
            });
        }
        Ok(Box::new(HeaderFrom {
            side,
            pairs: fields.into_iter().zip(headers).collect(),
            moving: cfg.get("operation") == Some("move"),
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
            move_schemas: SchemaCache::new(),
        }))
    }

    fn purpose(&self) -> &'static str {
        if self.moving {
            "header move"
        } else {
            "header copy"
        }
    }

    fn is_moved(&self, field: &str) -> bool {
        self.pairs.iter().any(|(f, _)| f == field)
    }

    /// A field's value, with the schema default for a null when configured.
    fn field_value(&self, schema: &SchemaRef, value: &Value) -> Value {
        with_default(value, schema, self.replace_null_with_default).clone()
    }

    fn apply_with_schema(
        &mut self,
        record: &mut dyn ConnectRecord,
        schema: SchemaRef,
    ) -> Result<(), TransformError> {
        let (_, value) = record.data(self.side);
        let s = require_struct(value, self.purpose())?;
        let mut headers = Vec::with_capacity(self.pairs.len());
        for (field, header) in &self.pairs {
            let f = schema.field(field).ok_or_else(|| {
                TransformError::new(format!(
                    "field '{field}' is not in the {} schema",
                    self.side.class_suffix().to_lowercase()
                ))
            })?;
            let v = self.field_value(&f.schema, &s.values()[f.index]);
            headers.push((header.clone(), f.schema.clone(), v));
        }
        let moved = if self.moving {
            let moved_schema = {
                let pairs = &self.pairs;
                self.move_schemas.get_or_try_insert(&schema, |input| {
                    let fields: Vec<(String, SchemaRef)> = input
                        .fields
                        .iter()
                        .filter(|f| !pairs.iter().any(|(p, _)| *p == f.name))
                        .map(|f| (f.name.clone(), f.schema.clone()))
                        .collect();
                    Ok(Schema {
                        fields: Schema::struct_(fields).fields,
                        ..copy_basics(input, Type::Struct)
                    }
                    .into_ref())
                })?
            };
            let values: Vec<Value> = schema
                .fields
                .iter()
                .filter(|f| !self.is_moved(&f.name))
                .map(|f| self.field_value(&f.schema, &s.values()[f.index]))
                .collect();
            let rebuilt = Struct::from_parts(moved_schema.clone(), values)?;
            Some((moved_schema, rebuilt))
        } else {
            None
        };
        for (key, schema, value) in headers {
            record.headers_mut().add(key, Some(schema), value);
        }
        if let Some((moved_schema, rebuilt)) = moved {
            let (schema_slot, value_slot) = record.data_mut(self.side);
            *schema_slot = Some(moved_schema);
            *value_slot = Value::Struct(rebuilt);
        }
        Ok(())
    }

    fn apply_schemaless(&mut self, record: &mut dyn ConnectRecord) -> Result<(), TransformError> {
        let (_, value) = record.data(self.side);
        let entries = require_map(value, self.purpose())?;
        let headers: Vec<(String, Value)> = self
            .pairs
            .iter()
            .map(|(field, header)| {
                let v = entries
                    .iter()
                    .find(|(k, _)| k.as_str() == Some(field))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null);
                (header.clone(), v)
            })
            .collect();
        for (key, value) in headers {
            record.headers_mut().add(key, None, value);
        }
        if self.moving {
            if let (_, Value::Map(entries)) = record.data_mut(self.side) {
                entries.retain(|(k, _)| !k.as_str().is_some_and(|k| self.is_moved(k)));
            }
        }
        Ok(())
    }
}

impl Transformation for HeaderFrom {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        match record.data(self.side).0.cloned() {
            Some(schema) => self.apply_with_schema(record, schema)?,
            None => self.apply_schemaless(record)?,
        }
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn config(op: &str) -> Vec<(&'static str, &str)> {
        vec![
            ("fields", "id,ts"),
            ("headers", "h_id,h_ts"),
            ("operation", op),
        ]
    }

    fn schema() -> SchemaRef {
        Schema::struct_([
            ("id", Schema::int32()),
            ("ts", Schema::int64()),
            ("name", Schema::string()),
        ])
        .with_name("Row")
        .into_ref()
    }

    fn header_values(r: &dyn ConnectRecord) -> Vec<(String, Option<Type>, Value)> {
        r.headers()
            .iter()
            .map(|h| {
                (
                    h.key.clone(),
                    h.schema.as_ref().map(|s| s.type_),
                    h.value.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn copy_with_schema_keeps_the_value() {
        let s = schema();
        let v = strukt(
            &s,
            vec![
                ("id", Value::Int32(7)),
                ("ts", Value::Int64(99)),
                ("name", Value::from("n")),
            ],
        );
        let mut t = transform(VALUE_CLASS, &config("copy"));
        let mut r = sink("t", None, Value::Null, Some(s.clone()), v.clone());
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        assert_eq!(r.value, v);
        assert_eq!(
            header_values(&r),
            [
                ("h_id".into(), Some(Type::Int32), Value::Int32(7)),
                ("h_ts".into(), Some(Type::Int64), Value::Int64(99)),
            ]
        );
    }

    #[test]
    fn move_with_schema_drops_the_fields_from_the_key() {
        let s = schema();
        let k = strukt(
            &s,
            vec![
                ("id", Value::Int32(7)),
                ("ts", Value::Int64(99)),
                ("name", Value::from("n")),
            ],
        );
        let mut t = transform(KEY_CLASS, &config("move"));
        let mut r = source("t", Some(s.clone()), k, None, Value::from("v"));
        apply(t.as_mut(), &mut r);
        let ks = r.key_schema.clone().unwrap();
        assert_eq!(ks.name.as_deref(), Some("Row"));
        let names: Vec<&str> = ks.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["name"]);
        let Value::Struct(k) = &r.key else {
            panic!("struct key")
        };
        assert_eq!(k.get("name"), Some(&Value::from("n")));
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.value, Value::from("v"));
        // The derived schema is cached: a second record shares it.
        let k2 = strukt(
            &s,
            vec![
                ("id", Value::Int32(1)),
                ("ts", Value::Int64(2)),
                ("name", Value::from("m")),
            ],
        );
        let mut r2 = source("t", Some(s), k2, None, Value::Null);
        apply(t.as_mut(), &mut r2);
        assert!(std::sync::Arc::ptr_eq(&ks, r2.key_schema.as_ref().unwrap()));
    }

    #[test]
    fn null_fields_take_the_schema_default_unless_disabled() {
        let s = Schema::struct_([(
            "id",
            Schema::new(Type::Int32)
                .optional()
                .with_default(Value::Int32(5))
                .into_ref(),
        )])
        .into_ref();
        let v = strukt(&s, vec![]);
        let mut pairs = vec![("fields", "id"), ("headers", "h"), ("operation", "copy")];
        let mut t = transform(VALUE_CLASS, &pairs);
        let mut r = sink("t", None, Value::Null, Some(s.clone()), v.clone());
        apply(t.as_mut(), &mut r);
        assert_eq!(r.headers.0[0].value, Value::Int32(5));
        pairs.push(("replace.null.with.default", "false"));
        let mut t = transform(VALUE_CLASS, &pairs);
        let mut r = sink("t", None, Value::Null, Some(s), v);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.headers.0[0].value, Value::Null);
    }

    #[test]
    fn schemaless_copy_and_move() {
        let value = map(vec![
            ("id", Value::Int32(7)),
            ("ts", Value::Int64(99)),
            ("name", Value::from("n")),
        ]);
        let mut t = transform(VALUE_CLASS, &config("copy"));
        let mut r = sink("t", None, Value::Null, None, value.clone());
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, value);
        assert_eq!(header_values(&r)[0], ("h_id".into(), None, Value::Int32(7)));

        let mut t = transform(VALUE_CLASS, &config("move"));
        let mut r = sink("t", None, Value::Null, None, value);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, map(vec![("name", Value::from("n"))]));
        // A field missing from the map becomes a null header.
        let mut t = transform(
            VALUE_CLASS,
            &[("fields", "x"), ("headers", "hx"), ("operation", "copy")],
        );
        let mut r = sink("t", None, Value::Null, None, map(vec![]));
        apply(t.as_mut(), &mut r);
        assert_eq!(header_values(&r), [("hx".into(), None, Value::Null)]);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let mut t = transform(VALUE_CLASS, &config("copy"));
        let mut tomb = sink("t", None, Value::Null, None, Value::Null);
        let e = t.apply(&mut tomb).unwrap_err();
        assert!(e.message.contains("header copy"), "{e}");
        let mut t = transform(
            VALUE_CLASS,
            &[("fields", "nope"), ("headers", "h"), ("operation", "copy")],
        );
        let s = schema();
        let v = strukt(
            &s,
            vec![
                ("id", Value::Int32(7)),
                ("ts", Value::Int64(9)),
                ("name", Value::from("n")),
            ],
        );
        let mut r = sink("t", None, Value::Null, Some(s), v);
        assert!(t.apply(&mut r).is_err());
    }

    #[test]
    fn config_errors() {
        let key = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[("headers", "h"), ("operation", "copy")]), "fields");
        assert_eq!(key(&[("fields", "f"), ("operation", "copy")]), "headers");
        assert_eq!(key(&[("fields", "f"), ("headers", "h")]), "operation");
        assert_eq!(
            key(&[("fields", "f"), ("headers", "h"), ("operation", "Copy")]),
            "operation"
        );
        assert_eq!(
            key(&[("fields", "f,g"), ("headers", "h"), ("operation", "copy")]),
            "headers"
        );
        assert_eq!(
            key(&[
                ("fields", "f"),
                ("headers", "h"),
                ("operation", "copy"),
                ("replace.null.with.default", "maybe")
            ]),
            "replace.null.with.default"
        );
    }
}
