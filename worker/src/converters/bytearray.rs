//! `org.apache.kafka.connect.converters.ByteArrayConverter` (spec §5.2): bytes pass through
//! unchanged. Writes only BYTES data (or null); reads everything as optional BYTES. Also a
//! header converter.

use std::borrow::Cow;
use std::collections::BTreeMap;

use tributary_connector_api::{Schema, SchemaRef, Type, Value, ValueRef};

use crate::converters::{value_kind, ConfigReader, Converter, ConverterError};
use tributary_connector_api::converter::from_connect_owned;

/// Kafka's ByteArrayConverter.
#[derive(Debug, Clone, Default)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    pub fn new(config: &BTreeMap<String, String>) -> Result<ByteArrayConverter, ConverterError> {
        let mut reader = ConfigReader::new(config, super::base_def());
        reader.converter_type();
        reader.finish()?;
        Ok(ByteArrayConverter)
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        if let Some(schema) = schema {
            if schema.type_ != Type::Bytes {
                return Err(ConverterError::Serialize(format!(
                    "ByteArrayConverter only writes BYTES data, but the schema type is {}",
                    schema.type_.name()
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConverterError::Serialize(format!(
                "ByteArrayConverter only writes bytes, but the value is {}",
                value_kind(other)
            ))),
        }
    }

    fn from_connect_ref<'a>(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: ValueRef<'a>,
    ) -> Result<Option<Cow<'a, [u8]>>, ConverterError> {
        // Bytes are written as they are: their own, not a copy.
        match value {
            ValueRef::Bytes(b) if schema.is_none_or(|s| s.type_ == Type::Bytes) => {
                Ok(Some(Cow::Borrowed(b)))
            }
            ValueRef::Value(Value::Bytes(b)) if schema.is_none_or(|s| s.type_ == Type::Bytes) => {
                Ok(Some(Cow::Borrowed(b)))
            }
            other => from_connect_owned(self, topic, schema, other),
        }
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let value = bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec()));
        Ok((Some(Schema::optional_bytes()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::HeaderConverter;
    use tributary_connector_api::logical;

    #[test]
    fn passes_bytes_through() {
        let c = ByteArrayConverter;
        let bytes = Value::Bytes(vec![0, 1, 0xff]);
        assert_eq!(
            c.from_connect("t", Some(&Schema::bytes()), &bytes).unwrap(),
            Some(vec![0, 1, 0xff])
        );
        assert_eq!(
            c.from_connect("t", None, &bytes).unwrap(),
            Some(vec![0, 1, 0xff])
        );
        let dec = logical::decimal(2).into_ref();
        assert_eq!(
            c.from_connect("t", Some(&dec), &Value::Bytes(vec![0, 0xC2]))
                .unwrap(),
            Some(vec![0, 0xC2])
        );
        assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
        assert_eq!(
            c.from_connect("t", Some(&Schema::optional_bytes()), &Value::Null)
                .unwrap(),
            None
        );
        assert_eq!(
            c.to_connect("t", Some(&[1, 2])).unwrap(),
            (Some(Schema::optional_bytes()), Value::Bytes(vec![1, 2]))
        );
        assert_eq!(
            c.to_connect("t", None).unwrap(),
            (Some(Schema::optional_bytes()), Value::Null)
        );
        assert_eq!(
            c.to_connect_header("t", "h", Some(&[])).unwrap().1,
            Value::Bytes(vec![])
        );
    }

    #[test]
    fn rejects_non_bytes() {
        let c = ByteArrayConverter;
        let err = c
            .from_connect("t", Some(&Schema::string()), &Value::from("x"))
            .unwrap_err();
        assert_eq!(
            err,
            ConverterError::Serialize(
                "ByteArrayConverter only writes BYTES data, but the schema type is string".into()
            )
        );
        let err = c.from_connect("t", None, &Value::Int32(1)).unwrap_err();
        assert_eq!(
            err,
            ConverterError::Serialize(
                "ByteArrayConverter only writes bytes, but the value is int32".into()
            )
        );
    }
}
