//! `org.apache.kafka.connect.storage.SimpleHeaderConverter` (spec §5.2), Kafka's default header
//! converter: header values as UTF-8 text, in the form of Kafka's `Values` class
//! ([`tributary_connector_api::values_text`] describes it and how it differs from Kafka's).

use std::collections::BTreeMap;

use tributary_connector_api::values_text::{parse_text, push_text};
use tributary_connector_api::{Schema, SchemaRef, Value};

use crate::converters::{ConfigReader, ConverterError, HeaderConverter};

/// Kafka's SimpleHeaderConverter.
#[derive(Debug, Clone, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    pub fn new(config: &BTreeMap<String, String>) -> Result<SimpleHeaderConverter, ConverterError> {
        let mut reader = ConfigReader::new(config, super::base_def());
        reader.converter_type();
        reader.finish()?;
        Ok(SimpleHeaderConverter)
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        if value.is_null() {
            return Ok(None);
        }
        if let Some(schema) = schema {
            value.validate(schema).map_err(|e| {
                ConverterError::Serialize(format!(
                    "header '{key}' on topic '{topic}' does not match its schema: {}",
                    e.message
                ))
            })?;
        }
        if let Value::String(s) = value {
            return Ok(Some(s.as_bytes().to_vec()));
        }
        let mut out = String::new();
        push_text(&mut out, schema, value);
        Ok(Some(out.into_bytes()))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let Some(bytes) = bytes else {
            return Ok((None, Value::Null));
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(parse_text(text)),
            Err(_) => Ok((Some(Schema::bytes()), Value::Bytes(bytes.to_vec()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_connector_api::logical;
    use tributary_connector_api::values_text::Parsed;
    use tributary_connector_api::{Struct, Type};

    fn write(schema: Option<&SchemaRef>, value: &Value) -> Option<String> {
        SimpleHeaderConverter
            .from_connect_header("t", "h", schema, value)
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    }

    fn read(text: &str) -> Parsed {
        SimpleHeaderConverter
            .to_connect_header("t", "h", Some(text.as_bytes()))
            .unwrap()
    }

    fn s(schema: Schema) -> Option<SchemaRef> {
        Some(schema.into_ref())
    }

    #[test]
    fn writes_text() {
        assert_eq!(write(None, &Value::Null), None);
        assert_eq!(write(Some(&Schema::optional_string()), &Value::Null), None);
        assert_eq!(write(None, &Value::from("a \"b\"")).unwrap(), "a \"b\"");
        assert_eq!(write(None, &Value::Int8(-1)).unwrap(), "-1");
        assert_eq!(
            write(None, &Value::Int64(5_000_000_000)).unwrap(),
            "5000000000"
        );
        assert_eq!(write(None, &Value::Float32(1.5)).unwrap(), "1.5");
        assert_eq!(write(None, &Value::Float64(1e-5)).unwrap(), "1.0E-5");
        assert_eq!(write(None, &Value::Boolean(false)).unwrap(), "false");
        assert_eq!(write(None, &Value::Bytes(vec![0, 0xC2])).unwrap(), "AMI=");
        let dec = logical::decimal(2).into_ref();
        assert_eq!(
            write(Some(&dec), &Value::Bytes(vec![0, 0xC2])).unwrap(),
            "1.94"
        );
        let date = logical::date().into_ref();
        assert_eq!(
            write(Some(&date), &Value::Int32(19_723)).unwrap(),
            "2024-01-01"
        );
        let time = logical::time().into_ref();
        assert_eq!(
            write(Some(&time), &Value::Int32(45_296_789)).unwrap(),
            "12:34:56.789Z"
        );
        let ts = logical::timestamp().into_ref();
        assert_eq!(
            write(Some(&ts), &Value::Int64(1_704_067_200_000)).unwrap(),
            "2024-01-01T00:00:00.000Z"
        );
        assert_eq!(
            write(
                None,
                &Value::Array(vec![
                    Value::from("a"),
                    Value::from("b\"\\"),
                    Value::Null,
                    Value::Int32(3)
                ])
            )
            .unwrap(),
            r#"["a","b\"\\",null,3]"#
        );
        assert_eq!(
            write(
                None,
                &Value::Map(vec![
                    (Value::from("k"), Value::Int64(1)),
                    (Value::Int8(2), Value::Bytes(vec![1])),
                ])
            )
            .unwrap(),
            r#"{"k":1,2:"AQ=="}"#
        );
        let schema = Schema::struct_([
            ("id", Schema::int64()),
            ("name", Schema::optional_string()),
            (
                "n",
                Schema::new(Type::Int32)
                    .optional()
                    .with_default(Value::Int32(9))
                    .into_ref(),
            ),
            ("when", logical::date().into_ref()),
        ])
        .into_ref();
        let mut st = Struct::new(schema.clone()).unwrap();
        st.put("id", Value::Int64(7)).unwrap();
        st.put("name", Value::from("x")).unwrap();
        st.put("when", Value::Int32(0)).unwrap();
        assert_eq!(
            write(Some(&schema), &Value::Struct(st)).unwrap(),
            r#"{"id":7,"name":"x","n":9,"when":1970-01-01}"#
        );
        let err = SimpleHeaderConverter
            .from_connect_header("t", "h", Some(&Schema::int32()), &Value::from("x"))
            .unwrap_err();
        assert!(err.to_string().contains("header 'h'"), "{err}");
    }

    #[test]
    fn reads_scalars_with_narrowest_type() {
        assert_eq!(
            SimpleHeaderConverter
                .to_connect_header("t", "h", None)
                .unwrap(),
            (None, Value::Null)
        );
        assert_eq!(read("null"), (None, Value::Null));
        assert_eq!(read(""), (s(Schema::new(Type::String)), Value::from("")));
        assert_eq!(
            read("true"),
            (s(Schema::new(Type::Boolean)), Value::Boolean(true))
        );
        assert_eq!(
            read(" false "),
            (s(Schema::new(Type::Boolean)), Value::Boolean(false))
        );
        assert_eq!(read("42"), (s(Schema::new(Type::Int8)), Value::Int8(42)));
        assert_eq!(
            read("-129"),
            (s(Schema::new(Type::Int16)), Value::Int16(-129))
        );
        assert_eq!(
            read("70000"),
            (s(Schema::new(Type::Int32)), Value::Int32(70_000))
        );
        assert_eq!(
            read("5000000000"),
            (s(Schema::new(Type::Int64)), Value::Int64(5_000_000_000))
        );
        assert_eq!(read("+7"), (s(Schema::new(Type::Int8)), Value::Int8(7)));
        assert_eq!(read("1.0"), (s(Schema::new(Type::Int8)), Value::Int8(1)));
        assert_eq!(
            read("1e5"),
            (s(Schema::new(Type::Int32)), Value::Int32(100_000))
        );
        assert_eq!(read("0.000"), (s(Schema::new(Type::Int8)), Value::Int8(0)));
        assert_eq!(
            read("1.5"),
            (s(Schema::new(Type::Float32)), Value::Float32(1.5))
        );
        assert_eq!(
            read("0.1"),
            (s(Schema::new(Type::Float32)), Value::Float32(0.1))
        );
        assert_eq!(
            read("3.141592653589793"),
            (
                s(Schema::new(Type::Float64)),
                Value::Float64(std::f64::consts::PI)
            )
        );
        assert_eq!(
            read("1.0E-5"),
            (s(Schema::new(Type::Float32)), Value::Float32(1e-5))
        );
        assert_eq!(
            read("12345678901234567890"),
            (
                s(logical::decimal(0)),
                Value::Bytes(logical::decimal_bytes(12_345_678_901_234_567_890))
            )
        );
        // A huge exponent must not be expanded.
        let (schema, _) = read("407127e212797209");
        assert_eq!(schema.unwrap().name.as_deref(), Some(logical::DECIMAL));
        assert_eq!(
            read("2024-01-01"),
            (s(logical::date()), Value::Int32(19_723))
        );
        assert_eq!(
            read("12:34:56.789Z"),
            (s(logical::time()), Value::Int32(45_296_789))
        );
        assert_eq!(
            read("2024-01-02T03:04:05.123Z"),
            (s(logical::timestamp()), Value::Int64(1_704_164_645_123))
        );
        for text in [
            "hello world",
            "1,2",
            "2024-02-30",
            "12abc",
            "-",
            "+.",
            "NaN",
            "true}",
            "[1,2",
            "{bad",
            "[1,]",
            "{\"a\"}",
            "1e",
        ] {
            assert_eq!(
                read(text),
                (s(Schema::new(Type::String)), Value::from(text)),
                "{text}"
            );
        }
        assert_eq!(
            SimpleHeaderConverter
                .to_connect_header("t", "h", Some(b"\xff\x00"))
                .unwrap(),
            (s(Schema::new(Type::Bytes)), Value::Bytes(vec![0xff, 0]))
        );
    }

    #[test]
    fn reads_lists_and_maps() {
        assert_eq!(
            read("[1, 2, 3]"),
            (
                s(Schema::array(Schema::int8())),
                Value::Array(vec![Value::Int8(1), Value::Int8(2), Value::Int8(3)])
            )
        );
        assert_eq!(
            read("[1,300,1.5]"),
            (
                s(Schema::array(Schema::float32())),
                Value::Array(vec![
                    Value::Float32(1.0),
                    Value::Float32(300.0),
                    Value::Float32(1.5)
                ])
            )
        );
        assert_eq!(
            read("[1,null]"),
            (
                s(Schema::array(Schema::optional_int8())),
                Value::Array(vec![Value::Int8(1), Value::Null])
            )
        );
        assert_eq!(
            read("[1,\"a\"]"),
            (None, Value::Array(vec![Value::Int8(1), Value::from("a")]))
        );
        assert_eq!(read("[]"), (None, Value::Array(vec![])));
        assert_eq!(
            read(r#"["a\"b","c"]"#),
            (
                s(Schema::array(Schema::string())),
                Value::Array(vec![Value::from("a\"b"), Value::from("c")])
            )
        );
        assert_eq!(
            read(r#"{"a":1,"b":70000}"#),
            (
                s(Schema::map(Schema::string(), Schema::int32())),
                Value::Map(vec![
                    (Value::from("a"), Value::Int32(1)),
                    (Value::from("b"), Value::Int32(70_000)),
                ])
            )
        );
        assert_eq!(
            read(r#"{"a":[true],"b":[false,true]}"#),
            (
                s(Schema::map(
                    Schema::string(),
                    Schema::array(Schema::boolean()).into_ref()
                )),
                Value::Map(vec![
                    (Value::from("a"), Value::Array(vec![Value::Boolean(true)])),
                    (
                        Value::from("b"),
                        Value::Array(vec![Value::Boolean(false), Value::Boolean(true)])
                    ),
                ])
            )
        );
        assert_eq!(
            read(r#"{"a":1,"b":"x"}"#),
            (
                None,
                Value::Map(vec![
                    (Value::from("a"), Value::Int8(1)),
                    (Value::from("b"), Value::from("x"))
                ])
            )
        );
        assert_eq!(
            read("[2024-01-02T03:04:05.123Z,12:00:00.000Z]"),
            (
                None,
                Value::Array(vec![
                    Value::Int64(1_704_164_645_123),
                    Value::Int32(43_200_000)
                ])
            )
        );
        assert_eq!(
            read("{12:00:00.000Z:1}"),
            (
                s(Schema::map(logical::time().into_ref(), Schema::int8())),
                Value::Map(vec![(Value::Int32(43_200_000), Value::Int8(1))])
            )
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let depth = tributary_connector_api::values_text::MAX_DEPTH;
        let deep = "[".repeat(depth) + &"]".repeat(depth);
        let (schema, value) = read(&deep);
        assert_eq!(schema, None);
        assert_eq!(write(None, &value).unwrap(), deep);
        let too_deep = "[".repeat(depth + 1) + &"]".repeat(depth + 1);
        assert_eq!(read(&too_deep).1, Value::String(too_deep.clone()));
    }

    #[test]
    fn round_trips() {
        let list = Schema::array(Schema::int32()).into_ref();
        let map = Schema::map(Schema::string(), Schema::string()).into_ref();
        let dates = Schema::array(logical::date().into_ref()).into_ref();
        let cases: Vec<(SchemaRef, Value)> = vec![
            (
                Schema::string(),
                Value::from("plain text, with: delimiters"),
            ),
            (Schema::boolean(), Value::Boolean(true)),
            (Schema::int32(), Value::Int32(123_456)),
            (Schema::int64(), Value::Int64(-9_000_000_000)),
            (Schema::float64(), Value::Float64(0.1 + 0.2)),
            (Schema::float32(), Value::Float32(0.25)),
            (logical::date().into_ref(), Value::Int32(-365)),
            (logical::time().into_ref(), Value::Int32(1)),
            (
                logical::timestamp().into_ref(),
                Value::Int64(1_704_164_645_123),
            ),
            (
                list,
                Value::Array(vec![Value::Int32(100_000), Value::Int32(-100_000)]),
            ),
            (
                map,
                Value::Map(vec![(Value::from("k"), Value::from("v \"q\""))]),
            ),
            (
                dates,
                Value::Array(vec![Value::Int32(0), Value::Int32(19_723)]),
            ),
        ];
        for (schema, value) in cases {
            let text = write(Some(&schema), &value).unwrap();
            assert_eq!(read(&text), (Some(schema), value), "{text}");
        }
    }
}
