//! The fixed-width converters of `org.apache.kafka.connect.converters` (spec §5.2):
//! Long/Integer/Short/Float/DoubleConverter (Kafka's big-endian number serializers) and
//! BooleanConverter (one byte, 0 or 1). Each reads as the optional schema of its type and is
//! also a header converter.
//!
//! On write the number converters accept their own type and any narrower one that converts
//! exactly (an int8 for LongConverter, a float32 for DoubleConverter); Kafka accepts only the
//! exact Java class.

use std::collections::BTreeMap;

use tributary_connector_api::{Schema, SchemaRef, Type, Value};

use crate::converters::{value_kind, ConfigReader, Converter, ConverterError};

/// Which number a [`NumberConverter`] handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Long,
    Integer,
    Short,
    Float,
    Double,
}

impl NumberKind {
    fn class_name(self) -> &'static str {
        match self {
            NumberKind::Long => "LongConverter",
            NumberKind::Integer => "IntegerConverter",
            NumberKind::Short => "ShortConverter",
            NumberKind::Float => "FloatConverter",
            NumberKind::Double => "DoubleConverter",
        }
    }

    fn width(self) -> usize {
        match self {
            NumberKind::Long | NumberKind::Double => 8,
            NumberKind::Integer | NumberKind::Float => 4,
            NumberKind::Short => 2,
        }
    }

    fn schema(self) -> SchemaRef {
        match self {
            NumberKind::Long => Schema::optional_int64(),
            NumberKind::Integer => Schema::optional_int32(),
            NumberKind::Short => Schema::optional_int16(),
            NumberKind::Float => Schema::optional_float32(),
            NumberKind::Double => Schema::optional_float64(),
        }
    }

    fn type_(self) -> Type {
        match self {
            NumberKind::Long => Type::Int64,
            NumberKind::Integer => Type::Int32,
            NumberKind::Short => Type::Int16,
            NumberKind::Float => Type::Float32,
            NumberKind::Double => Type::Float64,
        }
    }
}

/// Kafka's Long/Integer/Short/Float/DoubleConverter.
#[derive(Debug, Clone)]
pub struct NumberConverter {
    kind: NumberKind,
}

fn check_config(config: &BTreeMap<String, String>) -> Result<(), ConverterError> {
    let mut reader = ConfigReader::new(config, super::base_def());
    reader.converter_type();
    reader.finish()
}

impl NumberConverter {
    pub fn new(
        kind: NumberKind,
        config: &BTreeMap<String, String>,
    ) -> Result<NumberConverter, ConverterError> {
        check_config(config)?;
        Ok(NumberConverter { kind })
    }

    fn encode(&self, value: &Value) -> Option<Vec<u8>> {
        use NumberKind as K;
        use Value as V;
        Some(match (self.kind, value) {
            (K::Long, V::Int64(v)) => v.to_be_bytes().to_vec(),
            (K::Long, V::Int32(v)) => i64::from(*v).to_be_bytes().to_vec(),
            (K::Long, V::Int16(v)) => i64::from(*v).to_be_bytes().to_vec(),
            (K::Long, V::Int8(v)) => i64::from(*v).to_be_bytes().to_vec(),
            (K::Integer, V::Int32(v)) => v.to_be_bytes().to_vec(),
            (K::Integer, V::Int16(v)) => i32::from(*v).to_be_bytes().to_vec(),
            (K::Integer, V::Int8(v)) => i32::from(*v).to_be_bytes().to_vec(),
            (K::Short, V::Int16(v)) => v.to_be_bytes().to_vec(),
            (K::Short, V::Int8(v)) => i16::from(*v).to_be_bytes().to_vec(),
            (K::Float, V::Float32(v)) => v.to_be_bytes().to_vec(),
            (K::Double, V::Float64(v)) => v.to_be_bytes().to_vec(),
            (K::Double, V::Float32(v)) => f64::from(*v).to_be_bytes().to_vec(),
            _ => return None,
        })
    }
}

impl Converter for NumberConverter {
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        if value.is_null() {
            return Ok(None);
        }
        self.encode(value).map(Some).ok_or_else(|| {
            ConverterError::Serialize(format!(
                "{} writes {} values, but the value is {}",
                self.kind.class_name(),
                self.kind.type_().name(),
                value_kind(value)
            ))
        })
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let schema = Some(self.kind.schema());
        let Some(b) = bytes else {
            return Ok((schema, Value::Null));
        };
        let wrong = || {
            ConverterError::Deserialize(format!(
                "{} expects exactly {} bytes, but got {}",
                self.kind.class_name(),
                self.kind.width(),
                b.len()
            ))
        };
        let value = match self.kind {
            NumberKind::Long => {
                Value::Int64(i64::from_be_bytes(b.try_into().map_err(|_| wrong())?))
            }
            NumberKind::Integer => {
                Value::Int32(i32::from_be_bytes(b.try_into().map_err(|_| wrong())?))
            }
            NumberKind::Short => {
                Value::Int16(i16::from_be_bytes(b.try_into().map_err(|_| wrong())?))
            }
            NumberKind::Float => {
                Value::Float32(f32::from_be_bytes(b.try_into().map_err(|_| wrong())?))
            }
            NumberKind::Double => {
                Value::Float64(f64::from_be_bytes(b.try_into().map_err(|_| wrong())?))
            }
        };
        Ok((schema, value))
    }
}

