//! `org.apache.kafka.connect.storage.StringConverter` (spec §5.2), also a header converter.
//!
//! Writes the value's text (Java `toString` style: `[a, b]` for arrays, `{k=v}` for maps,
//! `Struct{a=1,b=x}` for structs) in `converter.encoding` (default UTF-8; `serializer.encoding`
//! and `deserializer.encoding` override it per direction). Reads any bytes as an optional
//! string (undecodable sequences become U+FFFD, as in Java).
//!
//! The text comes from [`tributary_connector_api::java_text::push_value`], the rendering the
//! file sink uses too: bytes as base64 (Java's `[B@1b6d3586` carries no data), Date / Time /
//! Timestamp as `java.util.Date.toString` in UTC (Java uses the JVM's time zone), decimals as
//! `BigDecimal.toString`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use tributary_connector_api::config::Default as ConfigDefault;
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigType, Importance, Schema, SchemaRef, Value, ValueRef,
};

use crate::converters::{ConfigReader, Converter, ConverterError};
use tributary_connector_api::converter::from_connect_owned;

pub const ENCODING: &str = "converter.encoding";
pub const SERIALIZER_ENCODING: &str = "serializer.encoding";
pub const DESERIALIZER_ENCODING: &str = "deserializer.encoding";

/// The character encodings StringConverter supports (Java charset names and common aliases,
/// case-insensitive: `UTF-8`/`UTF8`, `ISO-8859-1`/`latin1`, `US-ASCII`/`ASCII`, `UTF-16`,
/// `UTF-16BE`, `UTF-16LE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Latin1,
    Ascii,
    /// Big-endian with a byte-order mark on write; the mark (either order) is honoured on read.
    Utf16,
    Utf16Be,
    Utf16Le,
}

impl TextEncoding {
    pub fn from_name(name: &str) -> Option<TextEncoding> {
        let norm: String = name
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Some(match norm.as_str() {
            "UTF8" => TextEncoding::Utf8,
            "ISO88591" | "LATIN1" | "ISOLATIN1" | "88591" | "L1" | "CP819" => TextEncoding::Latin1,
            "USASCII" | "ASCII" | "ASCII7" | "646" => TextEncoding::Ascii,
            "UTF16" | "UNICODE" => TextEncoding::Utf16,
            "UTF16BE" | "UNICODEBIGUNMARKED" => TextEncoding::Utf16Be,
            "UTF16LE" | "UNICODELITTLEUNMARKED" => TextEncoding::Utf16Le,
            _ => return None,
        })
    }

    /// Encodes text; characters the encoding cannot hold become `?`, as in Java.
    pub fn encode(self, s: &str) -> Vec<u8> {
        match self {
            TextEncoding::Utf8 => s.as_bytes().to_vec(),
            TextEncoding::Latin1 => s
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            TextEncoding::Ascii => s
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            TextEncoding::Utf16 | TextEncoding::Utf16Be => {
                let mut out = Vec::with_capacity(s.len() * 2 + 2);
                if self == TextEncoding::Utf16 {
                    out.extend_from_slice(&[0xFE, 0xFF]);
                }
                for unit in s.encode_utf16() {
                    out.extend_from_slice(&unit.to_be_bytes());
                }
                out
            }
            TextEncoding::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        }
    }

    /// Decodes bytes; invalid sequences become U+FFFD, as in Java.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            TextEncoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            },
            TextEncoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            TextEncoding::Ascii => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{FFFD}'
                    }
                })
                .collect(),
            TextEncoding::Utf16 => match bytes {
                [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, true),
                [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, false),
                _ => decode_utf16(bytes, true),
            },
            TextEncoding::Utf16Be => decode_utf16(bytes, true),
            TextEncoding::Utf16Le => decode_utf16(bytes, false),
        }
    }
}

fn decode_utf16(bytes: &[u8], big_endian: bool) -> String {
    let units = bytes.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    let mut s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect();
    if bytes.len() % 2 == 1 {
        s.push('\u{FFFD}');
    }
    s
}

/// StringConverter's keys and defaults (the only copy: the config is read through it).
pub fn config_def() -> ConfigDef {
    super::base_def()
        .define(ConfigKey::new(
            ENCODING,
            ConfigType::String,
            ConfigDefault::Value("UTF-8".into()),
            Importance::High,
            "The character encoding used to convert between strings and bytes.",
        ))
        .define(ConfigKey::new(
            SERIALIZER_ENCODING,
            ConfigType::String,
            ConfigDefault::Null,
            Importance::Low,
            "Overrides converter.encoding when writing.",
        ))
        .define(ConfigKey::new(
            DESERIALIZER_ENCODING,
            ConfigType::String,
            ConfigDefault::Null,
            Importance::Low,
            "Overrides converter.encoding when reading.",
        ))
}

