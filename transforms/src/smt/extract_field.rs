//! `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`: the key or value becomes
//! one of its fields, from a Struct (with a schema: the new schema is the field's) or a
//! schemaless map. `field` is read with `field.syntax.version` (V2 reaches nested fields, see
//! [`field_path`](super::field_path)). A null key/value passes through; with a schema the field
//! must exist in the schema (else an error), without one a missing field gives null.

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props, Value};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{require_map, require_struct};
use crate::smt::field_path::{FieldSyntaxVersion, SingleFieldPath};

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.ExtractField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.ExtractField$Value";

const FIELD: &str = "field";
const PURPOSE: &str = "field extraction";

/// The `$Key` and `$Value` variants.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, ExtractField::create).to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(config::required(
            FIELD,
            ConfigType::String,
            Importance::Medium,
            "Field name to extract.",
        ))
        .define(config::replace_null_with_default())
        .define(FieldSyntaxVersion::config_key())
}

/// Replaces the key or value with one of its fields.
pub struct ExtractField {
    side: Side,
    path: SingleFieldPath,
    /// The configured text, for the unknown-field error.
    original: String,
    replace_null_with_default: bool,
}

impl ExtractField {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        // Java trims STRING config values.
        let original = cfg.get(FIELD).unwrap_or_default().trim().to_owned();
        let version = FieldSyntaxVersion::from_config(&cfg)?;
        let path = SingleFieldPath::parse(FIELD, &original, version)?;
        Ok(Box::new(ExtractField {
            side,
            path,
            original,
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
        }))
    }
}

