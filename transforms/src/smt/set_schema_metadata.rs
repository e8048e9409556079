//! `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`: sets the name
//! and/or version of the key or value schema (at least one of `schema.name`, `schema.version`
//! must be configured), keeping everything else of the schema.
//!
//! As in Java:
//! * a record side with neither schema nor value passes unchanged; a value without a schema is
//!   an error;
//! * only struct schemas can be renamed (Java copies the schema's field list, which Connect
//!   refuses for any other type), so any other schema is an error;
//! * a Struct value is rebuilt over the renamed schema (its nested structs keep their own
//!   schemas); `replace.null.with.default` decides whether a null field with a default is
//!   carried over as the default or as null. Other values are kept as they are.

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{
    ConfigDef, ConfigType, Importance, Props, Schema, SchemaRef, Struct, Type, Value,
};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{check_put, SchemaCache};
use crate::smt::field_path::struct_get;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value";

const SCHEMA_NAME: &str = "schema.name";
const SCHEMA_VERSION: &str = "schema.version";
const PURPOSE: &str = "updating schema metadata";

/// The `$Key` and `$Value` variants.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(
        KEY_CLASS,
        VALUE_CLASS,
        config_def,
        SetSchemaMetadata::create,
    )
    .to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(config::optional(
            SCHEMA_NAME,
            ConfigType::String,
            Importance::High,
            "Schema name to set.",
        ))
        .define(config::optional(
            SCHEMA_VERSION,
            ConfigType::Int,
            Importance::High,
            "Schema version to set.",
        ))
        .define(config::replace_null_with_default())
}

/// Renames / re-versions the key or value schema.
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl SetSchemaMetadata {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        // Java trims STRING values; an empty name is still a name.
        let name = cfg.get(SCHEMA_NAME).map(|n| n.trim().to_owned());
        let version = cfg.get_i32(SCHEMA_VERSION);
        if name.is_none() && version.is_none() {
            return Err(ConfigError {
                key: SCHEMA_NAME.to_owned(),
                message: "Neither schema name nor version configured".to_owned(),
            });
        }
        Ok(Box::new(SetSchemaMetadata {
            side,
            name,
            version,
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
            cache: SchemaCache::new(),
        }))
    }

    fn renamed(&mut self, schema: &SchemaRef) -> Result<SchemaRef, TransformError> {
        let (name, version) = (&self.name, self.version);
        self.cache.get_or_try_insert(schema, |s| {
            if s.type_ != Type::Struct {
                return Err(TransformError::new("Cannot list fields on non-struct type"));
            }
            Ok(Schema {
                name: name.clone().or_else(|| s.name.clone()),
                version: version.or(s.version),
                ..(**s).clone()
            }
            .into_ref())
        })
    }

    /// The struct's field values over `renamed`, each checked as Java's `Struct.put` would.
    fn rebuild(&self, original: &Struct, renamed: &SchemaRef) -> Result<Struct, TransformError> {
        let mut values = Vec::with_capacity(renamed.fields.len());
        for field in &renamed.fields {
            let v = struct_get(original, &field.name, self.replace_null_with_default)
                .ok_or_else(|| {
                    TransformError::new(format!("{} is not a valid field name", field.name))
                })?
                .clone();
            check_put(&field.name, &field.schema, &v)?;
            values.push(v);
        }
        Ok(Struct::from_parts(renamed.clone(), values)?)
    }
}

impl Transformation for SetSchemaMetadata {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (schema, value) = record.data(self.side);
        let Some(schema) = schema else {
            if value.is_null() {
                return Ok(Outcome::Keep);
            }
            return Err(TransformError::new(format!(
                "Schema required for [{PURPOSE}]"
            )));
        };
        let schema = schema.clone();
        let renamed = self.renamed(&schema)?;
        let rebuilt = match value {
            Value::Struct(s) => Some(self.rebuild(s, &renamed)?),
            _ => None,
        };
        let (schema_slot, value_slot) = record.data_mut(self.side);
        *schema_slot = Some(renamed);
        if let Some(s) = rebuilt {
            *value_slot = Value::Struct(s);
        }
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn on_value(
        pairs: &[(&str, &str)],
        schema: Option<SchemaRef>,
        v: Value,
    ) -> Result<(Option<SchemaRef>, Value), TransformError> {
        let mut t = transform(VALUE_CLASS, pairs);
        let mut r = sink("t", None, Value::from("k"), schema, v);
        t.apply(&mut r)?;
        assert_eq!((r.key_schema, &r.key), (None, &Value::from("k")));
        Ok((r.value_schema, r.value))
    }