/// Kafka's BooleanConverter: one byte, 1 for true and 0 for false.
#[derive(Debug, Clone, Default)]
pub struct BooleanConverter;

impl BooleanConverter {
    pub fn new(config: &BTreeMap<String, String>) -> Result<BooleanConverter, ConverterError> {
        check_config(config)?;
        Ok(BooleanConverter)
    }
}

impl Converter for BooleanConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        if let Some(schema) = schema {
            if schema.type_ != Type::Boolean {
                return Err(ConverterError::Serialize(format!(
                    "BooleanConverter only writes BOOLEAN data, but the schema type is {}",
                    schema.type_.name()
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(vec![u8::from(*b)])),
            other => Err(ConverterError::Serialize(format!(
                "BooleanConverter writes boolean values, but the value is {}",
                value_kind(other)
            ))),
        }
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let value = match bytes {
            None => Value::Null,
            Some([0]) => Value::Boolean(false),
            Some([1]) => Value::Boolean(true),
            Some([other]) => {
                return Err(ConverterError::Deserialize(format!(
                    "BooleanConverter expects the byte 0 or 1, but got {other}"
                )))
            }
            Some(b) => {
                return Err(ConverterError::Deserialize(format!(
                    "BooleanConverter expects exactly 1 byte, but got {}",
                    b.len()
                )))
            }
        };
        Ok((Some(Schema::optional_boolean()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::HeaderConverter;

    fn conv(kind: NumberKind) -> NumberConverter {
        NumberConverter::new(kind, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn numbers_are_big_endian() {
        let cases: Vec<(NumberKind, Value, Vec<u8>, SchemaRef)> = vec![
            (
                NumberKind::Long,
                Value::Int64(-2),
                vec![0xff; 7].into_iter().chain([0xfe]).collect(),
                Schema::optional_int64(),
            ),
            (
                NumberKind::Integer,
                Value::Int32(258),
                vec![0, 0, 1, 2],
                Schema::optional_int32(),
            ),
            (
                NumberKind::Short,
                Value::Int16(-1),
                vec![0xff, 0xff],
                Schema::optional_int16(),
            ),
            (
                NumberKind::Float,
                Value::Float32(1.0),
                vec![0x3f, 0x80, 0, 0],
                Schema::optional_float32(),
            ),
            (
                NumberKind::Double,
                Value::Float64(2.0),
                vec![0x40, 0, 0, 0, 0, 0, 0, 0],
                Schema::optional_float64(),
            ),
        ];
        for (kind, value, bytes, schema) in cases {
            let c = conv(kind);
            assert_eq!(
                c.from_connect("t", None, &value).unwrap(),
                Some(bytes.clone())
            );
            assert_eq!(
                c.to_connect("t", Some(&bytes)).unwrap(),
                (Some(schema.clone()), value)
            );
            assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
            assert_eq!(
                c.to_connect("t", None).unwrap(),
                (Some(schema), Value::Null)
            );
            let err = c.to_connect("t", Some(&[1, 2, 3])).unwrap_err();
            assert!(
                matches!(err, ConverterError::Deserialize(ref m) if m.contains("got 3")),
                "{err}"
            );
        }
        assert_eq!(
            conv(NumberKind::Long)
                .from_connect("t", None, &Value::Int8(1))
                .unwrap(),
            Some(vec![0, 0, 0, 0, 0, 0, 0, 1])
        );
        let err = conv(NumberKind::Integer)
            .from_connect("t", None, &Value::Int64(1))
            .unwrap_err();
        assert_eq!(
            err,
            ConverterError::Serialize(
                "IntegerConverter writes int32 values, but the value is int64".into()
            )
        );
        assert_eq!(
            conv(NumberKind::Short)
                .to_connect_header("t", "h", Some(&[0, 7]))
                .unwrap()
                .1,
            Value::Int16(7)
        );
    }

    #[test]
    fn booleans_are_one_byte() {
        let c = BooleanConverter;
        assert_eq!(
            c.from_connect("t", None, &Value::Boolean(true)).unwrap(),
            Some(vec![1])
        );
        assert_eq!(
            c.from_connect("t", Some(&Schema::boolean()), &Value::Boolean(false))
                .unwrap(),
            Some(vec![0])
        );
        assert_eq!(
            c.to_connect("t", Some(&[1])).unwrap(),
            (Some(Schema::optional_boolean()), Value::Boolean(true))
        );
        assert_eq!(c.to_connect("t", None).unwrap().1, Value::Null);
        assert!(c.to_connect("t", Some(&[2])).is_err());
        assert!(c.to_connect("t", Some(&[0, 0])).is_err());
        assert!(c
            .from_connect("t", Some(&Schema::int8()), &Value::Int8(1))
            .is_err());
        assert!(c.from_connect("t", None, &Value::Int8(1)).is_err());
    }
}