/// (write encoding, read encoding).
pub(crate) fn read_config(reader: &mut ConfigReader<'_>) -> (TextEncoding, TextEncoding) {
    let mut get = |key: &str, fallback: TextEncoding| match reader.raw_or_default(key) {
        None => fallback,
        Some(name) => TextEncoding::from_name(&name).unwrap_or_else(|| {
            reader.error(
                key,
                format!(
                    "unsupported character encoding '{name}' (supported: UTF-8, ISO-8859-1, \
                     US-ASCII, UTF-16, UTF-16BE, UTF-16LE)"
                ),
            );
            fallback
        }),
    };
    let base = get(ENCODING, TextEncoding::Utf8); // the default comes from config_def()
    let write = get(SERIALIZER_ENCODING, base);
    let read = get(DESERIALIZER_ENCODING, base);
    reader.converter_type();
    (write, read)
}

/// Kafka's StringConverter.
#[derive(Debug, Clone)]
pub struct StringConverter {
    write: TextEncoding,
    read: TextEncoding,
}

impl StringConverter {
    pub fn new(config: &BTreeMap<String, String>) -> Result<StringConverter, ConverterError> {
        let mut reader = ConfigReader::new(config, config_def());
        let (write, read) = read_config(&mut reader);
        reader.finish()?;
        Ok(StringConverter { write, read })
    }

    /// A UTF-8 converter.
    pub fn utf8() -> StringConverter {
        StringConverter {
            write: TextEncoding::Utf8,
            read: TextEncoding::Utf8,
        }
    }
}

/// The text StringConverter writes for a value (`None` for null).
pub fn value_to_string<'a>(schema: Option<&SchemaRef>, value: &'a Value) -> Option<Cow<'a, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => {
            let mut out = String::new();
            tributary_connector_api::java_text::push_value(&mut out, other, schema);
            Some(Cow::Owned(out))
        }
    }
}