    fn f1_f2() -> (SchemaRef, Value) {
        let schema = Schema::struct_([("f1", Schema::string()), ("f2", Schema::int32())])
            .with_name("my.orig.Schema")
            .with_doc("kept")
            .into_ref();
        let value = strukt(
            &schema,
            vec![("f1", Value::from("one")), ("f2", Value::Int32(1))],
        );
        (schema, value)
    }

    /// The struct points at exactly `schema`, whose fields are the original field schemas.
    fn assert_over(value: &Value, schema: &SchemaRef, original: &SchemaRef) {
        let Value::Struct(s) = value else {
            panic!("not a struct: {value:?}")
        };
        assert!(Arc::ptr_eq(s.schema(), schema));
        for (new, old) in schema.fields.iter().zip(&original.fields) {
            assert_eq!((&new.name, new.index), (&old.name, old.index));
            assert!(Arc::ptr_eq(&new.schema, &old.schema));
        }
    }

    #[test]
    fn sets_name_version_or_both_on_a_struct_schema_with_null_value() {
        let empty = Schema::struct_(Vec::<(String, SchemaRef)>::new()).into_ref();
        let (s, v) = on_value(&[("schema.name", "foo")], Some(empty.clone()), Value::Null).unwrap();
        let s = s.unwrap();
        assert_eq!((s.name.as_deref(), s.version), (Some("foo"), None));
        assert_eq!(v, Value::Null);
        let (s, _) = on_value(
            &[("schema.version", "42")],
            Some(empty.clone()),
            Value::Null,
        )
        .unwrap();
        let s = s.unwrap();
        assert_eq!((s.name.as_deref(), s.version), (None, Some(42)));
        let (s, _) = on_value(
            &[("schema.name", "foo"), ("schema.version", "42")],
            Some(empty),
            Value::Null,
        )
        .unwrap();
        let s = s.unwrap();
        assert_eq!((s.name.as_deref(), s.version), (Some("foo"), Some(42)));
    }

    #[test]
    fn keeps_what_is_not_configured() {
        let schema = Schema::struct_([("a", Schema::int8())])
            .with_name("old.Name")
            .with_version(3)
            .with_doc("d")
            .with_parameter("p", "q")
            .optional()
            .into_ref();
        let (s, _) = on_value(
            &[("schema.version", "4")],
            Some(schema.clone()),
            Value::Null,
        )
        .unwrap();
        let expected = Schema {
            version: Some(4),
            ..(*schema).clone()
        };
        assert_eq!(*s.unwrap(), expected);
    }

    #[test]
    fn struct_value_is_rebuilt_over_the_new_schema() {
        let (schema, value) = f1_f2();
        let (s, v) = on_value(
            &[("schema.name", "foo"), ("schema.version", "42")],
            Some(schema.clone()),
            value,
        )
        .unwrap();
        let s = s.unwrap();
        assert_eq!((s.name.as_deref(), s.version), (Some("foo"), Some(42)));
        assert_eq!(s.doc.as_deref(), Some("kept"));
        assert_over(&v, &s, &schema);
        let Value::Struct(st) = &v else { panic!() };
        assert_eq!(st.get("f1"), Some(&Value::from("one")));
        assert_eq!(st.get("f2"), Some(&Value::Int32(1)));
    }

    #[test]
    fn nested_structs_keep_their_schema() {
        let inner = Schema::struct_([("x", Schema::int32())])
            .with_name("Inner")
            .into_ref();
        let outer = Schema::struct_([("inner", inner.clone())]).into_ref();
        let nested = strukt(&inner, vec![("x", Value::Int32(1))]);
        let value = strukt(&outer, vec![("inner", nested.clone())]);
        let (s, v) = on_value(&[("schema.name", "Outer")], Some(outer), value).unwrap();
        let Value::Struct(st) = v else { panic!() };
        assert_eq!(st.schema().name.as_deref(), Some("Outer"));
        let Some(Value::Struct(n)) = st.get("inner") else {
            panic!()
        };
        assert!(Arc::ptr_eq(n.schema(), &inner));
        assert_eq!(s.unwrap().fields[0].schema, inner);
    }

