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
use std::sync::LazyLock;

use tributary_connector_api::alias::{self, Resolution};
use tributary_connector_api::ComponentKind;

use tributary_connector_api::config::Default as ConfigDefault;
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigType, Importance, Props, Validator, Value,
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

pub use tributary_connector_api::converter::{
    ConnectData, Connected, Converter, ConverterError, HeaderConverter, RawData,
};

/// Builds a key/value converter from its own config and whether it converts keys.
pub type NewConverter = fn(&Props, bool) -> Result<Box<dyn Converter>, ConverterError>;
/// Builds a header converter from its own config.
pub type NewHeaderConverter = fn(&Props) -> Result<Box<dyn HeaderConverter>, ConverterError>;

/// How to build an entry's converter.
#[derive(Clone, Copy)]
pub enum Constructor {
    Converter(NewConverter),
    HeaderConverter(NewHeaderConverter),
}

/// One registered converter class and kind. A class that is both a converter and a header
/// converter has two entries.
#[derive(Clone, Copy)]
pub struct ConverterEntry {
    pub class: &'static str,
    /// [`ComponentKind::Converter`] or [`ComponentKind::HeaderConverter`].
    pub kind: ComponentKind,
    /// The class's keys and defaults: the only copy (the converter reads its config with it).
    pub config_def: fn() -> ConfigDef,
    pub new: Constructor,
}

macro_rules! builtin {
    ($class:literal, $def:path, $make:expr) => {
        [
            ConverterEntry {
                class: $class,
                kind: ComponentKind::Converter,
                config_def: $def,
                new: Constructor::Converter(|c, _is_key| Ok(Box::new($make(c)?))),
            },
            ConverterEntry {
                class: $class,
                kind: ComponentKind::HeaderConverter,
                config_def: $def,
                new: Constructor::HeaderConverter(|c| Ok(Box::new($make(c)?))),
            },
        ]
    };
}

/// Every built-in converter and header converter (connect-compat §5).
pub fn builtins() -> &'static [ConverterEntry] {
    static ALL: LazyLock<Vec<ConverterEntry>> = LazyLock::new(|| {
        let groups: [[ConverterEntry; 2]; 9] = [
            builtin!(
                "org.apache.kafka.connect.json.JsonConverter",
                json::config_def,
                JsonConverter::new
            ),
            builtin!(
                "org.apache.kafka.connect.storage.StringConverter",
                string::config_def,
                StringConverter::new
            ),
            builtin!(
                "org.apache.kafka.connect.converters.ByteArrayConverter",
                base_def,
                ByteArrayConverter::new
            ),
            builtin!(
                "org.apache.kafka.connect.converters.LongConverter",
                base_def,
                |c| NumberConverter::new(NumberKind::Long, c)
            ),
            builtin!(
                "org.apache.kafka.connect.converters.IntegerConverter",
                base_def,
                |c| NumberConverter::new(NumberKind::Integer, c)
            ),
            builtin!(
                "org.apache.kafka.connect.converters.ShortConverter",
                base_def,
                |c| NumberConverter::new(NumberKind::Short, c)
            ),
            builtin!(
                "org.apache.kafka.connect.converters.FloatConverter",
                base_def,
                |c| NumberConverter::new(NumberKind::Float, c)
            ),
            builtin!(
                "org.apache.kafka.connect.converters.DoubleConverter",
                base_def,
                |c| NumberConverter::new(NumberKind::Double, c)
            ),
            builtin!(
                "org.apache.kafka.connect.converters.BooleanConverter",
                base_def,
                BooleanConverter::new
            ),
        ];
        let mut all: Vec<ConverterEntry> = groups.into_iter().flatten().collect();
        all.push(ConverterEntry {
            class: "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            kind: ComponentKind::HeaderConverter,
            config_def: base_def,
            new: Constructor::HeaderConverter(|c| Ok(Box::new(SimpleHeaderConverter::new(c)?))),
        });
        all
    });
    &ALL
}

/// The `converter.type` key every converter accepts (set by the worker).
pub fn base_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(
            "converter.type",
            ConfigType::String,
            ConfigDefault::Null,
            Importance::Low,
            "How this converter will be used: key, value or header (set by the worker).",
        )
        .validator(Validator::OneOf(
            vec!["key".into(), "value".into(), "header".into()],
            true,
        )),
    )
}

/// Finds a class of `kind` among `entries` by full class name, simple name, or simple name
/// without its kind's suffix (`Converter`, `HeaderConverter`), as Kafka's plugin aliases
/// (§4.2). A name matching several classes is ambiguous and finds none.
pub fn find_in<'a>(
    entries: impl IntoIterator<Item = &'a ConverterEntry>,
    kind: ComponentKind,
    name: &str,
) -> Resolution<&'a ConverterEntry> {
    alias::resolve(
        entries.into_iter().filter(|e| e.kind == kind),
        |e| (e.class, e.kind.alias_suffix(e.class)),
        name,
    )
}

fn find(name: &str, kind: ComponentKind) -> Result<&'static ConverterEntry, ConverterError> {
    find_in(builtins(), kind, name)
        .found()
        .ok_or_else(|| ConverterError::UnknownClass(name.trim().to_owned()))
}

/// The full class name a class name or alias refers to, if it is a built-in converter or
/// header converter.
pub fn resolve_class(class: &str) -> Option<&'static str> {
    find(class, ComponentKind::Converter)
        .or_else(|_| find(class, ComponentKind::HeaderConverter))
        .ok()
        .map(|e| e.class)
}

fn kind_name(is_key: bool) -> &'static str {
    if is_key {
        "key"
    } else {
        "value"
    }
}

