//! Converters: Connect data (schema + value) ⇄ the bytes stored in Kafka.
//!
//! The built-ins mirror Kafka Connect's (spec §5): [`json::JsonConverter`],
//! [`string::StringConverter`], [`bytearray::ByteArrayConverter`], the big-endian number and
//! boolean converters in [`numeric`], and [`header::SimpleHeaderConverter`]. Classes are found by
//! their Java class name or an alias ([`create_converter`], [`create_header_converter`]).
//!
//! Every converter takes its own config with the `key.converter.` / `value.converter.` /
//! `header.converter.` prefix already stripped; invalid values are reported as
//! [`ConverterError::Config`] naming that (unprefixed) key.

use std::collections::BTreeMap;

use thiserror::Error;
use tributary_connector_api::config::Default as ConfigDefault;
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigType, Importance, SchemaRef, Validator, Value,
};

pub mod bytearray;
pub mod header;
pub mod json;
mod jsonparse;
pub mod numeric;
pub mod string;
mod text;

pub use bytearray::ByteArrayConverter;
pub use header::SimpleHeaderConverter;
pub use json::{DecimalFormat, JsonConverter, JsonConverterConfig};
pub use numeric::{BooleanConverter, NumberConverter, NumberKind};
pub use string::{StringConverter, TextEncoding};

/// A converter failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConverterError {
    /// A config value is invalid; `key` is the converter's own key (no `value.converter.` prefix).
    #[error("invalid value for converter configuration {key}: {message}")]
    Config { key: String, message: String },
    /// No built-in converter has this class name or alias.
    #[error(
        "no converter class or alias matches '{0}' (built-ins: JsonConverter, StringConverter, \
         ByteArrayConverter, LongConverter, IntegerConverter, ShortConverter, FloatConverter, \
         DoubleConverter, BooleanConverter, SimpleHeaderConverter)"
    )]
    UnknownClass(String),
    /// Connect data could not be written (value does not match its schema, unsupported value…).
    #[error("failed to convert Connect data to bytes: {0}")]
    Serialize(String),
    /// Bytes could not be read as Connect data.
    #[error("failed to convert bytes to Connect data: {0}")]
    Deserialize(String),
}