    #[test]
    fn replace_null_with_default() {
        let opt = Schema::new(Type::String)
            .optional()
            .with_default(Value::from("default"))
            .into_ref();
        let schema = Schema::struct_([("f1", opt), ("f2", Schema::int32())])
            .with_name("orig")
            .into_ref();
        for (flag, expected) in [("false", Value::Null), ("true", Value::from("default"))] {
            let value = strukt(&schema, vec![("f1", Value::Null), ("f2", Value::Int32(1))]);
            let (s, v) = on_value(
                &[
                    ("schema.name", "foo"),
                    ("schema.version", "42"),
                    ("replace.null.with.default", flag),
                ],
                Some(schema.clone()),
                value,
            )
            .unwrap();
            let s = s.unwrap();
            assert_over(&v, &s, &schema);
            let Value::Struct(st) = &v else { panic!() };
            // The raw stored value, not a default read.
            assert_eq!(st.values()[0], expected, "{flag}");
        }
        // A required field with a default and no value: without replacement, Java's put
        // refuses the null.
        let req = Schema::new(Type::String)
            .with_default(Value::from("d"))
            .into_ref();
        let schema = Schema::struct_([("r", req)]).into_ref();
        let value = strukt(&schema, vec![]);
        let (_, v) =
            on_value(&[("schema.name", "n")], Some(schema.clone()), value.clone()).unwrap();
        let Value::Struct(st) = &v else { panic!() };
        assert_eq!(st.values()[0], Value::from("d"));
        assert!(on_value(
            &[("schema.name", "n"), ("replace.null.with.default", "false")],
            Some(schema),
            value
        )
        .is_err());
    }

    #[test]
    fn key_side() {
        let (schema, value) = f1_f2();
        let mut t = transform(KEY_CLASS, &[("schema.name", "key.Name")]);
        let mut r = source("t", Some(schema.clone()), value, None, map(vec![]));
        apply(t.as_mut(), &mut r);
        let s = r.key_schema.clone().unwrap();
        assert_eq!(s.name.as_deref(), Some("key.Name"));
        assert_over(&r.key, &s, &schema);
        assert_eq!((r.value_schema, r.value), (None, map(vec![])));
    }

    #[test]
    fn schema_is_required_unless_the_side_is_empty() {
        let err = on_value(&[("schema.name", "n")], None, Value::Int32(42)).unwrap_err();
        assert_eq!(
            err.message,
            "Schema required for [updating schema metadata]"
        );
        let (s, v) = on_value(&[("schema.name", "n")], None, Value::Null).unwrap();
        assert_eq!((s, v), (None, Value::Null));
    }

    #[test]
    fn only_struct_schemas_can_be_renamed() {
        for (schema, v) in [
            (Schema::string(), Value::from("x")),
            (Schema::optional_int32(), Value::Null),
            (
                Schema::map(Schema::string(), Schema::int32()).into_ref(),
                Value::Map(vec![]),
            ),
        ] {
            assert!(on_value(&[("schema.name", "n")], Some(schema), v).is_err());
        }
    }

    #[test]
    fn a_non_struct_value_under_a_struct_schema_is_kept() {
        let (schema, _) = f1_f2();
        let (s, v) = on_value(&[("schema.version", "2")], Some(schema), Value::Int32(5)).unwrap();
        assert_eq!(s.unwrap().version, Some(2));
        assert_eq!(v, Value::Int32(5));
    }

    #[test]
    fn renamed_schema_is_cached() {
        let (schema, value) = f1_f2();
        let mut t = transform(VALUE_CLASS, &[("schema.name", "x")]);
        let mut a = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        let mut b = sink("t", None, Value::Null, Some(schema), value);
        apply(t.as_mut(), &mut a);
        apply(t.as_mut(), &mut b);
        assert!(Arc::ptr_eq(
            a.value_schema.as_ref().unwrap(),
            b.value_schema.as_ref().unwrap()
        ));
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[]), "schema.name");
        assert_eq!(key(&[("schema.version", "x")]), "schema.version");
        assert_eq!(
            key(&[("schema.name", "n"), ("replace.null.with.default", "1")]),
            "replace.null.with.default"
        );
        assert!(build(KEY_CLASS, &[("schema.version", " 7 ")]).is_ok());
        // An empty name counts as configured (and sets the name to "").
        let (s, _) = on_value(
            &[("schema.name", "")],
            Some(Schema::struct_([("a", Schema::int32())]).into_ref()),
            Value::Null,
        )
        .unwrap();
        assert_eq!(s.unwrap().name.as_deref(), Some(""));
    }
}