impl ConverterEntry {
    /// Builds this entry's key/value converter.
    pub fn converter(
        &self,
        config: &Props,
        is_key: bool,
    ) -> Result<Box<dyn Converter>, ConverterError> {
        match self.new {
            Constructor::Converter(new) => new(config, is_key),
            Constructor::HeaderConverter(_) => Err(ConverterError::config(
                "converter.type",
                format!(
                    "{} is a header converter only and cannot convert record {}s",
                    self.class,
                    kind_name(is_key)
                ),
            )),
        }
    }

    /// Builds this entry's header converter.
    pub fn header_converter(
        &self,
        config: &Props,
    ) -> Result<Box<dyn HeaderConverter>, ConverterError> {
        match self.new {
            Constructor::HeaderConverter(new) => new(config),
            Constructor::Converter(_) => Err(ConverterError::UnknownClass(self.class.to_owned())),
        }
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
    match find(class, ComponentKind::Converter) {
        Ok(entry) => entry.converter(config, is_key),
        // A header-only class named as a key/value converter.
        Err(e) => match find(class, ComponentKind::HeaderConverter) {
            Ok(entry) => entry.converter(config, is_key),
            Err(_) => Err(e),
        },
    }
}

/// Builds a header converter from its class name or alias (`SimpleHeaderConverter` / `Simple`,
/// `StringConverter` / `String`, `JsonConverter` / `Json`, …) and its own config.
pub fn create_header_converter(
    class: &str,
    config: &BTreeMap<String, String>,
) -> Result<Box<dyn HeaderConverter>, ConverterError> {
    find(class, ComponentKind::HeaderConverter)?.header_converter(config)
}

/// `(class name, "converter" | "header_converter")` of every built-in, as listed by
/// `GET /connector-plugins?connectorsOnly=false`. A class that is both appears twice.
pub fn builtin_plugins() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = builtins()
        .iter()
        .map(|e| (e.class, e.kind.plugin_type()))
        .collect();
    out.sort_by_key(|(class, kind)| (*kind == "header_converter", *class));
    out
}

/// Validates a key/value converter's config without building it: `Err(UnknownClass)` for an
/// unknown class, else every `(key, message)` problem (empty when valid), e.g. an unknown
/// `decimal.format`. Keys are the converter's own (unprefixed) keys.
pub fn validate_converter_config(
    class: &str,
    config: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ConverterError> {
    let (entry, header_only) = match find(class, ComponentKind::Converter) {
        Ok(e) => (e, false),
        Err(e) => (
            find(class, ComponentKind::HeaderConverter).map_err(|_| e)?,
            true,
        ),
    };
    let mut errors = validate_entry(entry, config);
    if header_only {
        errors.push((
            "converter.type".to_owned(),
            format!(
                "{} is a header converter only and cannot convert record keys or values",
                entry.class
            ),
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
    Ok(validate_entry(
        find(class, ComponentKind::HeaderConverter)?,
        config,
    ))
}

/// Every problem of a built-in's config, read the way the converter reads it.
fn validate_entry(
    entry: &ConverterEntry,
    config: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut reader = ConfigReader::new(config, (entry.config_def)());
    match entry.class {
        "org.apache.kafka.connect.json.JsonConverter" => {
            JsonConverterConfig::read(&mut reader);
        }
        "org.apache.kafka.connect.storage.StringConverter" => {
            string::read_config(&mut reader);
        }
        _ => {
            reader.converter_type();
        }
    }
    reader.errors
}

/// The config keys a built-in converter accepts (for `GET /connector-plugins/<class>/config`).
pub fn converter_config_def(class: &str) -> Result<ConfigDef, ConverterError> {
    let entry = find(class, ComponentKind::Converter)
        .or_else(|_| find(class, ComponentKind::HeaderConverter))?;
    Ok((entry.config_def)())
}

/// Reads typed converter settings, collecting every problem.
pub(crate) struct ConfigReader<'a> {
    config: &'a BTreeMap<String, String>,
    /// The converter's keys: defaults and minimums come from here.
    def: ConfigDef,
    pub(crate) errors: Vec<(String, String)>,
}

impl<'a> ConfigReader<'a> {
    pub(crate) fn new(config: &'a BTreeMap<String, String>, def: ConfigDef) -> ConfigReader<'a> {
        ConfigReader {
            config,
            def,
            errors: Vec::new(),
        }
    }

    /// The declared default of `key` (a programming error if the key is not declared).
    fn default_of(&self, key: &str) -> Option<String> {
        match self.def.key(key).map(|k| &k.default) {
            Some(ConfigDefault::Value(v)) => Some(v.clone()),
            Some(_) => None,
            None => panic!("converter key {key} is not in its ConfigDef"),
        }
    }

    /// The value of `key`, else its declared default.
    pub(crate) fn raw_or_default(&self, key: &str) -> Option<String> {
        self.raw(key)
            .map(str::to_owned)
            .or_else(|| self.default_of(key))
    }

    pub(crate) fn raw(&self, key: &str) -> Option<&'a str> {
        self.config.get(key).map(|s| s.trim())
    }

    pub(crate) fn error(&mut self, key: &str, message: String) {
        self.errors.push((key.to_owned(), message));
    }

    pub(crate) fn bool(&mut self, key: &str) -> bool {
        let default = self
            .default_of(key)
            .is_some_and(|d| d.eq_ignore_ascii_case("true"));
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

    pub(crate) fn int(&mut self, key: &str) -> i32 {
        let default = self
            .default_of(key)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let min = match self.def.key(key).and_then(|k| k.validator.as_ref()) {
            Some(Validator::AtLeast(min)) => *min as i32,
            _ => i32::MIN,
        };
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