impl Transformation for ExtractField {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (schema, value) = record.data_mut(self.side);
        let Some(current) = schema.as_ref() else {
            if value.is_null() {
                return Ok(Outcome::Keep);
            }
            let entries = require_map(value, PURPOSE)?;
            let extracted = self.path.value_from_map(entries)?.cloned();
            *value = extracted.unwrap_or(Value::Null);
            return Ok(Outcome::Keep);
        };
        if !value.is_null() {
            require_struct(value, PURPOSE)?;
        }
        let field_schema = match self.path.field_from(current)? {
            Some(field) => field.schema.clone(),
            None => {
                return Err(TransformError::new(format!(
                    "Unknown field: {}",
                    self.original
                )))
            }
        };
        let extracted = match &*value {
            Value::Struct(s) => self
                .path
                .value_from_struct(s, self.replace_null_with_default)?
                .cloned()
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        *schema = Some(field_schema);
        *value = extracted;
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::Type;
    use tributary_connector_api::{Schema, SchemaRef};

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn key_xform(pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        transform(KEY_CLASS, pairs)
    }

    fn on_key(
        pairs: &[(&str, &str)],
        schema: Option<SchemaRef>,
        key: Value,
    ) -> Result<(Option<SchemaRef>, Value), TransformError> {
        let mut t = key_xform(pairs);
        let mut r = sink("t", schema, key, None, Value::from("untouched"));
        t.apply(&mut r)?;
        assert_eq!(r.value, Value::from("untouched"));
        Ok((r.key_schema, r.key))
    }

    fn v2(field: &str) -> Vec<(&'static str, String)> {
        vec![
            ("field", field.to_owned()),
            ("field.syntax.version", "V2".to_owned()),
        ]
    }

    fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        v.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[test]
    fn schemaless_top_level_field() {
        let key = map(vec![("id", Value::Int32(42)), ("other", Value::from("x"))]);
        let (schema, key) = on_key(&[("field", "id")], None, key).unwrap();
        assert_eq!(schema, None);
        assert_eq!(key, Value::Int32(42));
    }

    #[test]
    fn schemaless_nested_field_with_v2() {
        let key = map(vec![("outer", map(vec![("id", Value::Int32(42))]))]);
        let cfg = v2("outer.id");
        let (schema, key) = on_key(&pairs(&cfg), None, key.clone()).unwrap();
        assert_eq!(schema, None);
        assert_eq!(key, Value::Int32(42));
        // V1 (the default) reads `outer.id` as one name, which is missing: null.
        let nested = map(vec![("outer", map(vec![("id", Value::Int32(42))]))]);
        let (_, key) = on_key(&[("field", "outer.id")], None, nested).unwrap();
        assert_eq!(key, Value::Null);
        // ...and finds a top-level field whose name has a dot.
        let dotted = map(vec![("outer.id", Value::Int32(9))]);
        let (_, key) = on_key(&[("field", "outer.id")], None, dotted.clone()).unwrap();
        assert_eq!(key, Value::Int32(9));
        // V2 reaches it with backticks.
        let cfg = v2("`outer.id`");
        let (_, key) = on_key(&pairs(&cfg), None, dotted).unwrap();
        assert_eq!(key, Value::Int32(9));
    }

    #[test]
    fn schemaless_null_and_missing_fields_give_null() {
        let (schema, key) = on_key(&[("field", "id")], None, Value::Null).unwrap();
        assert_eq!((schema, key), (None, Value::Null));
        let (_, key) = on_key(
            &[("field", "nope")],
            None,
            map(vec![("id", Value::Int32(1))]),
        )
        .unwrap();
        assert_eq!(key, Value::Null);
        let cfg = v2("outer.nope");
        let nested = map(vec![("outer", map(vec![("id", Value::Int32(1))]))]);
        let (_, key) = on_key(&pairs(&cfg), None, nested).unwrap();
        assert_eq!(key, Value::Null);
    }

    #[test]
    fn schemaless_non_map_is_an_error() {
        let err = on_key(&[("field", "id")], None, Value::Int32(1)).unwrap_err();
        assert!(err.message.contains("field extraction"), "{err}");
        // A non-map on the way of a V2 path, too.
        let cfg = v2("outer.id");
        let bad = map(vec![("outer", Value::from("flat"))]);
        let err = on_key(&pairs(&cfg), None, bad).unwrap_err();
        assert!(err.message.contains("nested field access"), "{err}");
    }

    #[test]
    fn with_schema_top_level_field() {
        let schema =
            Schema::struct_([("id", Schema::int32()), ("name", Schema::string())]).into_ref();
        let key = strukt(
            &schema,
            vec![("id", Value::Int32(42)), ("name", Value::from("n"))],
        );
        let (new_schema, key) = on_key(&[("field", "id")], Some(schema), key).unwrap();
        assert_eq!(new_schema, Some(Schema::int32()));
        assert_eq!(key, Value::Int32(42));
    }

    #[test]
    fn with_schema_nested_field_with_v2() {
        let inner = Schema::struct_([("id", Schema::int64())]).into_ref();
        let schema = Schema::struct_([("outer", inner.clone())]).into_ref();
        let key = strukt(
            &schema,
            vec![("outer", strukt(&inner, vec![("id", Value::Int64(7))]))],
        );
        let cfg = v2("outer.id");
        let (new_schema, out) = on_key(&pairs(&cfg), Some(schema.clone()), key.clone()).unwrap();
        assert_eq!(new_schema, Some(Schema::int64()));
        assert_eq!(out, Value::Int64(7));
        // Extracting the nested struct itself keeps its schema.
        let (new_schema, out) = on_key(&[("field", "outer")], Some(schema), key).unwrap();
        assert_eq!(new_schema, Some(inner.clone()));
        assert_eq!(out, strukt(&inner, vec![("id", Value::Int64(7))]));
    }

    #[test]
    fn with_schema_null_passes_with_the_field_schema() {
        let schema = Schema::struct_([("id", Schema::int32())])
            .optional()
            .into_ref();
        let (new_schema, key) = on_key(&[("field", "id")], Some(schema), Value::Null).unwrap();
        assert_eq!(new_schema, Some(Schema::int32()));
        assert_eq!(key, Value::Null);
    }

    #[test]
    fn with_schema_missing_field_is_an_error() {
        let schema = Schema::struct_([("id", Schema::int32())]).into_ref();
        let key = strukt(&schema, vec![("id", Value::Int32(1))]);
        let err = on_key(&[("field", "nope")], Some(schema.clone()), key.clone()).unwrap_err();
        assert_eq!(err.message, "Unknown field: nope");
        // Also for a tombstone: the schema alone decides.
        let err = on_key(&[("field", "nope")], Some(schema.clone()), Value::Null).unwrap_err();
        assert_eq!(err.message, "Unknown field: nope");
        let cfg = v2("id.nope");
        let err = on_key(&pairs(&cfg), Some(schema.clone()), key.clone()).unwrap_err();
        // Stepping into an int32 field: Java's schema lookup fails.
        assert!(err.message.contains("non-struct"), "{err}");
        let inner = Schema::struct_([("id", Schema::int32())]).into_ref();
        let nested = Schema::struct_([("outer", inner.clone())]).into_ref();
        let value = strukt(
            &nested,
            vec![("outer", strukt(&inner, vec![("id", Value::Int32(1))]))],
        );
        let cfg = v2("outer.nope");
        let err = on_key(&pairs(&cfg), Some(nested), value).unwrap_err();
        assert_eq!(err.message, "Unknown field: outer.nope");
    }

    #[test]
    fn with_schema_non_struct_is_an_error() {
        let err = on_key(&[("field", "id")], Some(Schema::int32()), Value::Int32(5)).unwrap_err();
        assert!(err.message.contains("field extraction"), "{err}");
        let schema = Schema::map(Schema::string(), Schema::int32()).into_ref();
        let err = on_key(
            &[("field", "id")],
            Some(schema),
            map(vec![("id", Value::Int32(5))]),
        )
        .unwrap_err();
        assert!(err.message.contains("Struct"), "{err}");
    }

    fn with_default_schema() -> SchemaRef {
        let field = Schema::new(Type::Int32)
            .optional()
            .with_default(Value::Int32(42))
            .into_ref();
        Schema::struct_([("opt", field)]).into_ref()
    }

    #[test]
    fn replace_null_with_default_on_key_and_value() {
        let schema = with_default_schema();
        for (flag, expected) in [("true", Value::Int32(42)), ("false", Value::Null)] {
            let cfg = [("field", "opt"), ("replace.null.with.default", flag)];
            let unset = strukt(&schema, vec![("opt", Value::Null)]);
            let (_, key) = on_key(&cfg, Some(schema.clone()), unset.clone()).unwrap();
            assert_eq!(key, expected, "key {flag}");

            let mut t = transform(VALUE_CLASS, &cfg);
            let mut r = sink("t", None, Value::from("k"), Some(schema.clone()), unset);
            apply(t.as_mut(), &mut r);
            assert_eq!(r.value, expected, "value {flag}");
            assert_eq!(r.value_schema, Some(schema.fields[0].schema.clone()));
            assert_eq!(r.key, Value::from("k"));
        }
        // The default is the default.
        let (_, key) = on_key(
            &[("field", "opt")],
            Some(schema.clone()),
            strukt(&schema, vec![]),
        )
        .unwrap();
        assert_eq!(key, Value::Int32(42));
    }

    #[test]
    fn value_side_on_a_source_record() {
        let mut t = transform(VALUE_CLASS, &[("field", " name ")]);
        let mut r = source(
            "t",
            None,
            Value::Int32(1),
            None,
            map(vec![("name", Value::from("ann"))]),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, Value::from("ann"));
        assert_eq!(r.key, Value::Int32(1));
        assert_eq!(r.value_schema, None);
    }

    #[test]
    fn empty_v2_path_fails_when_used() {
        let cfg = v2("");
        let mut t = key_xform(&pairs(&cfg));
        let mut r = sink(
            "t",
            None,
            map(vec![("", Value::Int32(1))]),
            None,
            Value::Null,
        );
        assert!(t.apply(&mut r).is_err());
        // V1 reads the empty name.
        let (_, key) = on_key(&[("field", "")], None, map(vec![("", Value::Int32(1))])).unwrap();
        assert_eq!(key, Value::Int32(1));
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(KEY_CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[]), "field");
        assert_eq!(
            key(&[("field", "a"), ("field.syntax.version", "V3")]),
            "field.syntax.version"
        );
        assert_eq!(
            key(&[("field", "a"), ("replace.null.with.default", "maybe")]),
            "replace.null.with.default"
        );
        assert_eq!(
            key(&[("field", "`a.b"), ("field.syntax.version", "v2")]),
            "field"
        );
        // An unclosed backtick is fine for V1.
        assert!(build(KEY_CLASS, &[("field", "`a.b")]).is_ok());
        let def = config_def();
        let names: Vec<&str> = def.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(
            names,
            ["field", "replace.null.with.default", "field.syntax.version"]
        );
    }
}
