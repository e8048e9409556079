//! `org.apache.kafka.connect.json.JsonConverter` (spec §5.1).
//!
//! With `schemas.enable=true` (the default) every record is an envelope
//! `{"schema":…,"payload":…}`; the schema JSON lists `type`, the type's own fields
//! (`items` | `keys`,`values` | `fields`), then `optional`, `name`, `version`, `doc`,
//! `parameters`, `default` (and `field` for struct fields), as Kafka writes it. Output is compact
//! (no spaces), strings are escaped as Jackson escapes them, floats are rendered as Java does
//! (`1.0`, `1.0E10`; NaN/Infinity as the strings `"NaN"`, `"Infinity"`), bytes as padded
//! standard base64.
//!
//! Writing is done straight into a byte buffer (no intermediate JSON tree) and checks every
//! value against its schema. The schema JSON is cached per schema instance on write and per
//! schema text on read (`schemas.cache.size` entries each).
//!
//! Decimals are written from the minimal two's-complement bytes (as Java's `BigInteger`), so
//! `[0, 0, 0xC2]` and `[0, 0xC2]` both give `"AMI="`. Schema `parameters` come out sorted by
//! key (Connect schemas here keep them in a sorted map; Java keeps insertion order).
//!
//! Differences from Kafka, all on invalid or unusual input: reading is strict where Jackson
//! silently coerces (a string where an int32 is expected is an error, not 0; an integer wider
//! than 64 bits is an error, not truncated; `"NaN"` for a float is NaN, not 0; text after the
//! JSON value is an error); a Struct written without a schema is written with its own schema,
//! and a Struct whose schema differs from the given one only in `optional` / `default` is
//! accepted (Kafka fails both with "Mismatching schema"). Empty input reads as null when
//! `schemas.enable=false` and is rejected as a missing envelope otherwise, as in Kafka.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tributary_connector_api::config::Default as ConfigDefault;
use tributary_connector_api::logical::{self, DECIMAL, TIME};
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigType, Field, Importance, Schema, SchemaRef, Struct, Type,
    Validator, Value,
};

use crate::converters::jsonparse::{self, dedup_by_key, Envelope, Json, Num};
use crate::converters::text::{self, push_int, push_json_str};
use crate::converters::{value_kind, ConfigReader, Converter, ConverterError, Path};
use tributary_connector_api::java_text::MILLIS_PER_DAY;

pub const SCHEMAS_ENABLE: &str = "schemas.enable";
pub const SCHEMAS_CACHE_SIZE: &str = "schemas.cache.size";
pub const DECIMAL_FORMAT: &str = "decimal.format";
pub const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// How Decimal values are written (`decimal.format`). Both forms are accepted on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled big-endian two's-complement bytes (`"AMI="`).
    Base64,
    /// A JSON number (`1.94`), as Java's `BigDecimal.toString`.
    Numeric,
}

/// The JsonConverter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonConverterConfig {
    pub schemas_enable: bool,
    pub schemas_cache_size: usize,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
}

/// JsonConverter's keys and defaults (the only copy: the config is read through it).
pub fn config_def() -> ConfigDef {
    super::base_def()
        .define(ConfigKey::new(
            SCHEMAS_ENABLE,
            ConfigType::Boolean,
            ConfigDefault::Value("true".into()),
            Importance::High,
            "Include schemas within each of the serialized values and keys.",
        ))
        .define(
            ConfigKey::new(
                SCHEMAS_CACHE_SIZE,
                ConfigType::Int,
                ConfigDefault::Value("1000".into()),
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance.",
            )
            .validator(Validator::AtLeast(0.0)),
        )
        .define(
            ConfigKey::new(
                DECIMAL_FORMAT,
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
            REPLACE_NULL_WITH_DEFAULT,
            ConfigType::Boolean,
            ConfigDefault::Value("true".into()),
            Importance::Low,
            "Whether a null field with a schema default is written and read as that default.",
        ))
}

