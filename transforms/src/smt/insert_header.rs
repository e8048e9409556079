//! `org.apache.kafka.connect.transforms.InsertHeader`: adds a header `header` whose value is
//! `value.literal` read as Kafka's `Values.parseString` reads text (so `42` is an INT8 header,
//! `true` a BOOLEAN, `[1,2]` an ARRAY, anything else a STRING).

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::values_text;
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props, SchemaRef, Value};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};

pub const CLASS: &str = "org.apache.kafka.connect.transforms.InsertHeader";

pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(
        CLASS,
        config_def,
        InsertHeader::create,
    )]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(config::required(
            "header",
            ConfigType::String,
            Importance::High,
            "The key of the header to add.",
        ))
        .define(config::required(
            "value.literal",
            ConfigType::String,
            Importance::High,
            "The header's value, as literal text; its type is inferred from the text.",
        ))
}

/// Adds one header with a fixed value.
pub struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl InsertHeader {
    fn create(_: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let (schema, value) = values_text::parse_text(cfg.get("value.literal").unwrap_or_default());
        Ok(Box::new(InsertHeader {
            header: cfg.get_string("header").unwrap_or_default(),
            schema,
            value,
        }))
    }
}

impl Transformation for InsertHeader {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        record
            .headers_mut()
            .add(self.header.clone(), self.schema.clone(), self.value.clone());
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{Schema, Type};

    use super::*;
    use crate::smt::testing::{apply, build, sink, source, transform};

    fn inserted(literal: &str) -> (Option<SchemaRef>, Value) {
        let mut t = transform(CLASS, &[("header", "h"), ("value.literal", literal)]);
        let mut r = sink("t", None, Value::Null, None, Value::from("v"));
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        let h = r.headers.last_with_name("h").expect("header added");
        (h.schema.clone(), h.value.clone())
    }

    #[test]
    fn documented_example_and_literal_types() {
        // Kafka's docs: header "MessageSource" with the literal "Kafka Connect framework".
        assert_eq!(
            inserted("Kafka Connect framework"),
            (
                Some(Schema::string()),
                Value::from("Kafka Connect framework")
            )
        );
        assert_eq!(inserted("42"), (Some(Schema::int8()), Value::Int8(42)));
        assert_eq!(
            inserted("true"),
            (Some(Schema::boolean()), Value::Boolean(true))
        );
        let (schema, value) = inserted("[1,2]");
        assert_eq!(schema.map(|s| s.type_), Some(Type::Array));
        assert_eq!(value, Value::Array(vec![Value::Int8(1), Value::Int8(2)]));
        assert_eq!(inserted("null"), (None, Value::Null));
    }

    #[test]
    fn adds_alongside_existing_headers_on_any_record() {
        let mut t = transform(CLASS, &[("header", "h"), ("value.literal", "x")]);
        let mut r = source("t", None, Value::Null, None, Value::Null);
        r.headers.add("h", None, Value::from("old"));
        apply(t.as_mut(), &mut r);
        let values: Vec<&Value> = r.headers.iter().map(|h| &h.value).collect();
        assert_eq!(values, [&Value::from("old"), &Value::from("x")]);
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            build(CLASS, &[("value.literal", "x")]).err().unwrap().key,
            "header"
        );
        assert_eq!(
            build(CLASS, &[("header", "h")]).err().unwrap().key,
            "value.literal"
        );
    }
}