impl Converter for StringConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        Ok(
            value_to_string(schema, value).map(|text| match (self.write, text) {
                (TextEncoding::Utf8, Cow::Owned(s)) => s.into_bytes(),
                (encoding, text) => encoding.encode(&text),
            }),
        )
    }

    fn from_connect_ref<'a>(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: ValueRef<'a>,
    ) -> Result<Option<Cow<'a, [u8]>>, ConverterError> {
        // A UTF-8 string is written as it is: its own bytes, not a copy.
        match (self.write, value.as_str()) {
            (TextEncoding::Utf8, Some(s)) => Ok(Some(Cow::Borrowed(s.as_bytes()))),
            _ if value.is_null() => Ok(None),
            _ => from_connect_owned(self, topic, schema, value),
        }
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let value = match bytes {
            None => Value::Null,
            Some(b) => Value::String(self.read.decode(b)),
        };
        Ok((Some(Schema::optional_string()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::HeaderConverter;
    use tributary_connector_api::logical;
    use tributary_connector_api::{Schema, Struct};

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write(schema: Option<&SchemaRef>, value: &Value) -> Option<Vec<u8>> {
        StringConverter::utf8()
            .from_connect("t", schema, value)
            .unwrap()
    }

    fn text(schema: Option<&SchemaRef>, value: &Value) -> String {
        String::from_utf8(write(schema, value).unwrap()).unwrap()
    }

    #[test]
    fn writes_value_text() {
        assert_eq!(write(None, &Value::Null), None);
        assert_eq!(text(None, &Value::from("héllo")), "héllo");
        assert_eq!(text(None, &Value::Int32(-42)), "-42");
        assert_eq!(text(None, &Value::Int64(9_000_000_000)), "9000000000");
        assert_eq!(text(None, &Value::Float64(1.0)), "1.0");
        assert_eq!(text(None, &Value::Float32(1e10)), "1.0E10");
        assert_eq!(text(None, &Value::Boolean(true)), "true");
        assert_eq!(text(None, &Value::Bytes(vec![0, 0xC2])), "AMI=");
        assert_eq!(
            text(
                None,
                &Value::Array(vec![Value::from("a"), Value::Null, Value::Int8(3)])
            ),
            "[a, null, 3]"
        );
        assert_eq!(
            text(
                None,
                &Value::Map(vec![
                    (Value::from("k"), Value::Int64(1)),
                    (Value::from("j"), Value::from("v")),
                ])
            ),
            "{k=1, j=v}"
        );
        let dec = logical::decimal(2).into_ref();
        assert_eq!(text(Some(&dec), &Value::Bytes(vec![0, 0xC2])), "1.94");
        let date = logical::date().into_ref();
        // Java's StringConverter prints `java.util.Date.toString` (here in UTC).
        assert_eq!(
            text(Some(&date), &Value::Int32(19_723)),
            "Mon Jan 01 00:00:00 UTC 2024"
        );
        let time = logical::time().into_ref();
        assert_eq!(
            text(Some(&time), &Value::Int32(3_723_004)),
            "Thu Jan 01 01:02:03 UTC 1970"
        );
        let ts = logical::timestamp().into_ref();
        assert_eq!(
            text(Some(&ts), &Value::Int64(1_704_164_645_123)),
            "Tue Jan 02 03:04:05 UTC 2024"
        );
    }

    #[test]
    fn writes_struct_like_java() {
        let schema = Schema::struct_([
            ("id", Schema::int64()),
            ("note", Schema::optional_string()),
            ("amount", logical::decimal(2).optional().into_ref()),
            ("tags", Schema::array(Schema::string()).into_ref()),
        ])
        .with_name("shop.Order")
        .into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", Value::Int64(7)).unwrap();
        s.put("amount", Value::Bytes(vec![0, 0xC2])).unwrap();
        s.put("tags", Value::Array(vec!["a".into(), "b".into()]))
            .unwrap();
        assert_eq!(
            text(Some(&schema), &Value::Struct(s)),
            "Struct{id=7,amount=1.94,tags=[a, b]}"
        );
    }

    #[test]
    fn reads_optional_string() {
        let c = StringConverter::utf8();
        assert_eq!(
            c.to_connect("t", Some("héllo".as_bytes())).unwrap(),
            (Some(Schema::optional_string()), Value::from("héllo"))
        );
        assert_eq!(
            c.to_connect("t", None).unwrap(),
            (Some(Schema::optional_string()), Value::Null)
        );
        assert_eq!(
            c.to_connect("t", Some(b"a\xffb")).unwrap().1,
            Value::from("a\u{FFFD}b")
        );
        assert_eq!(
            c.to_connect_header("t", "h", Some(b"x")).unwrap().1,
            Value::from("x")
        );
        assert_eq!(
            c.from_connect_header("t", "h", None, &Value::Int16(5))
                .unwrap()
                .unwrap(),
            b"5"
        );
    }

    #[test]
    fn encodings() {
        let latin1 = StringConverter::new(&cfg(&[("converter.encoding", "ISO-8859-1")])).unwrap();
        assert_eq!(
            latin1
                .from_connect("t", None, &Value::from("é€"))
                .unwrap()
                .unwrap(),
            vec![0xE9, b'?']
        );
        assert_eq!(
            latin1.to_connect("t", Some(&[0xE9])).unwrap().1,
            Value::from("é")
        );
        let split = StringConverter::new(&cfg(&[
            ("serializer.encoding", "UTF-16BE"),
            ("deserializer.encoding", "utf_16le"),
        ]))
        .unwrap();
        assert_eq!(
            split
                .from_connect("t", None, &Value::from("hi"))
                .unwrap()
                .unwrap(),
            vec![0, b'h', 0, b'i']
        );
        assert_eq!(
            split.to_connect("t", Some(&[b'h', 0, b'i', 0])).unwrap().1,
            Value::from("hi")
        );
        let utf16 = StringConverter::new(&cfg(&[("converter.encoding", "UTF-16")])).unwrap();
        let bytes = utf16
            .from_connect("t", None, &Value::from("é"))
            .unwrap()
            .unwrap();
        assert_eq!(bytes, vec![0xFE, 0xFF, 0x00, 0xE9]);
        assert_eq!(
            utf16.to_connect("t", Some(&bytes)).unwrap().1,
            Value::from("é")
        );
        assert_eq!(
            utf16
                .to_connect("t", Some(&[0xFF, 0xFE, 0xE9, 0x00]))
                .unwrap()
                .1,
            Value::from("é")
        );
        let ascii = StringConverter::new(&cfg(&[("converter.encoding", "US-ASCII")])).unwrap();
        assert_eq!(
            ascii.to_connect("t", Some(&[b'a', 0xE9])).unwrap().1,
            Value::from("a\u{FFFD}")
        );
        match StringConverter::new(&cfg(&[("deserializer.encoding", "KOI8-R")])) {
            Err(ConverterError::Config { key, message }) => {
                assert_eq!(key, "deserializer.encoding");
                assert!(message.contains("KOI8-R"));
            }
            other => panic!("{other:?}"),
        }
    }
}