impl ConverterError {
    pub(crate) fn config(key: &str, message: impl Into<String>) -> ConverterError {
        ConverterError::Config {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Converts record keys or values.
pub trait Converter: Send + Sync {
    /// Connect data → bytes (`None` = null bytes, i.e. a tombstone).
    #[allow(clippy::wrong_self_convention)] // Kafka's name (`fromConnectData`)
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError>;

    /// Bytes (`None` = null) → Connect data.
    fn to_connect(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError>;
}

/// Converts record header values.
pub trait HeaderConverter: Send + Sync {
    /// Connect header value → bytes (`None` = null).
    #[allow(clippy::wrong_self_convention)] // Kafka's name (`fromConnectHeader`)
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError>;

    /// Header bytes (`None` = null) → Connect data.
    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError>;
}

/// Every value converter also converts headers, the same way (as in Kafka, where the built-in
/// converters implement `HeaderConverter` by delegating to themselves).
impl<C: Converter> HeaderConverter for C {
    fn from_connect_header(
        &self,
        topic: &str,
        _key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        self.from_connect(topic, schema, value)
    }

    fn to_connect_header(
        &self,
        topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        self.to_connect(topic, bytes)
    }
}

/// Which converters a built-in class can act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Json,
    String,
    ByteArray,
    Number(NumberKind),
    Boolean,
    SimpleHeader,
}

/// (class name, builtin, usable as key/value converter, usable as header converter).
const BUILTINS: &[(&str, Builtin, bool, bool)] = &[
    (
        "org.apache.kafka.connect.json.JsonConverter",
        Builtin::Json,
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.storage.StringConverter",
        Builtin::String,
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.ByteArrayConverter",
        Builtin::ByteArray,
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.LongConverter",
        Builtin::Number(NumberKind::Long),
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.IntegerConverter",
        Builtin::Number(NumberKind::Integer),
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.ShortConverter",
        Builtin::Number(NumberKind::Short),
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.FloatConverter",
        Builtin::Number(NumberKind::Float),
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.DoubleConverter",
        Builtin::Number(NumberKind::Double),
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.converters.BooleanConverter",
        Builtin::Boolean,
        true,
        true,
    ),
    (
        "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        Builtin::SimpleHeader,
        false,
        true,
    ),
];

/// Finds a built-in by full class name, simple name, or simple name without its `Converter`
/// (or, for header-only classes, `HeaderConverter`) suffix, as Kafka's plugin aliases (§4.2).
/// Returns (full class name, builtin, is converter, is header converter).
fn resolve(class: &str) -> Option<(&'static str, Builtin, bool, bool)> {
    tributary_connector_api::alias::resolve(
        BUILTINS.iter().copied(),
        |&(full, _, conv, _)| (full, if conv { "Converter" } else { "HeaderConverter" }),
        class,
    )
    .found()
}

/// The full class name a class name or alias refers to, if it is a built-in converter.
pub fn resolve_class(class: &str) -> Option<&'static str> {
    resolve(class).map(|(full, ..)| full)
}

fn kind_name(is_key: bool) -> &'static str {
    if is_key {
        "key"
    } else {
        "value"
    }
}

/// Builds a key or value converter from its class name or alias (full Java class name,
/// simple name, or simple name without `Converter`: `org.apache.kafka.connect.json.JsonConverter`,
/// `JsonConverter`, `Json`) and its own config (prefix already stripped).
pub fn create_converter(
    class: &str,
    config: &BTreeMap<String, String>,
    is_key: bool,
) -> Result<Box<dyn Converter>, ConverterError> {
    let (full, builtin, conv, _) =
        resolve(class).ok_or_else(|| ConverterError::UnknownClass(class.trim().to_owned()))?;
    if !conv {
        return Err(ConverterError::config(
            "converter.type",
            format!(
                "{full} is a header converter only and cannot convert record {}s",
                kind_name(is_key)
            ),
        ));
    }
    Ok(match builtin {
        Builtin::Json => Box::new(JsonConverter::new(config)?),
        Builtin::String => Box::new(StringConverter::new(config)?),
        Builtin::ByteArray => Box::new(ByteArrayConverter::new(config)?),
        Builtin::Number(kind) => Box::new(NumberConverter::new(kind, config)?),
        Builtin::Boolean => Box::new(BooleanConverter::new(config)?),
        Builtin::SimpleHeader => {
            return Err(ConverterError::UnknownClass(class.trim().to_owned()));
        }
    })
}

/// Builds a header converter from its class name or alias (`SimpleHeaderConverter` / `Simple`,
/// `StringConverter` / `String`, `JsonConverter` / `Json`, …) and its own config.
pub fn create_header_converter(
    class: &str,
    config: &BTreeMap<String, String>,
) -> Result<Box<dyn HeaderConverter>, ConverterError> {
    let (_, builtin, _, header) =
        resolve(class).ok_or_else(|| ConverterError::UnknownClass(class.trim().to_owned()))?;
    if !header {
        return Err(ConverterError::UnknownClass(class.trim().to_owned()));
    }
    Ok(match builtin {
        Builtin::Json => Box::new(JsonConverter::new(config)?),
        Builtin::String => Box::new(StringConverter::new(config)?),
        Builtin::ByteArray => Box::new(ByteArrayConverter::new(config)?),
        Builtin::Number(kind) => Box::new(NumberConverter::new(kind, config)?),
        Builtin::Boolean => Box::new(BooleanConverter::new(config)?),
        Builtin::SimpleHeader => Box::new(SimpleHeaderConverter::new(config)?),
    })
}

/// `(class name, "converter" | "header_converter")` of every built-in, as listed by
/// `GET /connector-plugins?connectorsOnly=false`. A class that is both appears twice.
pub fn builtin_plugins() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::with_capacity(BUILTINS.len() * 2);
    for &(class, _, conv, _) in BUILTINS {
        if conv {
            out.push((class, "converter"));
        }
    }
    for &(class, _, _, header) in BUILTINS {
        if header {
            out.push((class, "header_converter"));
        }
    }
    out
}