impl Default for JsonConverterConfig {
    fn default() -> JsonConverterConfig {
        JsonConverterConfig {
            schemas_enable: true,
            schemas_cache_size: 1000,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

impl JsonConverterConfig {
    /// Reads the settings from a converter config (prefix stripped).
    pub fn from_props(
        config: &BTreeMap<String, String>,
    ) -> Result<JsonConverterConfig, ConverterError> {
        let mut reader = ConfigReader::new(config, config_def());
        let parsed = JsonConverterConfig::read(&mut reader);
        reader.finish()?;
        Ok(parsed)
    }

    pub(crate) fn read(reader: &mut ConfigReader<'_>) -> JsonConverterConfig {
        let schemas_enable = reader.bool(SCHEMAS_ENABLE);
        let schemas_cache_size = reader.int(SCHEMAS_CACHE_SIZE) as usize;
        let decimal_format = match reader.raw_or_default(DECIMAL_FORMAT) {
            Some(v) if v.eq_ignore_ascii_case("BASE64") => DecimalFormat::Base64,
            Some(v) if v.eq_ignore_ascii_case("NUMERIC") => DecimalFormat::Numeric,
            None => DecimalFormat::Base64,
            Some(v) => {
                reader.error(
                    DECIMAL_FORMAT,
                    format!("'{v}' is not a decimal format; use BASE64 or NUMERIC"),
                );
                DecimalFormat::Base64
            }
        };
        let replace_null_with_default = reader.bool(REPLACE_NULL_WITH_DEFAULT);
        reader.converter_type();
        JsonConverterConfig {
            schemas_enable,
            schemas_cache_size,
            decimal_format,
            replace_null_with_default,
        }
    }
}

/// Kafka's JsonConverter; also a header converter.
pub struct JsonConverter {
    config: JsonConverterConfig,
    /// Schema JSON by schema instance (the `Arc` is kept so its address stays unique).
    write_cache: Mutex<HashMap<usize, (SchemaRef, Box<str>)>>,
    /// Schemas by the exact text of their JSON.
    read_cache: Mutex<HashMap<Box<str>, SchemaRef>>,
    /// The last schema read, tried first (most topics carry one schema).
    last_read: Mutex<Option<(Arc<str>, SchemaRef)>>,
    /// Size of the last output, to size the next buffer.
    size_hint: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ser(message: String) -> ConverterError {
    ConverterError::Serialize(message)
}

impl JsonConverter {
    /// Builds the converter from its config (prefix stripped).
    pub fn new(config: &BTreeMap<String, String>) -> Result<JsonConverter, ConverterError> {
        Ok(JsonConverter::with_config(JsonConverterConfig::from_props(
            config,
        )?))
    }

    pub fn with_config(config: JsonConverterConfig) -> JsonConverter {
        JsonConverter {
            config,
            write_cache: Mutex::new(HashMap::new()),
            read_cache: Mutex::new(HashMap::new()),
            last_read: Mutex::new(None),
            size_hint: AtomicUsize::new(64),
        }
    }

    pub fn config(&self) -> &JsonConverterConfig {
        &self.config
    }

    /// The schema's JSON, as written inside the envelope.
    pub fn schema_to_json(&self, schema: &SchemaRef) -> Result<String, ConverterError> {
        let mut w = Writer::new(&self.config, 256);
        w.schema(schema, None)?;
        Ok(w.out)
    }

    /// Parses a schema from its envelope JSON (`null` → `None`).
    pub fn schema_from_json(&self, json: &str) -> Result<Option<SchemaRef>, ConverterError> {
        self.cached_schema(json)
    }

    fn push_schema(&self, w: &mut Writer<'_>, schema: &SchemaRef) -> Result<(), ConverterError> {
        if self.config.schemas_cache_size == 0 {
            return w.schema(schema, None);
        }
        let key = Arc::as_ptr(schema) as usize;
        if let Some((_, text)) = lock(&self.write_cache).get(&key) {
            w.out.push_str(text);
            return Ok(());
        }
        let start = w.out.len();
        w.schema(schema, None)?;
        let text: Box<str> = w.out[start..].into();
        let mut cache = lock(&self.write_cache);
        if cache.len() >= self.config.schemas_cache_size {
            cache.clear();
        }
        cache.insert(key, (schema.clone(), text));
        Ok(())
    }

    fn cached_schema(&self, text: &str) -> Result<Option<SchemaRef>, ConverterError> {
        if text == "null" {
            return Ok(None);
        }
        if let Some(schema) = lock(&self.read_cache).get(text) {
            return Ok(Some(schema.clone()));
        }
        let json = jsonparse::parse(text.as_bytes())
            .map_err(ConverterError::Deserialize)?
            .unwrap_or(Json::Null);
        let reader = Reader { cfg: &self.config };
        let schema = match json {
            Json::Null => return Ok(None),
            json => reader
                .schema(&json)
                .map_err(|e| ConverterError::Deserialize(format!("invalid schema: {e}")))?,
        };
        if self.config.schemas_cache_size > 0 {
            let mut cache = lock(&self.read_cache);
            if cache.len() >= self.config.schemas_cache_size {
                cache.clear();
            }
            cache.insert(text.into(), schema.clone());
        }
        Ok(Some(schema))
    }

    /// The schema of an envelope, trying the last one read first.
    fn envelope_schema(
        &self,
        text: &str,
        last: Option<(Arc<str>, SchemaRef)>,
    ) -> Result<Option<SchemaRef>, ConverterError> {
        if let Some((last_text, schema)) = last {
            if *last_text == *text {
                return Ok(Some(schema));
            }
        }
        let schema = self.cached_schema(text)?;
        if let Some(schema) = &schema {
            if self.config.schemas_cache_size > 0 {
                *lock(&self.last_read) = Some((Arc::from(text), schema.clone()));
            }
        }
        Ok(schema)
    }
}

impl Converter for JsonConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let mut w = Writer::new(&self.config, self.size_hint.load(Ordering::Relaxed));
        if self.config.schemas_enable {
            w.out.push_str("{\"schema\":");
            match schema {
                Some(s) => self.push_schema(&mut w, s)?,
                None => w.out.push_str("null"),
            }
            w.out.push_str(",\"payload\":");
            w.value(schema, value, &Path::Root)?;
            w.out.push('}');
        } else {
            w.value(schema, value, &Path::Root)?;
        }
        self.size_hint.store(w.out.len() + 16, Ordering::Relaxed);
        Ok(Some(w.out.into_bytes()))
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let Some(bytes) = bytes else {
            return Ok((None, Value::Null));
        };
        let reader = Reader { cfg: &self.config };
        if !self.config.schemas_enable {
            let value = jsonparse::parse_schemaless(bytes).map_err(ConverterError::Deserialize)?;
            return Ok((None, value));
        }
        let not_envelope = |what: &str| {
            ConverterError::Deserialize(format!(
                "with schemas.enable=true the JSON must be an envelope, an object with exactly \
                 the two fields \"schema\" and \"payload\", but this is {what}; if the data is \
                 plain JSON without an envelope, set schemas.enable=false in the converter \
                 configuration"
            ))
        };
        let last = lock(&self.last_read).clone();
        let known = last.as_ref().map(|(text, _)| &**text);
        match jsonparse::parse_envelope(bytes, known).map_err(ConverterError::Deserialize)? {
            Envelope::Empty => Err(not_envelope("empty")),
            Envelope::Other(what) => Err(not_envelope(&what)),
            Envelope::Found { schema, payload } => {
                let schema = self.envelope_schema(schema, last)?;
                let value = reader
                    .value(schema.as_ref(), payload, &Path::Root)
                    .map_err(ConverterError::Deserialize)?;
                Ok((schema, value))
            }
        }
    }
}

/// The JSON `type` of a Connect type (`float`/`double` for the floats).
fn json_type_name(t: Type) -> &'static str {
    match t {
        Type::Float32 => "float",
        Type::Float64 => "double",
        other => other.name(),
    }
}

/// Describes the schema's type for messages: `int64`, `bytes (org.apache…Decimal)`.
fn describe_schema(schema: &Schema) -> String {
    match &schema.name {
        Some(name) => format!("{} ({name})", schema.type_.name()),
        None => schema.type_.name().to_owned(),
    }
}

fn mismatch(schema: &Schema, value: &Value, path: &Path<'_>) -> ConverterError {
    let value_kind = value_kind(value);
    let expected = schema.type_.name();
    ser(format!(
        "invalid value{}: schema type {} requires {} {expected} value, but found {} {value_kind}",
        path.describe(),
        describe_schema(schema),
        article(expected),
        article(value_kind),
    ))
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Whether a struct value may be written with `schema`: its own schema is the same one, or
/// differs only in `optional` / `default` (so a struct can be the default of its own schema).
fn same_struct_schema(own: &SchemaRef, schema: &SchemaRef) -> bool {
    Arc::ptr_eq(own, schema)
        || **own == **schema
        || (own.fields == schema.fields
            && own.name == schema.name
            && own.version == schema.version
            && own.doc == schema.doc
            && own.parameters == schema.parameters)
}

/// Writes Connect data as JSON text.
struct Writer<'c> {
    cfg: &'c JsonConverterConfig,
    out: String,
}

impl<'c> Writer<'c> {
    fn new(cfg: &'c JsonConverterConfig, capacity: usize) -> Writer<'c> {
        Writer {
            cfg,
            out: String::with_capacity(capacity),
        }
    }

    fn push_f32(&mut self, v: f32) {
        if v.is_finite() {
            text::push_java_f32(&mut self.out, v);
        } else {
            self.out.push('"');
            text::push_java_f32(&mut self.out, v);
            self.out.push('"');
        }
    }

    fn push_f64(&mut self, v: f64) {
        if v.is_finite() {
            text::push_java_f64(&mut self.out, v);
        } else {
            self.out.push('"');
            text::push_java_f64(&mut self.out, v);
            self.out.push('"');
        }
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        self.out.push('"');
        text::push_base64(&mut self.out, bytes);
        self.out.push('"');
    }

    /// A schema's JSON; `field` adds the struct field name last.
    fn schema(&mut self, schema: &SchemaRef, field: Option<&str>) -> Result<(), ConverterError> {
        let missing = |what: &str| {
            ser(format!(
                "malformed {} schema: it has no {what} schema",
                schema.type_.name()
            ))
        };
        self.out.push_str("{\"type\":\"");
        self.out.push_str(json_type_name(schema.type_));
        self.out.push('"');
        match schema.type_ {
            Type::Array => {
                let items = schema
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| missing("item"))?;
                self.out.push_str(",\"items\":");
                self.schema(items, None)?;
            }
            Type::Map => {
                let keys = schema.key_schema.as_ref().ok_or_else(|| missing("key"))?;
                let values = schema
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| missing("value"))?;
                self.out.push_str(",\"keys\":");
                self.schema(keys, None)?;
                self.out.push_str(",\"values\":");
                self.schema(values, None)?;
            }
            Type::Struct => {
                self.out.push_str(",\"fields\":[");
                for (i, f) in schema.fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.schema(&f.schema, Some(&f.name))?;
                }
                self.out.push(']');
            }
            _ => {}
        }
        self.out.push_str(if schema.optional {
            ",\"optional\":true"
        } else {
            ",\"optional\":false"
        });
        if let Some(name) = &schema.name {
            self.out.push_str(",\"name\":");
            push_json_str(&mut self.out, name);
        }
        if let Some(version) = schema.version {
            self.out.push_str(",\"version\":");
            push_int(&mut self.out, i64::from(version));
        }
        if let Some(doc) = &schema.doc {
            self.out.push_str(",\"doc\":");
            push_json_str(&mut self.out, doc);
        }
        if let Some(params) = &schema.parameters {
            self.out.push_str(",\"parameters\":{");
            for (i, (k, v)) in params.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                push_json_str(&mut self.out, k);
                self.out.push(':');
                push_json_str(&mut self.out, v);
            }
            self.out.push('}');
        }
        if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
            self.out.push_str(",\"default\":");
            let name = field.unwrap_or("default");
            let path = Path::Field(&Path::Root, name);
            self.value(Some(schema), default, &path)
                .map_err(|e| match e {
                    ConverterError::Serialize(m) => ser(format!("invalid schema default: {m}")),
                    other => other,
                })?;
        }
        if let Some(name) = field {
            self.out.push_str(",\"field\":");
            push_json_str(&mut self.out, name);
        }
        self.out.push('}');
        Ok(())
    }

    /// A value, checked against its schema (or inferred from the value when there is none).
    fn value(
        &mut self,
        schema: Option<&SchemaRef>,
        value: &Value,
        path: &Path<'_>,
    ) -> Result<(), ConverterError> {
        let Some(schema) = schema else {
            return self.schemaless(value, path);
        };
        if value.is_null() {
            if self.cfg.replace_null_with_default {
                if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
                    return self.value(Some(schema), default, path);
                }
            }
            if schema.optional {
                self.out.push_str("null");
                return Ok(());
            }
            return Err(ser(format!(
                "null value{} but the schema ({}) is required and has no default",
                path.describe(),
                describe_schema(schema)
            )));
        }
        if schema.name.is_some() && self.logical(schema, value, path)? {
            return Ok(());
        }
        match (schema.type_, value) {
            (Type::Int8, Value::Int8(v)) => push_int(&mut self.out, i64::from(*v)),
            (Type::Int16, Value::Int16(v)) => push_int(&mut self.out, i64::from(*v)),
            (Type::Int32, Value::Int32(v)) => push_int(&mut self.out, i64::from(*v)),
            (Type::Int64, Value::Int64(v)) => push_int(&mut self.out, *v),
            (Type::Float32, Value::Float32(v)) => self.push_f32(*v),
            (Type::Float64, Value::Float64(v)) => self.push_f64(*v),
            (Type::Boolean, Value::Boolean(b)) => {
                self.out.push_str(if *b { "true" } else { "false" })
            }
            (Type::String, Value::String(s)) => push_json_str(&mut self.out, s),
            (Type::Bytes, Value::Bytes(b)) => self.push_bytes(b),
            (Type::Array, Value::Array(items)) => {
                let item_schema = schema.value_schema.as_ref().ok_or_else(|| {
                    ser(format!(
                        "malformed array schema{}: no item schema",
                        path.describe()
                    ))
                })?;
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.value(Some(item_schema), item, &Path::Index(path, i))?;
                }
                self.out.push(']');
            }
            (Type::Map, Value::Map(entries)) => {
                let (Some(ks), Some(vs)) = (&schema.key_schema, &schema.value_schema) else {
                    return Err(ser(format!(
                        "malformed map schema{}: no key or value schema",
                        path.describe()
                    )));
                };
                if ks.type_ == Type::String {
                    self.out.push('{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        match k {
                            Value::String(k) => push_json_str(&mut self.out, k),
                            other => return Err(mismatch(ks, other, &Path::MapKey(path, i))),
                        }
                        self.out.push(':');
                        self.value(Some(vs), v, &Path::MapValue(path, i))?;
                    }
                    self.out.push('}');
                } else {
                    self.out.push('[');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        self.out.push_str(if i > 0 { ",[" } else { "[" });
                        self.value(Some(ks), k, &Path::MapKey(path, i))?;
                        self.out.push(',');
                        self.value(Some(vs), v, &Path::MapValue(path, i))?;
                        self.out.push(']');
                    }
                    self.out.push(']');
                }
            }
            (Type::Struct, Value::Struct(s)) => {
                if !same_struct_schema(s.schema(), schema) {
                    return Err(ser(format!(
                        "invalid value{}: the struct's own schema differs from the schema it is \
                         written with",
                        path.describe()
                    )));
                }
                self.struct_fields(&schema.fields, s, path)?;
            }
            _ => return Err(mismatch(schema, value, path)),
        }
        Ok(())
    }

    fn struct_fields(
        &mut self,
        fields: &[Field],
        s: &Struct,
        path: &Path<'_>,
    ) -> Result<(), ConverterError> {
        self.out.push('{');
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_json_str(&mut self.out, &field.name);
            self.out.push(':');
            let v = s.values().get(field.index).unwrap_or(&Value::Null);
            self.value(Some(&field.schema), v, &Path::Field(path, &field.name))?;
        }
        self.out.push('}');
        Ok(())
    }

    /// Writes a logical-type value; `false` when the schema's name is not a logical type of
    /// this base type.
    fn logical(
        &mut self,
        schema: &SchemaRef,
        value: &Value,
        path: &Path<'_>,
    ) -> Result<bool, ConverterError> {
        match (schema.name.as_deref(), schema.type_, value) {
            (Some(DECIMAL), Type::Bytes, Value::Bytes(bytes)) => {
                let scale = logical::decimal_scale(schema)
                    .map_err(|e| ser(format!("{}{}", e.message, path.describe())))?;
                match self.cfg.decimal_format {
                    DecimalFormat::Base64 if bytes.len() > 16 => self.push_bytes(bytes),
                    DecimalFormat::Base64 => {
                        let unscaled =
                            logical::decimal_unscaled(bytes).map_err(|e| ser(e.message))?;
                        self.push_bytes(&logical::decimal_bytes(unscaled));
                    }
                    DecimalFormat::Numeric => {
                        let unscaled = logical::decimal_unscaled(bytes)
                            .map_err(|e| ser(format!("{}{}", e.message, path.describe())))?;
                        text::push_java_big_decimal(&mut self.out, unscaled, scale);
                    }
                }
                Ok(true)
            }
            (Some(TIME), Type::Int32, Value::Int32(ms)) => {
                if !(0..=MILLIS_PER_DAY).contains(&i64::from(*ms)) {
                    return Err(ser(format!(
                        "invalid Time value{}: {ms} is not between 0 and {MILLIS_PER_DAY} \
                         milliseconds since midnight",
                        path.describe()
                    )));
                }
                Ok(false)
            }
            // Date and Timestamp are written as their base integers.
            _ => Ok(false),
        }
    }

    /// A value without a schema: its type comes from the value itself.
    fn schemaless(&mut self, value: &Value, path: &Path<'_>) -> Result<(), ConverterError> {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Boolean(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int8(v) => push_int(&mut self.out, i64::from(*v)),
            Value::Int16(v) => push_int(&mut self.out, i64::from(*v)),
            Value::Int32(v) => push_int(&mut self.out, i64::from(*v)),
            Value::Int64(v) => push_int(&mut self.out, *v),
            Value::Float32(v) => self.push_f32(*v),
            Value::Float64(v) => self.push_f64(*v),
            Value::String(s) => push_json_str(&mut self.out, s),
            Value::Bytes(b) => self.push_bytes(b),
            Value::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.schemaless(item, &Path::Index(path, i))?;
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                    self.out.push('{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        if let Value::String(k) = k {
                            push_json_str(&mut self.out, k);
                        }
                        self.out.push(':');
                        self.schemaless(v, &Path::MapValue(path, i))?;
                    }
                    self.out.push('}');
                } else {
                    self.out.push('[');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        self.out.push_str(if i > 0 { ",[" } else { "[" });
                        self.schemaless(k, &Path::MapKey(path, i))?;
                        self.out.push(',');
                        self.schemaless(v, &Path::MapValue(path, i))?;
                        self.out.push(']');
                    }
                    self.out.push(']');
                }
            }
            Value::Struct(s) => {
                s.validate().map_err(|e| {
                    ser(format!("invalid struct{}: {}", path.describe(), e.message))
                })?;
                self.struct_fields(&s.schema().fields, s, path)?;
            }
        }
        Ok(())
    }
}

