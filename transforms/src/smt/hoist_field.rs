//! `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`: wraps the key or value in a
//! struct with the single field `field` (with a schema; the new schema is a required, unnamed
//! struct whose only field has the old schema) or in a one-entry map (without a schema).

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props, Schema, Struct, Value};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{check_put, SchemaCache};

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.HoistField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.HoistField$Value";

const FIELD: &str = "field";

/// The `$Key` and `$Value` variants.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, HoistField::create).to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new().define(config::required(
        FIELD,
        ConfigType::String,
        Importance::Medium,
        "Field name for the single field that will be created in the resulting Struct or Map.",
    ))
}

/// Wraps the key or value in a single-field struct or map.
pub struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache,
}

impl HoistField {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        Ok(Box::new(HoistField {
            side,
            // Java trims STRING config values.
            field: cfg.get(FIELD).unwrap_or_default().trim().to_owned(),
            cache: SchemaCache::new(),
        }))
    }
}

impl Transformation for HoistField {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (schema, value) = record.data_mut(self.side);
        let inner = std::mem::take(value);
        let Some(current) = schema.as_ref() else {
            *value = Value::Map(vec![(Value::String(self.field.clone()), inner)]);
            return Ok(Outcome::Keep);
        };
        let field = &self.field;
        let wrapper = self.cache.get_or_try_insert(current, |s| {
            if field.is_empty() {
                // Java's SchemaBuilder refuses an empty field name.
                return Err(TransformError::new("fieldName cannot be null."));
            }
            Ok(Schema::struct_([(field.clone(), s.clone())]).into_ref())
        })?;
        check_put(field, current, &inner)?;
        let mut wrapped = Struct::new(wrapper.clone())?;
        wrapped.put(field, inner)?;
        *schema = Some(wrapper);
        *value = Value::Struct(wrapped);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use tributary_connector_api::Type;

    use tributary_connector_api::SchemaRef;

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn hoisted(
        class: &str,
        schema: Option<SchemaRef>,
        v: Value,
    ) -> Result<(Option<SchemaRef>, Value), TransformError> {
        let mut t = transform(class, &[("field", "wrapped")]);
        if class == KEY_CLASS {
            let mut r = sink("t", schema, v, None, Value::from("other"));
            t.apply(&mut r)?;
            assert_eq!(r.value, Value::from("other"));
            Ok((r.key_schema, r.key))
        } else {
            let mut r = sink("t", None, Value::from("other"), schema, v);
            t.apply(&mut r)?;
            assert_eq!(r.key, Value::from("other"));
            Ok((r.value_schema, r.value))
        }
    }

    #[test]
    fn documented_example() {
        // Kafka's docs: a plain string value hoisted into the field `line`.
        let mut t = transform(VALUE_CLASS, &[("field", "line")]);
        let mut r = source("t", None, Value::Null, None, Value::from("hello"));
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, map(vec![("line", Value::from("hello"))]));
        let mut r = source(
            "t",
            None,
            Value::Null,
            Some(Schema::string()),
            Value::from("hello"),
        );
        apply(t.as_mut(), &mut r);
        let expected = Schema::struct_([("line", Schema::string())]).into_ref();
        assert_eq!(r.value_schema, Some(expected.clone()));
        assert_eq!(
            r.value,
            strukt(&expected, vec![("line", Value::from("hello"))])
        );
    }

    #[test]
    fn schemaless_wraps_in_a_map() {
        for class in [KEY_CLASS, VALUE_CLASS] {
            let (schema, v) = hoisted(class, None, Value::Int32(42)).unwrap();
            assert_eq!(schema, None);
            assert_eq!(v, map(vec![("wrapped", Value::Int32(42))]));
            // A null is wrapped too.
            let (_, v) = hoisted(class, None, Value::Null).unwrap();
            assert_eq!(v, map(vec![("wrapped", Value::Null)]));
        }
    }

    #[test]
    fn with_schema_wraps_in_a_struct() {
        for class in [KEY_CLASS, VALUE_CLASS] {
            let (schema, v) = hoisted(class, Some(Schema::int32()), Value::Int32(42)).unwrap();
            let schema = schema.unwrap();
            let expected = Schema::struct_([("wrapped", Schema::int32())]).into_ref();
            assert_eq!(schema, expected);
            assert!(!schema.optional);
            assert_eq!(schema.name, None);
            assert_eq!(v, strukt(&expected, vec![("wrapped", Value::Int32(42))]));
        }
    }

    #[test]
    fn wraps_structs_and_keeps_their_schema() {
        let inner = Schema::struct_([("a", Schema::string())])
            .with_name("com.example.Inner")
            .into_ref();
        let value = strukt(&inner, vec![("a", Value::from("x"))]);
        let (schema, v) = hoisted(VALUE_CLASS, Some(inner.clone()), value.clone()).unwrap();
        let schema = schema.unwrap();
        assert_eq!(schema.fields[0].schema, inner);
        let Value::Struct(s) = v else { panic!() };
        assert_eq!(s.get("wrapped"), Some(&value));
    }

    #[test]
    fn null_with_schema_needs_an_optional_schema() {
        let (schema, v) = hoisted(KEY_CLASS, Some(Schema::optional_string()), Value::Null).unwrap();
        let schema = schema.unwrap();
        assert_eq!(schema.fields[0].schema, Schema::optional_string());
        assert_eq!(v, strukt(&schema, vec![("wrapped", Value::Null)]));
        assert!(hoisted(KEY_CLASS, Some(Schema::string()), Value::Null).is_err());
        // Java's put refuses null for a required schema even with a default.
        let with_default = Schema::new(Type::String)
            .with_default(Value::from("d"))
            .into_ref();
        assert!(hoisted(KEY_CLASS, Some(with_default), Value::Null).is_err());
    }

    #[test]
    fn a_value_that_does_not_match_its_schema_is_an_error() {
        assert!(hoisted(VALUE_CLASS, Some(Schema::int32()), Value::from("x")).is_err());
    }

    #[test]
    fn derived_schema_is_cached() {
        let mut t = transform(VALUE_CLASS, &[("field", "w")]);
        let mut first = source(
            "t",
            None,
            Value::Null,
            Some(Schema::int64()),
            Value::Int64(1),
        );
        let mut second = source(
            "t",
            None,
            Value::Null,
            Some(Schema::int64()),
            Value::Int64(2),
        );
        apply(t.as_mut(), &mut first);
        apply(t.as_mut(), &mut second);
        assert!(Arc::ptr_eq(
            first.value_schema.as_ref().unwrap(),
            second.value_schema.as_ref().unwrap()
        ));
    }

    #[test]
    fn an_empty_field_name_works_only_without_a_schema() {
        let mut t = transform(KEY_CLASS, &[("field", "")]);
        let mut r = sink("t", None, Value::Int32(1), None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.key, map(vec![("", Value::Int32(1))]));
        let mut r = sink(
            "t",
            Some(Schema::int32()),
            Value::Int32(1),
            None,
            Value::Null,
        );
        assert!(t.apply(&mut r).is_err());
    }

    #[test]
    fn config_errors_name_the_key() {
        assert_eq!(build(KEY_CLASS, &[]).err().unwrap().key, "field");
        assert_eq!(build(VALUE_CLASS, &[]).err().unwrap().key, "field");
    }
}