/// Validates a key/value converter's config without building it: `Err(UnknownClass)` for an
/// unknown class, else every `(key, message)` problem (empty when valid), e.g. an unknown
/// `decimal.format`. Keys are the converter's own (unprefixed) keys.
pub fn validate_converter_config(
    class: &str,
    config: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ConverterError> {
    let (full, builtin, conv, _) =
        resolve(class).ok_or_else(|| ConverterError::UnknownClass(class.trim().to_owned()))?;
    let mut errors = validate_builtin(builtin, config);
    if !conv {
        errors.push((
            "converter.type".to_owned(),
            format!("{full} is a header converter only and cannot convert record keys or values"),
        ));
    }
    Ok(errors)
}

/// Validates a header converter's config without building it (see
/// [`validate_converter_config`]).
pub fn validate_header_converter_config(
    class: &str,
    config: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ConverterError> {
    let (_, builtin, _, header) =
        resolve(class).ok_or_else(|| ConverterError::UnknownClass(class.trim().to_owned()))?;
    if !header {
        return Err(ConverterError::UnknownClass(class.trim().to_owned()));
    }
    Ok(validate_builtin(builtin, config))
}

fn validate_builtin(builtin: Builtin, config: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut reader = ConfigReader::new(config);
    match builtin {
        Builtin::Json => {
            JsonConverterConfig::read(&mut reader);
        }
        Builtin::String => {
            string::read_config(&mut reader);
        }
        Builtin::ByteArray | Builtin::Number(_) | Builtin::Boolean | Builtin::SimpleHeader => {
            reader.converter_type();
        }
    }
    reader.errors
}

/// The config keys a built-in converter accepts (for `GET /connector-plugins/<class>/config`).
pub fn converter_config_def(class: &str) -> Result<ConfigDef, ConverterError> {
    let (_, builtin, ..) =
        resolve(class).ok_or_else(|| ConverterError::UnknownClass(class.trim().to_owned()))?;
    let converter_type = ConfigKey::new(
        "converter.type",
        ConfigType::String,
        ConfigDefault::Null,
        Importance::Low,
        "How this converter will be used: key, value or header (set by the worker).",
    )
    .validator(Validator::OneOf(
        vec!["key".into(), "value".into(), "header".into()],
        true,
    ));
    let def = ConfigDef::new().define(converter_type);
    Ok(match builtin {
        Builtin::Json => def
            .define(ConfigKey::new(
                json::SCHEMAS_ENABLE,
                ConfigType::Boolean,
                ConfigDefault::Value("true".into()),
                Importance::High,
                "Include schemas within each of the serialized values and keys.",
            ))
            .define(
                ConfigKey::new(
                    json::SCHEMAS_CACHE_SIZE,
                    ConfigType::Int,
                    ConfigDefault::Value("1000".into()),
                    Importance::High,
                    "The maximum number of schemas that can be cached in this converter instance.",
                )
                .validator(Validator::AtLeast(0.0)),
            )
            .define(
                ConfigKey::new(
                    json::DECIMAL_FORMAT,
                    ConfigType::String,
                    ConfigDefault::Value("BASE64".into()),
                    Importance::Low,
                    "Serialization format for Connect Decimal values: BASE64 (base64 of the \
                     unscaled two's-complement bytes) or NUMERIC (a JSON number).",
                )
                .validator(Validator::OneOf(
                    vec!["BASE64".into(), "NUMERIC".into()],
                    true,
                )),
            )
            .define(ConfigKey::new(
                json::REPLACE_NULL_WITH_DEFAULT,
                ConfigType::Boolean,
                ConfigDefault::Value("true".into()),
                Importance::Low,
                "Whether a null field with a schema default is written and read as that default.",
            )),
        Builtin::String => def
            .define(ConfigKey::new(
                string::ENCODING,
                ConfigType::String,
                ConfigDefault::Value("UTF-8".into()),
                Importance::High,
                "The character encoding used to convert between strings and bytes.",
            ))
            .define(ConfigKey::new(
                string::SERIALIZER_ENCODING,
                ConfigType::String,
                ConfigDefault::Null,
                Importance::Low,
                "Overrides converter.encoding when writing.",
            ))
            .define(ConfigKey::new(
                string::DESERIALIZER_ENCODING,
                ConfigType::String,
                ConfigDefault::Null,
                Importance::Low,
                "Overrides converter.encoding when reading.",
            )),
        Builtin::ByteArray | Builtin::Number(_) | Builtin::Boolean | Builtin::SimpleHeader => def,
    })
}

/// Reads typed converter settings, collecting every problem.
pub(crate) struct ConfigReader<'a> {
    config: &'a BTreeMap<String, String>,
    pub(crate) errors: Vec<(String, String)>,
}

impl<'a> ConfigReader<'a> {
    pub(crate) fn new(config: &'a BTreeMap<String, String>) -> ConfigReader<'a> {
        ConfigReader {
            config,
            errors: Vec::new(),
        }
    }

    pub(crate) fn raw(&self, key: &str) -> Option<&'a str> {
        self.config.get(key).map(|s| s.trim())
    }

    pub(crate) fn error(&mut self, key: &str, message: String) {
        self.errors.push((key.to_owned(), message));
    }

    pub(crate) fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.raw(key) {
            None => default,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.error(key, format!("'{v}' is not a boolean; use true or false"));
                default
            }
        }
    }

    pub(crate) fn int(&mut self, key: &str, default: i32, min: i32) -> i32 {
        match self.raw(key) {
            None => default,
            Some(v) => match v.parse::<i32>() {
                Ok(n) if n >= min => n,
                Ok(n) => {
                    self.error(key, format!("{n} is too small; it must be at least {min}"));
                    default
                }
                Err(_) => {
                    self.error(key, format!("'{v}' is not a 32-bit integer"));
                    default
                }
            },
        }
    }

    /// Validates `converter.type` (set by the worker: key, value or header).
    pub(crate) fn converter_type(&mut self) -> Option<&'a str> {
        let v = self.raw("converter.type")?;
        if ["key", "value", "header"]
            .iter()
            .any(|k| v.eq_ignore_ascii_case(k))
        {
            Some(v)
        } else {
            self.error(
                "converter.type",
                format!("'{v}' is not a converter type; use key, value or header"),
            );
            None
        }
    }

    /// The first problem as an error, if any.
    pub(crate) fn finish(mut self) -> Result<(), ConverterError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            let (key, message) = self.errors.swap_remove(0);
            Err(ConverterError::Config { key, message })
        }
    }
}