/// Reads JSON into Connect data.
struct Reader<'c> {
    cfg: &'c JsonConverterConfig,
}

fn int_of(n: &Num<'_>) -> Option<i64> {
    if n.integral {
        n.text.parse().ok()
    } else {
        let f: f64 = n.text.parse().ok()?;
        (f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f))
            .then_some(f as i64)
    }
}

fn special_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

impl Reader<'_> {
    /// A schema from its envelope JSON.
    fn schema(&self, json: &Json<'_>) -> Result<SchemaRef, String> {
        let Json::Obj(members) = json else {
            return Err(format!(
                "a schema must be a JSON object, not {}",
                json.kind()
            ));
        };
        let get = |name: &str| {
            members
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        };
        let type_name = match get("type") {
            Some(Json::Str(s)) => s.as_ref(),
            _ => return Err("the schema has no \"type\" field".into()),
        };
        let child = |field: &str| -> Result<SchemaRef, String> {
            match get(field) {
                Some(j) if *j != Json::Null => self.schema(j),
                _ => Err(format!("the {type_name} schema has no \"{field}\" schema")),
            }
        };
        let mut schema = match type_name {
            "boolean" => Schema::new(Type::Boolean),
            "int8" => Schema::new(Type::Int8),
            "int16" => Schema::new(Type::Int16),
            "int32" => Schema::new(Type::Int32),
            "int64" => Schema::new(Type::Int64),
            "float" => Schema::new(Type::Float32),
            "double" => Schema::new(Type::Float64),
            "bytes" => Schema::new(Type::Bytes),
            "string" => Schema::new(Type::String),
            "array" => Schema::array(child("items")?),
            "map" => Schema::map(child("keys")?, child("values")?),
            "struct" => {
                let Some(Json::Arr(list)) = get("fields") else {
                    return Err("the struct schema's \"fields\" is not an array".into());
                };
                let mut fields: Vec<Field> = Vec::with_capacity(list.len());
                for (index, f) in list.iter().enumerate() {
                    let name = match f {
                        Json::Obj(m) => match m.iter().rev().find(|(k, _)| k == "field") {
                            Some((_, Json::Str(s))) => s.to_string(),
                            _ => {
                                return Err(format!("struct field #{index} has no \"field\" name"))
                            }
                        },
                        other => {
                            return Err(format!(
                                "struct field #{index} must be an object, not {}",
                                other.kind()
                            ))
                        }
                    };
                    if fields.iter().any(|x| x.name == name) {
                        return Err(format!("struct field name \"{name}\" is repeated"));
                    }
                    let schema = self
                        .schema(f)
                        .map_err(|e| format!("struct field \"{name}\": {e}"))?;
                    fields.push(Field {
                        name,
                        index,
                        schema,
                    });
                }
                Schema {
                    fields,
                    ..Schema::new(Type::Struct)
                }
            }
            other => {
                return Err(format!(
                    "unknown schema type \"{other}\" (expected boolean, int8, int16, int32, \
                     int64, float, double, bytes, string, array, map or struct)"
                ))
            }
        };
        schema.optional = matches!(get("optional"), Some(Json::Bool(true)));
        if let Some(Json::Str(name)) = get("name") {
            schema.name = Some(name.to_string());
        }
        if let Some(Json::Num(n)) = get("version") {
            if n.integral {
                schema.version = n.text.parse().ok();
            }
        }
        if let Some(Json::Str(doc)) = get("doc") {
            schema.doc = Some(doc.to_string());
        }
        if let Some(Json::Obj(params)) = get("parameters") {
            let mut map = BTreeMap::new();
            for (k, v) in params {
                match v {
                    Json::Str(s) => {
                        map.insert(k.to_string(), s.to_string());
                    }
                    other => {
                        return Err(format!(
                            "schema parameter \"{k}\" must be a string, not {}",
                            other.kind()
                        ))
                    }
                }
            }
            schema.parameters = Some(map);
        }
        let schema = Arc::new(schema);
        match get("default") {
            Some(default) if *default != Json::Null => {
                let value = self
                    .value(Some(&schema), default.clone(), &Path::Root)
                    .map_err(|e| format!("invalid default value: {e}"))?;
                let mut with_default = (*schema).clone();
                with_default.default = Some(value);
                Ok(Arc::new(with_default))
            }
            _ => Ok(schema),
        }
    }

    /// A payload value, checked against the schema (or inferred when there is none).
    fn value(
        &self,
        schema: Option<&SchemaRef>,
        json: Json<'_>,
        path: &Path<'_>,
    ) -> Result<Value, String> {
        let Some(schema) = schema else {
            return self.schemaless(json, path);
        };
        if json == Json::Null {
            if self.cfg.replace_null_with_default {
                if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
                    return Ok(default.clone());
                }
            }
            if schema.optional {
                return Ok(Value::Null);
            }
            return Err(format!(
                "null value{} but the schema ({}) is required",
                path.describe(),
                describe_schema(schema)
            ));
        }
        let wrong = |json: &Json<'_>, expected: &str| {
            format!(
                "invalid value{}: schema type {} expects {expected}, but found {}",
                path.describe(),
                describe_schema(schema),
                json.kind()
            )
        };
        if schema.type_ == Type::Bytes && logical::is(schema, DECIMAL) {
            let scale = logical::decimal_scale(schema)
                .map_err(|e| format!("{}{}", e.message, path.describe()))?;
            return match json {
                Json::Num(n) => logical::decimal_from_str(n.text, scale)
                    .map(Value::Bytes)
                    .map_err(|e| format!("{}{}", e.message, path.describe())),
                Json::Str(s) => text::decode_base64(&s)
                    .map(Value::Bytes)
                    .map_err(|e| format!("{e}{}", path.describe())),
                other => Err(wrong(&other, "a number or base64 text")),
            };
        }
        let int = |json: &Json<'_>, min: i64, max: i64| -> Result<i64, String> {
            match json {
                Json::Num(n) => match int_of(n) {
                    Some(v) if (min..=max).contains(&v) => Ok(v),
                    _ => Err(format!(
                        "invalid value{}: {} does not fit schema type {}",
                        path.describe(),
                        n.text,
                        describe_schema(schema)
                    )),
                },
                other => Err(wrong(other, "an integer")),
            }
        };
        Ok(match schema.type_ {
            Type::Int8 => Value::Int8(int(&json, i8::MIN.into(), i8::MAX.into())? as i8),
            Type::Int16 => Value::Int16(int(&json, i16::MIN.into(), i16::MAX.into())? as i16),
            Type::Int32 => {
                let v = int(&json, i32::MIN.into(), i32::MAX.into())?;
                if logical::is(schema, TIME) && !(0..=MILLIS_PER_DAY).contains(&v) {
                    return Err(format!(
                        "invalid Time value{}: {v} is not between 0 and {MILLIS_PER_DAY} \
                         milliseconds since midnight",
                        path.describe()
                    ));
                }
                Value::Int32(v as i32)
            }
            Type::Int64 => Value::Int64(int(&json, i64::MIN, i64::MAX)?),
            Type::Float32 => Value::Float32(match &json {
                Json::Num(n) => n.text.parse().map_err(|_| wrong(&json, "a number"))?,
                Json::Str(s) => special_float(s).ok_or_else(|| wrong(&json, "a number"))? as f32,
                other => return Err(wrong(other, "a number")),
            }),
            Type::Float64 => Value::Float64(match &json {
                Json::Num(n) => n.text.parse().map_err(|_| wrong(&json, "a number"))?,
                Json::Str(s) => special_float(s).ok_or_else(|| wrong(&json, "a number"))?,
                other => return Err(wrong(other, "a number")),
            }),
            Type::Boolean => match json {
                Json::Bool(b) => Value::Boolean(b),
                other => return Err(wrong(&other, "true or false")),
            },
            Type::String => match json {
                Json::Str(s) => Value::String(s.into_owned()),
                other => return Err(wrong(&other, "a string")),
            },
            Type::Bytes => match json {
                Json::Str(s) => Value::Bytes(
                    text::decode_base64(&s).map_err(|e| format!("{e}{}", path.describe()))?,
                ),
                other => return Err(wrong(&other, "base64 text")),
            },
            Type::Array => {
                let Json::Arr(items) = json else {
                    return Err(wrong(&json, "an array"));
                };
                let item_schema = schema
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| format!("malformed array schema{}", path.describe()))?;
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    out.push(self.value(Some(item_schema), item, &Path::Index(path, i))?);
                }
                Value::Array(out)
            }
            Type::Map => {
                let (Some(ks), Some(vs)) = (&schema.key_schema, &schema.value_schema) else {
                    return Err(format!("malformed map schema{}", path.describe()));
                };
                if ks.type_ == Type::String {
                    let Json::Obj(members) = json else {
                        return Err(wrong(
                            &json,
                            "an object (maps with string keys are JSON objects)",
                        ));
                    };
                    let members = dedup_by_key(members, |k| k.as_ref());
                    let mut out = Vec::with_capacity(members.len());
                    for (i, (k, v)) in members.into_iter().enumerate() {
                        let v = self.value(Some(vs), v, &Path::MapValue(path, i))?;
                        out.push((Value::String(k.into_owned()), v));
                    }
                    Value::Map(out)
                } else {
                    let Json::Arr(entries) = json else {
                        return Err(wrong(
                            &json,
                            "an array of [key, value] pairs (maps with non-string keys)",
                        ));
                    };
                    let mut out = Vec::with_capacity(entries.len());
                    for (i, entry) in entries.into_iter().enumerate() {
                        let pair = match entry {
                            Json::Arr(pair) if pair.len() == 2 => pair,
                            other => {
                                return Err(format!(
                                    "invalid map entry{}: expected a [key, value] array of two \
                                     elements, found {}",
                                    Path::Index(path, i).describe(),
                                    match &other {
                                        Json::Arr(a) => format!("an array of {}", a.len()),
                                        o => o.kind().to_owned(),
                                    }
                                ))
                            }
                        };
                        let mut pair = pair.into_iter();
                        let k = pair.next().unwrap_or_default();
                        let v = pair.next().unwrap_or_default();
                        let k = self.value(Some(ks), k, &Path::MapKey(path, i))?;
                        let v = self.value(Some(vs), v, &Path::MapValue(path, i))?;
                        out.push((k, v));
                    }
                    Value::Map(out)
                }
            }
            Type::Struct => {
                let Json::Obj(mut members) = json else {
                    return Err(wrong(&json, "an object"));
                };
                let positions: Vec<Option<usize>> = if members.len() > 32 {
                    let mut index: HashMap<&str, usize> = HashMap::with_capacity(members.len());
                    for (i, (k, _)) in members.iter().enumerate() {
                        index.insert(k.as_ref(), i);
                    }
                    schema
                        .fields
                        .iter()
                        .map(|f| index.get(f.name.as_str()).copied())
                        .collect()
                } else {
                    schema
                        .fields
                        .iter()
                        .map(|f| members.iter().rposition(|(k, _)| *k == f.name))
                        .collect()
                };
                let mut st = Struct::new(schema.clone()).map_err(|e| e.message)?;
                for (slot, (field, pos)) in schema.fields.iter().zip(positions).enumerate() {
                    let json = pos
                        .map(|i| std::mem::take(&mut members[i].1))
                        .unwrap_or_default();
                    let v =
                        self.value(Some(&field.schema), json, &Path::Field(path, &field.name))?;
                    st.put_index(slot, v);
                }
                Value::Struct(st)
            }
        })
    }

    /// A value with no schema: integers → int64, other numbers → float64, objects → maps
    /// with string keys, arrays → arrays.
    fn schemaless(&self, json: Json<'_>, path: &Path<'_>) -> Result<Value, String> {
        Ok(match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(b),
            Json::Num(n) if n.integral => Value::Int64(n.text.parse().map_err(|_| {
                format!(
                    "integer {}{} does not fit in 64 bits (int64)",
                    n.text,
                    path.describe()
                )
            })?),
            Json::Num(n) => Value::Float64(
                n.text
                    .parse()
                    .map_err(|_| format!("invalid number {}{}", n.text, path.describe()))?,
            ),
            Json::Str(s) => Value::String(s.into_owned()),
            Json::Arr(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    out.push(self.schemaless(item, &Path::Index(path, i))?);
                }
                Value::Array(out)
            }
            Json::Obj(members) => {
                let members = dedup_by_key(members, |k| k.as_ref());
                let mut out = Vec::with_capacity(members.len());
                for (i, (k, v)) in members.into_iter().enumerate() {
                    let v = self.schemaless(v, &Path::MapValue(path, i))?;
                    out.push((Value::String(k.into_owned()), v));
                }
                Value::Map(out)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::HeaderConverter;
    use tributary_connector_api::logical;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn conv(pairs: &[(&str, &str)]) -> JsonConverter {
        JsonConverter::new(&cfg(pairs)).unwrap()
    }

    fn write(c: &JsonConverter, schema: Option<&SchemaRef>, value: &Value) -> String {
        String::from_utf8(c.from_connect("t", schema, value).unwrap().unwrap()).unwrap()
    }

    fn read(c: &JsonConverter, text: &str) -> (Option<SchemaRef>, Value) {
        c.to_connect("t", Some(text.as_bytes())).unwrap()
    }

    /// Writes with an envelope, checks the exact text, reads it back and checks it is equal.
    fn round_trip(
        c: &JsonConverter,
        schema: Schema,
        value: Value,
        schema_json: &str,
        payload: &str,
    ) {
        let schema = schema.into_ref();
        let text = write(c, Some(&schema), &value);
        assert_eq!(
            text,
            format!("{{\"schema\":{schema_json},\"payload\":{payload}}}")
        );
        let (read_schema, read_value) = read(c, &text);
        assert_eq!(read_schema.as_deref(), Some(&*schema), "{text}");
        assert_eq!(read_value, value, "{text}");
    }

    fn order_schema() -> SchemaRef {
        Schema::struct_([
            ("id", Schema::int64()),
            ("amount", logical::decimal(2).optional().into_ref()),
            (
                "tags",
                Schema::array(Schema::string()).optional().into_ref(),
            ),
        ])
        .with_name("shop.Order")
        .into_ref()
    }

    fn order() -> Value {
        let mut s = Struct::new(order_schema()).unwrap();
        s.put("id", Value::Int64(7)).unwrap();
        s.put("amount", Value::Bytes(vec![0x00, 0xC2])).unwrap();
        s.put("tags", Value::Array(vec!["a".into(), "b".into()]))
            .unwrap();
        Value::Struct(s)
    }

    #[test]
    fn worked_example_exact_envelope() {
        let c = conv(&[]);
        let text = write(&c, Some(&order_schema()), &order());
        assert_eq!(
            text,
            concat!(
                r#"{"schema":{"type":"struct","fields":["#,
                r#"{"type":"int64","optional":false,"field":"id"},"#,
                r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"amount"},"#,
                r#"{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"tags"}],"#,
                r#""optional":false,"name":"shop.Order"},"#,
                r#""payload":{"id":7,"amount":"AMI=","tags":["a","b"]}}"#
            )
        );
        // Same document as the spec's example (which is laid out for reading).
        let spec_example = r#"{"schema": {"type": "struct", "optional": false, "name": "shop.Order",
           "fields": [
             {"type": "int64", "optional": false, "field": "id"},
             {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
              "version": 1, "parameters": {"scale": "2"}, "field": "amount"},
             {"type": "array", "items": {"type": "string", "optional": false}, "optional": true, "field": "tags"}]},
         "payload": {"id": 7, "amount": "AMI=", "tags": ["a", "b"]}}"#;
        let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(spec_example).unwrap();
        assert_eq!(ours, theirs);
        // And the spec's text reads back as the same Connect data.
        let (schema, value) = read(&c, spec_example);
        assert_eq!(schema.as_deref(), Some(&*order_schema()));
        assert_eq!(value, order());
        let (schema, value) = read(&c, &text);
        assert_eq!(schema.as_deref(), Some(&*order_schema()));
        assert_eq!(value, order());
    }

    #[test]
    fn round_trip_primitives() {
        let c = conv(&[]);
        round_trip(
            &c,
            Schema::new(Type::Int8),
            Value::Int8(-8),
            r#"{"type":"int8","optional":false}"#,
            "-8",
        );
        round_trip(
            &c,
            Schema::new(Type::Int16),
            Value::Int16(i16::MAX),
            r#"{"type":"int16","optional":false}"#,
            "32767",
        );
        round_trip(
            &c,
            Schema::new(Type::Int32),
            Value::Int32(i32::MIN),
            r#"{"type":"int32","optional":false}"#,
            "-2147483648",
        );
        round_trip(
            &c,
            Schema::new(Type::Int64),
            Value::Int64(i64::MAX),
            r#"{"type":"int64","optional":false}"#,
            "9223372036854775807",
        );
        round_trip(
            &c,
            Schema::new(Type::Float32),
            Value::Float32(1.5),
            r#"{"type":"float","optional":false}"#,
            "1.5",
        );
        round_trip(
            &c,
            Schema::new(Type::Float32),
            Value::Float32(0.1),
            r#"{"type":"float","optional":false}"#,
            "0.1",
        );
        round_trip(
            &c,
            Schema::new(Type::Float64),
            Value::Float64(0.1 + 0.2),
            r#"{"type":"double","optional":false}"#,
            "0.30000000000000004",
        );
        round_trip(
            &c,
            Schema::new(Type::Float64),
            Value::Float64(1e20),
            r#"{"type":"double","optional":false}"#,
            "1.0E20",
        );
        round_trip(
            &c,
            Schema::new(Type::Float64),
            Value::Float64(-2.0),
            r#"{"type":"double","optional":false}"#,
            "-2.0",
        );
        round_trip(
            &c,
            Schema::new(Type::Float64),
            Value::Float64(f64::INFINITY),
            r#"{"type":"double","optional":false}"#,
            r#""Infinity""#,
        );
        round_trip(
            &c,
            Schema::new(Type::Boolean),
            Value::Boolean(true),
            r#"{"type":"boolean","optional":false}"#,
            "true",
        );
        round_trip(
            &c,
            Schema::new(Type::String),
            Value::from("a\"b\\c\né😀\u{1}"),
            r#"{"type":"string","optional":false}"#,
            r#""a\"b\\c\né😀\u0001""#,
        );
        round_trip(
            &c,
            Schema::new(Type::Bytes),
            Value::Bytes(vec![0, 1, 2, 0xff]),
            r#"{"type":"bytes","optional":false}"#,
            r#""AAEC/w==""#,
        );
        round_trip(
            &c,
            Schema::new(Type::Bytes),
            Value::Bytes(vec![]),
            r#"{"type":"bytes","optional":false}"#,
            r#""""#,
        );
        // NaN is not equal to itself, so check it separately.
        let nan = write(&c, Some(&Schema::float32()), &Value::Float32(f32::NAN));
        assert_eq!(
            nan,
            r#"{"schema":{"type":"float","optional":false},"payload":"NaN"}"#
        );
        assert!(matches!(read(&c, &nan).1, Value::Float32(f) if f.is_nan()));
    }

    #[test]
    fn round_trip_containers() {
        let c = conv(&[]);
        round_trip(
            &c,
            Schema::array(Schema::int32()),
            Value::Array(vec![Value::Int32(1), Value::Int32(-2)]),
            r#"{"type":"array","items":{"type":"int32","optional":false},"optional":false}"#,
            "[1,-2]",
        );
        round_trip(
            &c,
            Schema::array(Schema::optional_string()),
            Value::Array(vec![]),
            r#"{"type":"array","items":{"type":"string","optional":true},"optional":false}"#,
            "[]",
        );
        round_trip(
            &c,
            Schema::map(Schema::string(), Schema::optional_int64()),
            Value::Map(vec![
                (Value::from("b"), Value::Int64(2)),
                (Value::from("a"), Value::Null),
            ]),
            r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":true},"optional":false}"#,
            r#"{"b":2,"a":null}"#,
        );
        round_trip(
            &c,
            Schema::map(Schema::int32(), Schema::string()),
            Value::Map(vec![
                (Value::Int32(1), Value::from("a")),
                (Value::Int32(2), Value::from("b")),
            ]),
            r#"{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false}"#,
            r#"[[1,"a"],[2,"b"]]"#,
        );
        let inner = Schema::struct_([("x", Schema::float64()), ("y", Schema::optional_string())])
            .with_name("Point")
            .optional()
            .into_ref();
        let outer = Schema::struct_([
            ("p", inner.clone()),
            ("ps", Schema::array(inner.clone()).into_ref()),
        ])
        .with_doc("nested")
        .with_version(3);
        let outer_ref = outer.clone().into_ref();
        let mut p = Struct::new(inner.clone()).unwrap();
        p.put("x", Value::Float64(1.25)).unwrap();
        let mut o = Struct::new(outer_ref.clone()).unwrap();
        o.put("p", Value::Struct(p.clone())).unwrap();
        o.put("ps", Value::Array(vec![Value::Struct(p), Value::Null]))
            .unwrap();
        let point = r#"{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"string","optional":true,"field":"y"}],"optional":true,"name":"Point""#;
        round_trip(
            &c,
            outer,
            Value::Struct(o),
            &format!(
                r#"{{"type":"struct","fields":[{point},"field":"p"}},{{"type":"array","items":{point}}},"optional":false,"field":"ps"}}],"optional":false,"version":3,"doc":"nested"}}"#
            ),
            r#"{"p":{"x":1.25,"y":null},"ps":[{"x":1.25,"y":null},null]}"#,
        );
    }

    #[test]
    fn round_trip_optional_and_defaults() {
        let c = conv(&[]);
        round_trip(
            &c,
            Schema::new(Type::Int32).optional(),
            Value::Null,
            r#"{"type":"int32","optional":true}"#,
            "null",
        );
        round_trip(
            &c,
            Schema::new(Type::String)
                .optional()
                .with_default("x".into()),
            Value::from("y"),
            r#"{"type":"string","optional":true,"default":"x"}"#,
            r#""y""#,
        );
        // A null is written (and read) as the default.
        let with_default = Schema::new(Type::Int32)
            .with_default(Value::Int32(42))
            .into_ref();
        let text = write(&c, Some(&with_default), &Value::Null);
        assert_eq!(
            text,
            r#"{"schema":{"type":"int32","optional":false,"default":42},"payload":42}"#
        );
        let (schema, value) = read(
            &c,
            r#"{"schema":{"type":"int32","optional":false,"default":42},"payload":null}"#,
        );
        assert_eq!(schema.as_deref(), Some(&*with_default));
        assert_eq!(value, Value::Int32(42));
        // Missing struct fields take their defaults too.
        let (_, value) = read(
            &c,
            r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":true,"default":5,"field":"n"}],"optional":false},"payload":{}}"#,
        );
        let Value::Struct(s) = value else { panic!() };
        assert_eq!(s.get("n"), Some(&Value::Int64(5)));

        // replace.null.with.default=false keeps nulls of optional fields.
        let keep = conv(&[("replace.null.with.default", "false")]);
        let opt_default = Schema::new(Type::Int32)
            .optional()
            .with_default(Value::Int32(42))
            .into_ref();
        assert_eq!(
            write(&keep, Some(&opt_default), &Value::Null),
            r#"{"schema":{"type":"int32","optional":true,"default":42},"payload":null}"#
        );
        assert_eq!(
            read(
                &keep,
                r#"{"schema":{"type":"int32","optional":true,"default":42},"payload":null}"#
            )
            .1,
            Value::Null
        );
        // …and a required field with a default cannot be null then.
        assert!(keep
            .from_connect("t", Some(&with_default), &Value::Null)
            .is_err());
        // Struct default values.
        let point = Schema::struct_([("x", Schema::int32())]).into_ref();
        let mut origin = Struct::new(point.clone()).unwrap();
        origin.put("x", Value::Int32(0)).unwrap();
        let with_struct_default = Schema::clone(&point)
            .optional()
            .with_default(Value::Struct(origin))
            .into_ref();
        let json = c.schema_to_json(&with_struct_default).unwrap();
        assert_eq!(
            json,
            r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"x"}],"optional":true,"default":{"x":0}}"#
        );
        let parsed = c.schema_from_json(&json).unwrap().unwrap();
        assert_eq!(c.schema_to_json(&parsed).unwrap(), json);
        let text = write(&c, Some(&parsed), &Value::Null);
        assert!(text.ends_with(r#""payload":{"x":0}}"#), "{text}");
    }

    #[test]
    fn round_trip_logical_types() {
        let base64 = conv(&[]);
        let dec = r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#;
        round_trip(
            &base64,
            logical::decimal(2),
            Value::Bytes(vec![0x00, 0xC2]),
            dec,
            r#""AMI=""#,
        );
        round_trip(
            &base64,
            logical::decimal(2),
            Value::Bytes(vec![0xFB]),
            dec,
            r#""+w==""#,
        );
        // Non-minimal bytes are written minimally, as Java's BigInteger would.
        assert_eq!(
            write(
                &base64,
                Some(&logical::decimal(2).into_ref()),
                &Value::Bytes(vec![0, 0, 0xC2])
            ),
            format!(r#"{{"schema":{dec},"payload":"AMI="}}"#)
        );
        let numeric = conv(&[("decimal.format", "numeric")]);
        round_trip(
            &numeric,
            logical::decimal(2),
            Value::Bytes(vec![0x00, 0xC2]),
            dec,
            "1.94",
        );
        round_trip(
            &numeric,
            logical::decimal(2),
            Value::Bytes(vec![0xFB]),
            dec,
            "-0.05",
        );
        round_trip(
            &numeric,
            logical::decimal(2),
            Value::Bytes(vec![0x00]),
            dec,
            "0.00",
        );
        round_trip(
            &numeric,
            logical::decimal(0),
            Value::Bytes(logical::decimal_bytes(
                123_456_789_012_345_678_901_234_567_890,
            )),
            r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0"}}"#,
            "123456789012345678901234567890",
        );
        round_trip(
            &numeric,
            logical::decimal(-2),
            Value::Bytes(vec![0x00, 0xC2]),
            r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"-2"}}"#,
            "1.94E+4",
        );
        // Both formats are read whatever the setting; numbers are rescaled exactly.
        let (_, v) = read(&base64, &format!(r#"{{"schema":{dec},"payload":1.9}}"#));
        assert_eq!(v, Value::Bytes(vec![0x00, 0xBE]));
        let (_, v) = read(&numeric, &format!(r#"{{"schema":{dec},"payload":"AMI="}}"#));
        assert_eq!(v, Value::Bytes(vec![0x00, 0xC2]));
        let err = numeric.to_connect(
            "t",
            Some(format!(r#"{{"schema":{dec},"payload":1.999}}"#).as_bytes()),
        );
        assert!(matches!(err, Err(ConverterError::Deserialize(_))));

        round_trip(
            &base64,
            logical::date(),
            Value::Int32(19_723),
            r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1}"#,
            "19723",
        );
        round_trip(
            &base64,
            logical::time(),
            Value::Int32(45_296_789),
            r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1}"#,
            "45296789",
        );
        round_trip(
            &base64,
            logical::timestamp().optional(),
            Value::Int64(1_704_164_645_123),
            r#"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}"#,
            "1704164645123",
        );
        let time = logical::time().into_ref();
        assert!(base64
            .from_connect("t", Some(&time), &Value::Int32(-1))
            .is_err());
        assert!(base64
            .from_connect("t", Some(&time), &Value::Int32(86_400_001))
            .is_err());
        let err = base64
            .to_connect(
                "t",
                Some(br#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":-5}"#),
            )
            .unwrap_err();
        assert!(err.to_string().contains("Time"), "{err}");
        // Decimal without a scale parameter.
        let bad = Schema::new(Type::Bytes)
            .with_name(logical::DECIMAL)
            .into_ref();
        assert!(base64
            .from_connect("t", Some(&bad), &Value::Bytes(vec![1]))
            .is_err());
    }

    #[test]
    fn schemas_disabled_write_and_infer() {
        let c = conv(&[("schemas.enable", "false")]);
        assert_eq!(
            write(&c, Some(&order_schema()), &order()),
            r#"{"id":7,"amount":"AMI=","tags":["a","b"]}"#
        );
        assert_eq!(write(&c, None, &Value::Int32(5)), "5");
        assert_eq!(write(&c, None, &Value::from("x")), r#""x""#);
        assert_eq!(
            write(
                &c,
                None,
                &Value::Map(vec![
                    (
                        Value::from("a"),
                        Value::Array(vec![Value::Float64(1.5), Value::Null])
                    ),
                    (Value::from("b"), Value::Bytes(vec![1])),
                ])
            ),
            r#"{"a":[1.5,null],"b":"AQ=="}"#
        );
        assert_eq!(
            write(
                &c,
                None,
                &Value::Map(vec![(Value::Int32(1), Value::Boolean(false))])
            ),
            "[[1,false]]"
        );
        // A struct without a schema is written with its own schema.
        assert_eq!(
            write(&c, None, &order()),
            r#"{"id":7,"amount":"AQ==","tags":["a","b"]}"#.replace("AQ==", "AMI=")
        );
        // An optional schema with a null value writes the JSON null.
        assert_eq!(
            write(&c, Some(&Schema::optional_int32()), &Value::Null),
            "null"
        );

        let (schema, value) = read(
            &c,
            r#" {"a": 1, "b": [1.5, "x", true, null, -7], "c": {"d": -3e2}, "a": 2} "#,
        );
        assert_eq!(schema, None);
        assert_eq!(
            value,
            Value::Map(vec![
                (Value::from("a"), Value::Int64(2)),
                (
                    Value::from("b"),
                    Value::Array(vec![
                        Value::Float64(1.5),
                        Value::from("x"),
                        Value::Boolean(true),
                        Value::Null,
                        Value::Int64(-7),
                    ])
                ),
                (
                    Value::from("c"),
                    Value::Map(vec![(Value::from("d"), Value::Float64(-300.0))])
                ),
            ])
        );
        assert_eq!(read(&c, "null"), (None, Value::Null));
        assert_eq!(read(&c, ""), (None, Value::Null));
        assert_eq!(read(&c, "9223372036854775807").1, Value::Int64(i64::MAX));
        assert_eq!(read(&c, "1.0").1, Value::Float64(1.0));
        let err = c.to_connect("t", Some(b"9223372036854775808")).unwrap_err();
        assert!(err.to_string().contains("64 bits"), "{err}");
        // An envelope is just data here.
        let (_, v) = read(&c, r#"{"schema":null,"payload":1}"#);
        assert_eq!(
            v,
            Value::Map(vec![
                (Value::from("schema"), Value::Null),
                (Value::from("payload"), Value::Int64(1))
            ])
        );
    }

    #[test]
    fn envelope_without_schema_infers() {
        let c = conv(&[]);
        assert_eq!(
            write(&c, None, &Value::Int64(3)),
            r#"{"schema":null,"payload":3}"#
        );
        assert_eq!(
            read(&c, r#"{"schema":null,"payload":[1,"a"]}"#),
            (None, Value::Array(vec![Value::Int64(1), Value::from("a")]))
        );
        assert_eq!(
            read(&c, r#"{"payload":null,"schema":null}"#),
            (None, Value::Null)
        );
    }

    #[test]
    fn tombstones() {
        for c in [conv(&[]), conv(&[("schemas.enable", "false")])] {
            assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
            assert_eq!(c.to_connect("t", None).unwrap(), (None, Value::Null));
        }
        // With a schema, a null is data, not a tombstone.
        let c = conv(&[]);
        assert_eq!(
            write(&c, Some(&Schema::optional_string()), &Value::Null),
            r#"{"schema":{"type":"string","optional":true},"payload":null}"#
        );
    }

    #[test]
    fn rejects_non_envelopes() {
        let c = conv(&[]);
        for (text, found) in [
            (r#"{"a":1}"#, r#"without "schema" and "payload""#),
            ("[1,2]", "an array"),
            ("42", "an integer"),
            (r#""x""#, "a string"),
            (
                r#"{"schema":null,"payload":1,"extra":true}"#,
                "other fields (\"extra\")",
            ),
            (r#"{"schema":{"type":"int8"}}"#, r#"without "payload""#),
            ("", "empty"),
        ] {
            match c.to_connect("t", Some(text.as_bytes())) {
                Err(ConverterError::Deserialize(m)) => {
                    assert!(m.contains("schemas.enable=false"), "{m}");
                    assert!(m.contains("\"schema\" and \"payload\""), "{m}");
                    assert!(m.contains(found), "{text}: {m}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        // Broken JSON is reported as such, with where.
        let err = c
            .to_connect("t", Some(br#"{"schema":null,"payload":[1,}"#))
            .unwrap_err();
        assert_eq!(
            err,
            ConverterError::Deserialize("invalid JSON at offset 28: unexpected character".into())
        );
    }

    #[test]
    fn rejects_values_that_do_not_match_their_schema() {
        let c = conv(&[]);
        let err = c
            .from_connect("t", Some(&Schema::int32()), &Value::from("7"))
            .unwrap_err();
        assert_eq!(
            err,
            ConverterError::Serialize(
                "invalid value: schema type int32 requires an int32 value, but found a string"
                    .into()
            )
        );
        // A struct whose field holds the wrong type (bypassing Struct::put's check).
        let mut s = Struct::new(order_schema()).unwrap();
        s.put_index(0, Value::from("seven"));
        let err = c
            .from_connect("t", Some(&order_schema()), &Value::Struct(s))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to convert Connect data to bytes: invalid value for field 'id': schema type \
             int64 requires an int64 value, but found a string"
        );
        let mut s = Struct::new(order_schema()).unwrap();
        s.put("id", Value::Int64(1)).unwrap();
        s.put_index(2, Value::Array(vec!["a".into(), Value::Int8(1)]));
        let err = c
            .from_connect("t", Some(&order_schema()), &Value::Struct(s))
            .unwrap_err();
        assert!(err.to_string().contains("field 'tags[1]'"), "{err}");
        // A required field left null.
        let s = Struct::new(order_schema()).unwrap();
        let err = c
            .from_connect("t", Some(&order_schema()), &Value::Struct(s))
            .unwrap_err();
        assert!(
            err.to_string().contains("null value for field 'id'"),
            "{err}"
        );
        // A struct written with a different schema.
        let other = Schema::struct_([("id", Schema::int64())]).into_ref();
        let mut s = Struct::new(other).unwrap();
        s.put("id", Value::Int64(1)).unwrap();
        assert!(c
            .from_connect("t", Some(&order_schema()), &Value::Struct(s))
            .is_err());
        // A map key of the wrong type.
        let m = Schema::map(Schema::string(), Schema::int32()).into_ref();
        let err = c
            .from_connect(
                "t",
                Some(&m),
                &Value::Map(vec![(Value::Int32(1), Value::Int32(1))]),
            )
            .unwrap_err();
        assert!(err.to_string().contains("[key #0]"), "{err}");
        // Reading: payload that does not fit the schema.
        for text in [
            r#"{"schema":{"type":"int8"},"payload":300}"#,
            r#"{"schema":{"type":"int32"},"payload":"7"}"#,
            r#"{"schema":{"type":"int32"},"payload":7.5}"#,
            r#"{"schema":{"type":"boolean"},"payload":1}"#,
            r#"{"schema":{"type":"bytes"},"payload":"!!"}"#,
            r#"{"schema":{"type":"string"},"payload":null}"#,
            r#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":{"1":1}}"#,
            r#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1]]}"#,
            r#"{"schema":{"type":"struct","fields":[]},"payload":[]}"#,
        ] {
            assert!(
                matches!(
                    c.to_connect("t", Some(text.as_bytes())),
                    Err(ConverterError::Deserialize(_))
                ),
                "{text}"
            );
        }
        let err = c
            .to_connect("t", Some(br#"{"schema":{"type":"struct","fields":[{"type":"int16","field":"a"}]},"payload":{"a":99999}}"#))
            .unwrap_err();
        assert!(err.to_string().contains("field 'a'"), "{err}");
    }

    #[test]
    fn reads_lenient_but_valid_input() {
        let c = conv(&[]);
        assert_eq!(
            read(&c, r#"{"schema":{"type":"int32"},"payload":7.0}"#).1,
            Value::Int32(7)
        );
        assert_eq!(
            read(&c, r#"{"schema":{"type":"bytes"},"payload":"AMI"}"#).1,
            Value::Bytes(vec![0, 0xC2])
        );
        assert_eq!(
            read(&c, r#"{"schema":{"type":"double"},"payload":3}"#).1,
            Value::Float64(3.0)
        );
        assert_eq!(
            read(&c, r#"{"schema":{"type":"double"},"payload":"-Infinity"}"#).1,
            Value::Float64(f64::NEG_INFINITY)
        );
        // `optional` missing means required; unknown schema fields are ignored.
        let (schema, _) = read(
            &c,
            r#"{"schema":{"type":"string","x-extra":1},"payload":"s"}"#,
        );
        assert_eq!(schema.as_deref(), Some(&*Schema::string()));
        // Extra payload fields are ignored by structs.
        let (_, v) = read(
            &c,
            r#"{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"}]},"payload":{"z":1,"a":2}}"#,
        );
        let Value::Struct(s) = v else { panic!() };
        assert_eq!(s.values(), &[Value::Int8(2)]);
    }

    #[test]
    fn rejects_bad_schemas() {
        let c = conv(&[]);
        for (schema, needle) in [
            (r#"{"type":"float64"}"#, "unknown schema type \"float64\""),
            (r#"{"optional":true}"#, "no \"type\""),
            (r#"{"type":"array"}"#, "no \"items\""),
            (
                r#"{"type":"map","keys":{"type":"string"}}"#,
                "no \"values\"",
            ),
            (r#"{"type":"struct"}"#, "\"fields\" is not an array"),
            (
                r#"{"type":"struct","fields":[{"type":"int8"}]}"#,
                "no \"field\" name",
            ),
            (
                r#"{"type":"struct","fields":[{"type":"int8","field":"a"},{"type":"int8","field":"a"}]}"#,
                "repeated",
            ),
            (
                r#"{"type":"string","parameters":{"a":1}}"#,
                "must be a string",
            ),
            (r#"{"type":"int8","default":"x"}"#, "invalid default"),
            ("[]", "must be a JSON object"),
        ] {
            let text = format!(r#"{{"schema":{schema},"payload":null}}"#);
            match c.to_connect("t", Some(text.as_bytes())) {
                Err(ConverterError::Deserialize(m)) => assert!(m.contains(needle), "{schema}: {m}"),
                other => panic!("{schema}: {other:?}"),
            }
        }
    }

    #[test]
    fn envelope_field_order_and_alternating_schemas() {
        let c = conv(&[]);
        let text = write(&c, Some(&order_schema()), &order());
        // Payload first, schema second.
        let schema_start = text.find(r#""schema":"#).unwrap() + 9;
        let payload_start = text.find(r#","payload":"#).unwrap();
        let schema_text = &text[schema_start..payload_start];
        let payload_text = &text[payload_start + 11..text.len() - 1];
        let swapped = format!(r#"{{ "payload" : {payload_text} , "schema" : {schema_text} }}"#);
        assert_eq!(read(&c, &swapped), (Some(order_schema()), order()));
        // Alternating schemas through the last-schema shortcut stay correct.
        let a = write(&c, Some(&Schema::int8()), &Value::Int8(1));
        let b = write(&c, Some(&Schema::optional_int8()), &Value::Int8(2));
        for _ in 0..3 {
            assert_eq!(read(&c, &a), (Some(Schema::int8()), Value::Int8(1)));
            assert_eq!(
                read(&c, &b),
                (Some(Schema::optional_int8()), Value::Int8(2))
            );
        }
        // A schema that starts like the last one but is longer is parsed in full.
        let longer = r#"{"schema":{"type":"int8","optional":true},"payload":3}"#;
        let prefix = r#"{"schema":{"type":"int8"},"payload":3}"#;
        assert_eq!(read(&c, prefix).0, Some(Schema::int8()));
        assert_eq!(read(&c, longer).0, Some(Schema::optional_int8()));
    }

    #[test]
    fn schema_caches() {
        let c = conv(&[("schemas.cache.size", "2")]);
        let schema = order_schema();
        let first = write(&c, Some(&schema), &order());
        let second = write(&c, Some(&schema), &order());
        assert_eq!(first, second);
        let (a, _) = read(&c, &first);
        let (b, _) = read(&c, &first);
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        // Many distinct schemas stay bounded and correct.
        for i in 0..10 {
            let s = Schema::new(Type::Int8).with_doc(format!("d{i}")).into_ref();
            let text = write(&c, Some(&s), &Value::Int8(i));
            assert_eq!(read(&c, &text), (Some(s), Value::Int8(i)));
        }
        assert!(lock(&c.write_cache).len() <= 2);
        assert!(lock(&c.read_cache).len() <= 2);
        let uncached = conv(&[("schemas.cache.size", "0")]);
        assert_eq!(write(&uncached, Some(&schema), &order()), first);
        assert_eq!(read(&uncached, &first).1, order());
    }

    #[test]
    fn schema_json_parameters_and_doc_escaping() {
        let c = conv(&[]);
        let s = Schema::new(Type::String)
            .with_name("my.Name")
            .with_doc("say \"hi\"")
            .with_parameter("b", "2")
            .with_parameter("a", "1")
            .into_ref();
        let json = c.schema_to_json(&s).unwrap();
        assert_eq!(
            json,
            r#"{"type":"string","optional":false,"name":"my.Name","doc":"say \"hi\"","parameters":{"a":"1","b":"2"}}"#
        );
        assert_eq!(c.schema_from_json(&json).unwrap().as_deref(), Some(&*s));
        assert_eq!(c.schema_from_json("null").unwrap(), None);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let depth = jsonparse::MAX_DEPTH;
        let deep = "[".repeat(depth) + &"]".repeat(depth);
        let plain = conv(&[("schemas.enable", "false")]);
        let (_, value) = read(&plain, &deep);
        assert_eq!(write(&plain, None, &value), deep);
        let enveloped = conv(&[]);
        let text = format!(
            r#"{{"schema":null,"payload":{}}}"#,
            &deep[1..deep.len() - 1]
        );
        assert_eq!(write(&enveloped, None, &read(&enveloped, &text).1), text);
        let too_deep = "[".repeat(depth + 1) + &"]".repeat(depth + 1);
        assert!(plain.to_connect("t", Some(too_deep.as_bytes())).is_err());
    }

    #[test]
    fn works_as_header_converter() {
        let c = conv(&[("converter.type", "header")]);
        let bytes = c
            .from_connect_header("t", "h", Some(&Schema::int16()), &Value::Int16(3))
            .unwrap()
            .unwrap();
        assert_eq!(
            bytes,
            br#"{"schema":{"type":"int16","optional":false},"payload":3}"#
        );
        assert_eq!(
            c.to_connect_header("t", "h", Some(&bytes)).unwrap(),
            (Some(Schema::int16()), Value::Int16(3))
        );
    }

    #[test]
    fn config_defaults_and_parsing() {
        assert_eq!(
            JsonConverterConfig::from_props(&cfg(&[])).unwrap(),
            JsonConverterConfig::default()
        );
        let parsed = JsonConverterConfig::from_props(&cfg(&[
            ("schemas.enable", " False "),
            ("schemas.cache.size", "5"),
            ("decimal.format", "Numeric"),
            ("replace.null.with.default", "FALSE"),
            ("converter.type", "value"),
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            JsonConverterConfig {
                schemas_enable: false,
                schemas_cache_size: 5,
                decimal_format: DecimalFormat::Numeric,
                replace_null_with_default: false,
            }
        );
        match JsonConverterConfig::from_props(&cfg(&[("schemas.cache.size", "-1")])) {
            Err(ConverterError::Config { key, .. }) => assert_eq!(key, "schemas.cache.size"),
            other => panic!("{other:?}"),
        }
    }
}