/// Where in a value a problem was found, rendered as `order.items[2].name` in messages.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    MapKey(&'a Path<'a>, usize),
    MapValue(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self, out: &mut String) {
        match *self {
            Path::Root => {}
            Path::Field(parent, name) => {
                parent.render(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Path::Index(parent, i) => {
                parent.render(out);
                out.push_str(&format!("[{i}]"));
            }
            Path::MapKey(parent, i) => {
                parent.render(out);
                out.push_str(&format!("[key #{i}]"));
            }
            Path::MapValue(parent, i) => {
                parent.render(out);
                out.push_str(&format!("[value #{i}]"));
            }
        }
    }

    /// ` for field 'a.b'` or, at the top level, an empty string.
    pub(crate) fn describe(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        if s.is_empty() {
            s
        } else {
            format!(" for field '{s}'")
        }
    }
}

/// A short name for a value's variant, for messages.
pub(crate) fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int8(_) => "int8",
        Value::Int16(_) => "int16",
        Value::Int32(_) => "int32",
        Value::Int64(_) => "int64",
        Value::Float32(_) => "float32",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Struct(_) => "struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn aliases_resolve_full_simple_and_short_names() {
        let json = "org.apache.kafka.connect.json.JsonConverter";
        for name in [json, "JsonConverter", "Json", " Json "] {
            assert_eq!(resolve_class(name), Some(json), "{name}");
        }
        let string = "org.apache.kafka.connect.storage.StringConverter";
        for name in [string, "StringConverter", "String"] {
            assert_eq!(resolve_class(name), Some(string));
        }
        let simple = "org.apache.kafka.connect.storage.SimpleHeaderConverter";
        for name in [simple, "SimpleHeaderConverter", "Simple"] {
            assert_eq!(resolve_class(name), Some(simple));
        }
        assert_eq!(
            resolve_class("ByteArray"),
            Some("org.apache.kafka.connect.converters.ByteArrayConverter")
        );
        assert_eq!(
            resolve_class("Long"),
            Some("org.apache.kafka.connect.converters.LongConverter")
        );
        assert_eq!(resolve_class("SimpleHeader"), None);
        assert_eq!(
            resolve_class("json"),
            None,
            "class names are case-sensitive"
        );
        assert_eq!(resolve_class(""), None);
    }

    #[test]
    fn create_by_alias_and_unknown_class() {
        let empty = BTreeMap::new();
        for name in [
            "org.apache.kafka.connect.json.JsonConverter",
            "JsonConverter",
            "Json",
            "String",
            "ByteArrayConverter",
            "Integer",
            "Short",
            "Float",
            "Double",
            "Boolean",
        ] {
            assert!(create_converter(name, &empty, false).is_ok(), "{name}");
            assert!(create_header_converter(name, &empty).is_ok(), "{name}");
        }
        assert!(create_header_converter("Simple", &empty).is_ok());
        assert!(create_header_converter("SimpleHeaderConverter", &empty).is_ok());

        let err = create_converter("io.confluent.connect.avro.AvroConverter", &empty, false)
            .err()
            .unwrap();
        assert_eq!(
            err,
            ConverterError::UnknownClass("io.confluent.connect.avro.AvroConverter".into())
        );
        assert!(err
            .to_string()
            .contains("io.confluent.connect.avro.AvroConverter"));
        assert_eq!(
            create_header_converter("Nope", &empty).err().unwrap(),
            ConverterError::UnknownClass("Nope".into())
        );
        match create_converter("Simple", &empty, true).err().unwrap() {
            ConverterError::Config { key, message } => {
                assert_eq!(key, "converter.type");
                assert!(message.contains("header converter only"), "{message}");
                assert!(message.contains("keys"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_config_names_the_key() {
        let err = create_converter("Json", &cfg(&[("decimal.format", "HEX")]), false)
            .err()
            .unwrap();
        match &err {
            ConverterError::Config { key, message } => {
                assert_eq!(key, "decimal.format");
                assert!(message.contains("HEX"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("decimal.format"));
        let err = create_converter("Json", &cfg(&[("schemas.enable", "yes")]), false)
            .err()
            .unwrap();
        assert!(matches!(err, ConverterError::Config { ref key, .. } if key == "schemas.enable"));
        let err = create_converter("String", &cfg(&[("converter.encoding", "EBCDIC")]), false)
            .err()
            .unwrap();
        assert!(
            matches!(err, ConverterError::Config { ref key, .. } if key == "converter.encoding")
        );
        let err = create_converter("Long", &cfg(&[("converter.type", "body")]), false)
            .err()
            .unwrap();
        assert!(matches!(err, ConverterError::Config { ref key, .. } if key == "converter.type"));
    }

    #[test]
    fn validate_reports_every_problem() {
        let errors = validate_converter_config(
            "Json",
            &cfg(&[
                ("decimal.format", "hex"),
                ("schemas.cache.size", "many"),
                ("replace.null.with.default", "maybe"),
                ("schemas.enable", "TRUE"),
                ("unknown.key", "ignored"),
            ]),
        )
        .unwrap();
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "schemas.cache.size",
                "decimal.format",
                "replace.null.with.default"
            ]
        );
        assert!(
            validate_converter_config("Json", &cfg(&[("decimal.format", "numeric")]))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            validate_converter_config("Simple", &BTreeMap::new())
                .unwrap()
                .len(),
            1
        );
        assert!(validate_header_converter_config("Simple", &BTreeMap::new())
            .unwrap()
            .is_empty());
        assert!(matches!(
            validate_converter_config("Avro", &BTreeMap::new()),
            Err(ConverterError::UnknownClass(_))
        ));
    }

    #[test]
    fn plugin_list_has_both_kinds() {
        let plugins = builtin_plugins();
        assert!(plugins.contains(&("org.apache.kafka.connect.json.JsonConverter", "converter")));
        assert!(plugins.contains(&(
            "org.apache.kafka.connect.json.JsonConverter",
            "header_converter"
        )));
        assert!(plugins.contains(&(
            "org.apache.kafka.connect.storage.StringConverter",
            "header_converter"
        )));
        assert!(plugins.contains(&(
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "header_converter"
        )));
        assert!(!plugins.contains(&(
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "converter"
        )));
        assert_eq!(plugins.len(), 19);
    }

    #[test]
    fn config_defs_list_keys() {
        let def = converter_config_def("Json").unwrap();
        for key in [
            "schemas.enable",
            "schemas.cache.size",
            "decimal.format",
            "replace.null.with.default",
            "converter.type",
        ] {
            assert!(def.key(key).is_some(), "{key}");
        }
        assert!(converter_config_def("String")
            .unwrap()
            .key("converter.encoding")
            .is_some());
        assert!(converter_config_def("Avro").is_err());
    }

    #[test]
    fn paths_render() {
        let root = Path::Root;
        assert_eq!(root.describe(), "");
        let f = Path::Field(&root, "order");
        let i = Path::Index(&f, 2);
        let g = Path::Field(&i, "name");
        assert_eq!(g.describe(), " for field 'order[2].name'");
        let mv = Path::MapValue(&f, 0);
        assert_eq!(mv.describe(), " for field 'order[value #0]'");
    }
}
