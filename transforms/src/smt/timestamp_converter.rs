//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`: converts a
//! timestamp (the whole key/value, or one `field` of a struct or map) between a formatted
//! string, a Unix epoch number, and the Connect `Date`, `Time` and `Timestamp` logical types,
//! in UTC.
//!
//! With a schema, the input type comes from the schema: the `Timestamp`, `Date` and `Time`
//! logical names, else `string` (parsed with `format`) or `int64` (Unix time in
//! `unix.precision`); any other schema is an error. Without a schema Java looks at the value's
//! class; our schemaless values carry base representations, so:
//!
//! * `Int64` is a Unix time (Java's `Long`), read with `unix.precision`;
//! * `String` is text parsed with `format` (Java's `String`);
//! * anything else, `Int32` included, is an error, as for Java's `Integer`. (Java also accepts
//!   a `java.util.Date` as a Timestamp; none reaches a schemaless record here: the Date, Time
//!   and Timestamp this transformation writes without a schema are their base values,
//!   `Int32` days, `Int32` milliseconds and `Int64` milliseconds, so a second converter
//!   reads a schemaless Timestamp output as Unix time in `unix.precision`.)
//!
//! The output schema is the target type's standard schema, optional when the input schema
//! was. Null stays null. `format` is a Java `SimpleDateFormat` pattern (see
//! [`super::date_format`]), required when converting to `string`.

use std::sync::Arc;

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::{
    logical, ConfigDef, ConfigType, Importance, Props, Schema, SchemaRef, Struct, Type, Value,
};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{copy_basics, require_map, require_struct, SchemaCache};
use crate::smt::date_format::JavaDateFormat;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Value";

const FIELD: &str = "field";
const TARGET_TYPE: &str = "target.type";
const FORMAT: &str = "format";
const UNIX_PRECISION: &str = "unix.precision";

const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = 86_400_000;

/// The `$Key` and `$Value` variants.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(
        KEY_CLASS,
        VALUE_CLASS,
        config_def,
        TimestampConverter::create,
    )
    .to_vec()
}

fn config_def() -> ConfigDef {
    let one_of =
        |values: &[&str]| Validator::OneOf(values.iter().map(|v| (*v).to_owned()).collect(), false);
    ConfigDef::new()
        .define(config::with_default(
            FIELD,
            ConfigType::String,
            "",
            Importance::High,
            "The field containing the timestamp, or empty if the entire value is a timestamp",
        ))
        .define(
            config::required(
                TARGET_TYPE,
                ConfigType::String,
                Importance::High,
                "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
            )
            .validator(one_of(&["string", "unix", "Date", "Time", "Timestamp"])),
        )
        .define(config::with_default(
            FORMAT,
            ConfigType::String,
            "",
            Importance::Medium,
            "A SimpleDateFormat-compatible format for the timestamp. Produces the output when \
             target.type=string and parses the input when the input is a string.",
        ))
        .define(
            config::with_default(
                UNIX_PRECISION,
                ConfigType::String,
                "milliseconds",
                Importance::Low,
                "The precision of Unix timestamps: seconds, milliseconds, microseconds, or \
                 nanoseconds. Produces the output when target.type=unix and reads the input \
                 when the input is a Long. Sub-millisecond parts are lost in conversions.",
            )
            .validator(one_of(&[
                "nanoseconds",
                "microseconds",
                "milliseconds",
                "seconds",
            ])),
        )
        .define(config::replace_null_with_default())
}

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

/// The unit of Unix timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// Converts the timestamp of one side of the record.
pub struct TimestampConverter {
    side: Side,
    /// Empty: the whole key/value.
    field: String,
    target: Kind,
    format: Option<JavaDateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    /// The target type's schema, required and optional.
    target_schemas: [SchemaRef; 2],
    cache: SchemaCache,
}

impl TimestampConverter {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let get = |key: &str| cfg.get(key).unwrap_or_default();
        let target = match get(TARGET_TYPE) {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            _ => Kind::Timestamp,
        };
        let precision = match get(UNIX_PRECISION) {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        };
        let pattern = get(FORMAT);
        if target == Kind::String && pattern.is_empty() {
            return Err(ConfigError {
                key: FORMAT.to_owned(),
                message: "TimestampConverter requires format option to be specified when using \
                          string timestamps"
                    .to_owned(),
            });
        }
        let format = if pattern.is_empty() {
            None
        } else {
            Some(
                JavaDateFormat::parse_pattern(pattern).map_err(|why| ConfigError {
                    key: FORMAT.to_owned(),
                    message: format!(
                        "TimestampConverter requires a SimpleDateFormat-compatible pattern for \
                         string timestamps: {pattern} ({why})"
                    ),
                })?,
            )
        };
        let target_schema = |optional: bool| {
            let schema = match (target, optional) {
                (Kind::String, false) => return Schema::string(),
                (Kind::String, true) => return Schema::optional_string(),
                (Kind::Unix, false) => return Schema::int64(),
                (Kind::Unix, true) => return Schema::optional_int64(),
                (Kind::Date, _) => logical::date(),
                (Kind::Time, _) => logical::time(),
                (Kind::Timestamp, _) => logical::timestamp(),
            };
            if optional {
                schema.optional().into_ref()
            } else {
                schema.into_ref()
            }
        };
        Ok(Box::new(TimestampConverter {
            side,
            field: get(FIELD).to_owned(),
            target,
            format,
            precision,
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
            target_schemas: [target_schema(false), target_schema(true)],
            cache: SchemaCache::new(),
        }))
    }
}

/// The conversion itself, apart from the schema cache (so both can be borrowed at once).
struct Converter<'a> {
    field: &'a str,
    target: Kind,
    format: Option<&'a JavaDateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    target_schemas: &'a [SchemaRef; 2],
}

impl Transformation for TimestampConverter {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let conv = Converter {
            field: &self.field,
            target: self.target,
            format: self.format.as_ref(),
            precision: self.precision,
            replace_null_with_default: self.replace_null_with_default,
            target_schemas: &self.target_schemas,
        };
        let (schema, value) = record.data_mut(self.side);
        let input = std::mem::take(value);
        match schema.clone() {
            None => *value = conv.schemaless(input)?,
            Some(input_schema) => {
                let (out_schema, out) = conv.with_schema(&mut self.cache, &input_schema, input)?;
                *schema = Some(out_schema);
                *value = out;
            }
        }
        Ok(Outcome::Keep)
    }
}

impl Converter<'_> {
    fn target_schema(&self, optional: bool) -> SchemaRef {
        self.target_schemas[usize::from(optional)].clone()
    }

    fn with_schema(
        &self,
        cache: &mut SchemaCache,
        schema: &SchemaRef,
        value: Value,
    ) -> Result<(SchemaRef, Value), TransformError> {
        if self.field.is_empty() {
            let kind = kind_of_schema(schema)?;
            let out = self.convert(value, kind)?;
            return Ok((self.target_schema(schema.optional), out));
        }
        if !value.is_null() {
            require_struct(&value, PURPOSE)?;
        }
        if schema.type_ != Type::Struct {
            return Err(TransformError::new("Cannot list fields on non-struct type"));
        }
        let updated = cache.get_or_try_insert(schema, |s| self.updated_schema(s))?;
        match value {
            Value::Struct(s) => {
                let converted = self.convert_struct(s, &updated)?;
                Ok((updated, Value::Struct(converted)))
            }
            _ => Ok((updated, Value::Null)),
        }
    }

    /// The struct schema with the timestamp field's schema replaced by the target's.
    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef, TransformError> {
        let fields = schema.fields.iter().map(|f| {
            let field_schema = if f.name == self.field {
                self.target_schema(f.schema.optional)
            } else {
                f.schema.clone()
            };
            (f.name.clone(), field_schema)
        });
        let mut out = copy_basics(schema, Type::Struct);
        out.fields = Schema::struct_(fields).fields;
        out.optional = schema.optional;
        if let Some(Value::Struct(default)) = &schema.default {
            // The default is converted like a value, over the schema without a default.
            let base = Arc::new(out.clone());
            let converted = self.convert_struct(default.clone(), &base)?;
            out.default = Some(Value::Struct(converted));
        }
        Ok(Arc::new(out))
    }

    fn convert_struct(&self, value: Struct, updated: &SchemaRef) -> Result<Struct, TransformError> {
        let (schema, values) = value.into_parts();
        let mut out = Vec::with_capacity(values.len());
        for ((field, v), new_field) in schema.fields.iter().zip(values).zip(&updated.fields) {
            let v = match (v, &field.schema.default) {
                (Value::Null, Some(default)) if self.replace_null_with_default => default.clone(),
                (v, _) => v,
            };
            let v = if field.name == self.field {
                let kind = kind_of_schema(&field.schema)?;
                self.convert(v, kind)?
            } else {
                v
            };
            if v.is_null() && !new_field.schema.optional {
                return Err(TransformError::new(format!(
                    "Invalid value: null used for required field: \"{}\", schema type: {}",
                    new_field.name,
                    new_field.schema.type_.name().to_uppercase()
                )));
            }
            out.push(v);
        }
        Ok(Struct::from_parts(updated.clone(), out)?)
    }

    fn schemaless(&self, value: Value) -> Result<Value, TransformError> {
        if value.is_null() || self.field.is_empty() {
            return self.convert_inferred(value);
        }
        require_map(&value, PURPOSE)?;
        let Value::Map(mut entries) = value else {
            return Ok(Value::Null);
        };
        match entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(self.field))
        {
            Some((_, v)) => *v = self.convert_inferred(std::mem::take(v))?,
            // Java puts the (null) result under the field name even when it was missing.
            None => entries.push((Value::String(self.field.to_owned()), Value::Null)),
        }
        Ok(Value::Map(entries))
    }

    /// Converts a schemaless timestamp, its kind taken from the value (null stays null).
    fn convert_inferred(&self, value: Value) -> Result<Value, TransformError> {
        let kind = match &value {
            Value::Null => return Ok(Value::Null),
            Value::Int64(_) => Kind::Unix,
            Value::String(_) => Kind::String,
            other => {
                return Err(TransformError::new(format!(
                    "TimestampConverter does not support {} objects as timestamps",
                    java_class(other)
                )))
            }
        };
        self.convert(value, kind)
    }

    /// Converts a timestamp of `kind` to the target (null stays null).
    fn convert(&self, value: Value, kind: Kind) -> Result<Value, TransformError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let millis = self.to_millis(value, kind)?;
        Ok(match self.target {
            Kind::String => {
                let format = self.format.ok_or_else(no_format)?;
                Value::String(format.format_millis(millis).map_err(TransformError::new)?)
            }
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Milliseconds => millis,
                Precision::Microseconds => millis.saturating_mul(1000),
                Precision::Nanoseconds => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => {
                let days = millis.div_euclid(MILLIS_PER_DAY);
                Value::Int32(i32::try_from(days).map_err(|_| {
                    TransformError::new(format!(
                        "timestamp {millis} is out of the range of a Connect Date"
                    ))
                })?)
            }
            // Below a day, so it fits.
            Kind::Time => Value::Int32(millis.rem_euclid(MILLIS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(millis),
        })
    }

    /// Milliseconds since the epoch of a non-null timestamp of `kind`.
    fn to_millis(&self, value: Value, kind: Kind) -> Result<i64, TransformError> {
        let wrong = |expected: &str, v: &Value| {
            TransformError::new(format!("Expected {expected}, but found {}", java_class(v)))
        };
        match (kind, value) {
            (Kind::String, Value::String(text)) => {
                let format = self.format.ok_or_else(no_format)?;
                format.parse_to_millis(&text).map_err(|_| {
                    TransformError::new(format!(
                        "Could not parse timestamp: value ({text}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            (Kind::String, v) => Err(wrong("string timestamp to be a String", &v)),
            (Kind::Unix, Value::Int64(n)) => Ok(match self.precision {
                Precision::Seconds => n.saturating_mul(1000),
                Precision::Milliseconds => n,
                Precision::Microseconds => n / 1000,
                Precision::Nanoseconds => n / 1_000_000,
            }),
            (Kind::Unix, v) => Err(wrong("Unix timestamp to be a Long", &v)),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(days) * MILLIS_PER_DAY),
            (Kind::Date, v) => Err(wrong("Date to be a java.util.Date", &v)),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(ms)),
            (Kind::Time, v) => Err(wrong("Time to be a java.util.Date", &v)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(ms),
            (Kind::Timestamp, v) => Err(wrong("Timestamp to be a java.util.Date", &v)),
        }
    }
}

fn no_format() -> TransformError {
    TransformError::new("TimestampConverter needs the format option to convert string timestamps")
}

/// The kind of timestamp a schema holds.
fn kind_of_schema(schema: &SchemaRef) -> Result<Kind, TransformError> {
    Ok(match schema.name.as_deref() {
        Some(logical::TIMESTAMP) => Kind::Timestamp,
        Some(logical::DATE) => Kind::Date,
        Some(logical::TIME) => Kind::Time,
        _ => match schema.type_ {
            Type::String => Kind::String,
            Type::Int64 => Kind::Unix,
            _ => {
                let type_ = schema.type_.name().to_uppercase();
                let shown = match &schema.name {
                    Some(name) => format!("Schema{{{name}:{type_}}}"),
                    None => format!("Schema{{{type_}}}"),
                };
                return Err(TransformError::new(format!(
                    "Schema {shown} does not correspond to a known timestamp type format"
                )));
            }
        },
    })
}

/// The Java class of the value Connect would carry for `value` (for error messages).
fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "class java.lang.Boolean",
        Value::Int8(_) => "class java.lang.Byte",
        Value::Int16(_) => "class java.lang.Short",
        Value::Int32(_) => "class java.lang.Integer",
        Value::Int64(_) => "class java.lang.Long",
        Value::Float32(_) => "class java.lang.Float",
        Value::Float64(_) => "class java.lang.Double",
        Value::String(_) => "class java.lang.String",
        Value::Bytes(_) => "class [B",
        Value::Array(_) => "class java.util.ArrayList",
        Value::Map(_) => "class java.util.HashMap",
        Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{SinkRecord, SourceRecord};

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    /// 1970-01-02T00:00:01.234Z (Java test's DATE_PLUS_TIME).
    const DATE_PLUS_TIME: i64 = 86_401_234;
    /// The same day at midnight, as Date days and as milliseconds.
    const DATE_DAYS: i32 = 1;
    const DATE_MILLIS: i64 = 86_400_000;
    /// The time of day of DATE_PLUS_TIME.
    const TIME_MILLIS: i32 = 1234;
    const FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 00 00 01 234 UTC";

    fn value_xf(pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        transform(VALUE_CLASS, pairs)
    }

    /// Converts a whole value with a schema; returns the output schema and value.
    fn with_schema(pairs: &[(&str, &str)], schema: SchemaRef, v: Value) -> (SchemaRef, Value) {
        let mut t = value_xf(pairs);
        let mut r = source("t", None, Value::Null, Some(schema), v);
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        (r.value_schema.unwrap(), r.value)
    }

    /// Converts a whole schemaless value.
    fn schemaless(pairs: &[(&str, &str)], v: Value) -> Value {
        let mut t = value_xf(pairs);
        let mut r = source("t", None, Value::Null, None, v);
        apply(t.as_mut(), &mut r);
        assert!(r.value_schema.is_none());
        r.value
    }

    fn error(pairs: &[(&str, &str)], schema: Option<SchemaRef>, v: Value) -> String {
        let mut t = value_xf(pairs);
        let mut r = source("t", None, Value::Null, schema, v);
        t.apply(&mut r).unwrap_err().message
    }

    fn ts() -> SchemaRef {
        logical::timestamp().into_ref()
    }
    fn date() -> SchemaRef {
        logical::date().into_ref()
    }
    fn time() -> SchemaRef {
        logical::time().into_ref()
    }
    fn opt(s: Schema) -> SchemaRef {
        s.optional().into_ref()
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[]), TARGET_TYPE);
        assert_eq!(key(&[("target.type", "invalid")]), TARGET_TYPE);
        // The type names are case-sensitive.
        assert_eq!(key(&[("target.type", "timestamp")]), TARGET_TYPE);
        assert_eq!(key(&[("target.type", "STRING")]), TARGET_TYPE);
        assert_eq!(
            key(&[("target.type", "unix"), ("unix.precision", "invalid")]),
            UNIX_PRECISION
        );
        assert_eq!(key(&[("target.type", "string")]), FORMAT);
        assert_eq!(key(&[("target.type", "string"), ("format", "  ")]), FORMAT);
        assert_eq!(
            key(&[("target.type", "string"), ("format", "bad-format")]),
            FORMAT
        );
        // A bad pattern is rejected even when only string input would use it.
        assert_eq!(
            key(&[("target.type", "unix"), ("format", "yyyy-MM-dd'T")]),
            FORMAT
        );
        assert_eq!(
            key(&[("target.type", "Date"), ("format", "YYYY-ww")]),
            FORMAT
        );
        let err = build(
            VALUE_CLASS,
            &[("target.type", "string"), ("format", "bad-format")],
        )
        .err()
        .unwrap();
        assert!(err.message.contains("bad-format"), "{}", err.message);
        assert_eq!(
            key(&[
                ("target.type", "Date"),
                ("replace.null.with.default", "maybe")
            ]),
            config::REPLACE_NULL_WITH_DEFAULT
        );
        for ok in [
            &[("target.type", "unix"), ("unix.precision", "seconds")][..],
            &[("target.type", " Timestamp ")],
            &[("target.type", "string"), ("format", "yyyy-MM-dd")],
        ] {
            assert!(build(VALUE_CLASS, ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn schemaless_from_unix_to_every_type() {
        let from_unix = |target: &str| {
            schemaless(
                &[("target.type", target), ("format", FMT)],
                Value::Int64(DATE_PLUS_TIME),
            )
        };
        assert_eq!(from_unix("Timestamp"), Value::Int64(DATE_PLUS_TIME));
        assert_eq!(from_unix("Date"), Value::Int32(DATE_DAYS));
        assert_eq!(from_unix("Time"), Value::Int32(TIME_MILLIS));
        assert_eq!(from_unix("unix"), Value::Int64(DATE_PLUS_TIME));
        assert_eq!(from_unix("string"), Value::from(DATE_PLUS_TIME_STRING));
    }

    #[test]
    fn schemaless_from_string() {
        let from_string =
            |pairs: &[(&str, &str)]| schemaless(pairs, Value::from(DATE_PLUS_TIME_STRING));
        assert_eq!(
            from_string(&[("target.type", "Timestamp"), ("format", FMT)]),
            Value::Int64(DATE_PLUS_TIME)
        );
        assert_eq!(
            from_string(&[("target.type", "Date"), ("format", FMT)]),
            Value::Int32(DATE_DAYS)
        );
        // Unix output in each precision (the pivot holds milliseconds only).
        let unix = |precision: &str| {
            from_string(&[
                ("target.type", "unix"),
                ("format", FMT),
                ("unix.precision", precision),
            ])
        };
        assert_eq!(unix("seconds"), Value::Int64(86_401));
        assert_eq!(unix("milliseconds"), Value::Int64(DATE_PLUS_TIME));
        assert_eq!(unix("microseconds"), Value::Int64(86_401_234_000));
        assert_eq!(unix("nanoseconds"), Value::Int64(86_401_234_000_000));
        // Reformatting a string.
        assert_eq!(
            from_string(&[("target.type", "string"), ("format", FMT)]),
            Value::from(DATE_PLUS_TIME_STRING)
        );
    }

    #[test]
    fn schemaless_unix_input_precisions() {
        let to_ts = |precision: &str, n: i64| {
            schemaless(
                &[("target.type", "Timestamp"), ("unix.precision", precision)],
                Value::Int64(n),
            )
        };
        assert_eq!(to_ts("seconds", 86_401), Value::Int64(86_401_000));
        assert_eq!(
            to_ts("microseconds", 86_401_234_123),
            Value::Int64(DATE_PLUS_TIME)
        );
        assert_eq!(
            to_ts("nanoseconds", 86_401_234_123_456),
            Value::Int64(DATE_PLUS_TIME)
        );
        // Java's TimeUnit: truncation toward zero, saturation on overflow.
        assert_eq!(to_ts("microseconds", -1_500), Value::Int64(-1));
        assert_eq!(to_ts("seconds", i64::MAX), Value::Int64(i64::MAX));
        let to_unix = |precision: &str, ms: i64| {
            schemaless(
                &[("target.type", "unix"), ("unix.precision", precision)],
                Value::Int64(ms),
            )
        };
        // Milliseconds in, the same precision out: unchanged.
        assert_eq!(to_unix("seconds", 1_999), Value::Int64(1_999));
    }

    #[test]
    fn schemaless_inputs_java_rejects() {
        let pairs = [("target.type", "Timestamp"), ("format", FMT)];
        let err = error(&pairs, None, Value::Int32(5));
        assert!(err.contains("java.lang.Integer"), "{err}");
        assert!(error(&pairs, None, Value::Float64(1.0)).contains("does not support"));
        assert!(error(&pairs, None, Value::Boolean(true)).contains("does not support"));
        // A string that does not match the pattern.
        let err = error(&pairs, None, Value::from("yesterday"));
        assert!(
            err.contains("Could not parse timestamp") && err.contains(FMT),
            "{err}"
        );
        // A string without a format to parse it.
        let err = error(&[("target.type", "Timestamp")], None, Value::from("2024"));
        assert!(err.contains("format"), "{err}");
    }

    #[test]
    fn schemaless_nulls() {
        for target in ["string", "unix", "Date", "Time", "Timestamp"] {
            let pairs = [("target.type", target), ("format", FMT)];
            assert_eq!(schemaless(&pairs, Value::Null), Value::Null);
            let with_field = [("target.type", target), ("format", FMT), ("field", "ts")];
            assert_eq!(schemaless(&with_field, Value::Null), Value::Null);
            assert_eq!(
                schemaless(
                    &with_field,
                    map(vec![("ts", Value::Null), ("x", Value::Int32(1))])
                ),
                map(vec![("ts", Value::Null), ("x", Value::Int32(1))])
            );
        }
    }

    #[test]
    fn schemaless_field() {
        let pairs = [("target.type", "Date"), ("field", "ts")];
        let out = schemaless(
            &pairs,
            map(vec![
                ("id", Value::Int32(7)),
                ("ts", Value::Int64(DATE_PLUS_TIME)),
            ]),
        );
        assert_eq!(
            out,
            map(vec![
                ("id", Value::Int32(7)),
                ("ts", Value::Int32(DATE_DAYS))
            ])
        );
        // A missing field is added as null, as Java's map put does.
        let out = schemaless(&pairs, map(vec![("id", Value::Int32(7))]));
        assert_eq!(out, map(vec![("id", Value::Int32(7)), ("ts", Value::Null)]));
        // Not a map.
        let err = error(&pairs, None, Value::Int64(1));
        assert!(err.contains("Only Map objects supported"), "{err}");
    }

    #[test]
    fn with_schema_from_timestamp_to_every_type() {
        let cases: [(&str, SchemaRef, Value); 5] = [
            ("Timestamp", ts(), Value::Int64(DATE_PLUS_TIME)),
            ("Date", date(), Value::Int32(DATE_DAYS)),
            ("Time", time(), Value::Int32(TIME_MILLIS)),
            ("unix", Schema::int64(), Value::Int64(DATE_PLUS_TIME)),
            (
                "string",
                Schema::string(),
                Value::from(DATE_PLUS_TIME_STRING),
            ),
        ];
        for (target, schema, value) in cases {
            let out = with_schema(
                &[("target.type", target), ("format", FMT)],
                ts(),
                Value::Int64(DATE_PLUS_TIME),
            );
            assert_eq!(out, (schema, value), "{target}");
        }
    }

    #[test]
    fn with_schema_from_every_type_to_timestamp() {
        let pairs = [("target.type", "Timestamp"), ("format", FMT)];
        // Coarser inputs keep what they have.
        assert_eq!(
            with_schema(&pairs, date(), Value::Int32(DATE_DAYS)),
            (ts(), Value::Int64(DATE_MILLIS))
        );
        assert_eq!(
            with_schema(&pairs, time(), Value::Int32(TIME_MILLIS)),
            (ts(), Value::Int64(1234))
        );
        assert_eq!(
            with_schema(&pairs, Schema::int64(), Value::Int64(DATE_PLUS_TIME)),
            (ts(), Value::Int64(DATE_PLUS_TIME))
        );
        assert_eq!(
            with_schema(&pairs, Schema::string(), Value::from(DATE_PLUS_TIME_STRING)),
            (ts(), Value::Int64(DATE_PLUS_TIME))
        );
        // Date to Time is midnight; Time to Date is the epoch day.
        assert_eq!(
            with_schema(&[("target.type", "Time")], date(), Value::Int32(19_000)),
            (time(), Value::Int32(0))
        );
        assert_eq!(
            with_schema(&[("target.type", "Date")], time(), Value::Int32(5_000)),
            (date(), Value::Int32(0))
        );
    }

    #[test]
    fn before_the_epoch_dates_and_times_round_down() {
        // 1969-12-31T23:59:59.999Z
        assert_eq!(
            with_schema(&[("target.type", "Date")], ts(), Value::Int64(-1)),
            (date(), Value::Int32(-1))
        );
        assert_eq!(
            with_schema(&[("target.type", "Time")], ts(), Value::Int64(-1)),
            (time(), Value::Int32(86_399_999))
        );
        assert_eq!(
            with_schema(
                &[("target.type", "unix"), ("unix.precision", "seconds")],
                ts(),
                Value::Int64(-1_500)
            ),
            (Schema::int64(), Value::Int64(-1))
        );
    }

    #[test]
    fn with_schema_null_whole_values_get_the_optional_target_schema() {
        let optional_inputs = || {
            [
                Schema::optional_int64(),
                opt(logical::time()),
                opt(logical::date()),
                Schema::optional_string(),
                opt(logical::timestamp()),
            ]
        };
        let expected = [
            ("Timestamp", opt(logical::timestamp())),
            ("unix", Schema::optional_int64()),
            ("Time", opt(logical::time())),
            ("Date", opt(logical::date())),
            ("string", Schema::optional_string()),
        ];
        for (target, out_schema) in expected {
            for input in optional_inputs() {
                let out = with_schema(
                    &[("target.type", target), ("format", FMT)],
                    input,
                    Value::Null,
                );
                assert_eq!(out, (out_schema.clone(), Value::Null), "{target}");
            }
        }
    }

    #[test]
    fn with_schema_null_fields_and_null_structs() {
        for (target, out_field) in [
            ("Timestamp", opt(logical::timestamp())),
            ("unix", Schema::optional_int64()),
            ("Date", opt(logical::date())),
            ("Time", opt(logical::time())),
            ("string", Schema::optional_string()),
        ] {
            for input in [
                Schema::optional_int64(),
                opt(logical::date()),
                Schema::optional_string(),
            ] {
                let pairs = [("target.type", target), ("format", FMT), ("field", "ts")];
                let schema = Schema::struct_([("ts", input.clone()), ("other", Schema::string())])
                    .into_ref();
                let expected =
                    Schema::struct_([("ts", out_field.clone()), ("other", Schema::string())])
                        .into_ref();
                let v = strukt(&schema, vec![("other", Value::from("test"))]);
                let (s, out) = with_schema(&pairs, schema, v);
                assert_eq!(s, expected);
                let Value::Struct(out) = out else {
                    panic!("{out:?}")
                };
                assert_eq!(out.get("ts"), Some(&Value::Null));
                assert_eq!(out.get("other"), Some(&Value::from("test")));
                // The whole struct null: the optional struct schema, null.
                let schema = Schema::struct_([("ts", input), ("other", Schema::string())])
                    .optional()
                    .into_ref();
                let expected =
                    Schema::struct_([("ts", out_field.clone()), ("other", Schema::string())])
                        .optional()
                        .into_ref();
                assert_eq!(
                    with_schema(&pairs, schema, Value::Null),
                    (expected, Value::Null)
                );
            }
        }
    }

    #[test]
    fn with_schema_field_conversion_keeps_the_rest() {
        let schema = Schema::struct_([("ts", Schema::int64()), ("other", Schema::string())])
            .with_name("shop.Order")
            .with_version(3)
            .with_doc("an order")
            .into_ref();
        let v = strukt(
            &schema,
            vec![
                ("ts", Value::Int64(DATE_PLUS_TIME)),
                ("other", Value::from("test")),
            ],
        );
        let (s, out) = with_schema(&[("target.type", "Timestamp"), ("field", "ts")], schema, v);
        let expected = Schema::struct_([("ts", ts()), ("other", Schema::string())])
            .with_name("shop.Order")
            .with_version(3)
            .with_doc("an order")
            .into_ref();
        assert_eq!(s, expected);
        assert_eq!(
            out,
            strukt(
                &expected,
                vec![
                    ("ts", Value::Int64(DATE_PLUS_TIME)),
                    ("other", Value::from("test"))
                ]
            )
        );
    }

    #[test]
    fn with_schema_field_precisions() {
        for (precision, n, expected) in [
            ("microseconds", 86_401_234_123, DATE_PLUS_TIME),
            ("nanoseconds", 86_401_234_123_456, DATE_PLUS_TIME),
            ("seconds", 86_401, 86_401_000),
        ] {
            let schema = Schema::struct_([("ts", Schema::int64())]).into_ref();
            let v = strukt(&schema, vec![("ts", Value::Int64(n))]);
            let pairs = [
                ("target.type", "Timestamp"),
                ("field", "ts"),
                ("unix.precision", precision),
            ];
            let (s, out) = with_schema(&pairs, schema, v);
            let expected_schema = Schema::struct_([("ts", ts())]).into_ref();
            assert_eq!(
                out,
                strukt(&expected_schema, vec![("ts", Value::Int64(expected))])
            );
            assert_eq!(s, expected_schema);
        }
    }

    #[test]
    fn replace_null_with_default() {
        let field = Schema::new(Type::Int64)
            .optional()
            .with_default(Value::Int64(0))
            .into_ref();
        let schema = Schema::struct_([
            ("ts", field.clone()),
            ("n", field),
            ("other", Schema::string()),
        ])
        .into_ref();
        let v = strukt(&schema, vec![("other", Value::from("test"))]);
        let run = |replace: &str| {
            let pairs = [
                ("target.type", "Timestamp"),
                ("field", "ts"),
                ("replace.null.with.default", replace),
            ];
            with_schema(&pairs, schema.clone(), v.clone())
        };
        let (s, out) = run("false");
        let Value::Struct(out) = out else { panic!() };
        assert_eq!(s.fields[0].schema, opt(logical::timestamp()));
        assert_eq!(
            out.values(),
            &[Value::Null, Value::Null, Value::from("test")]
        );
        // With the default: the timestamp field converts its default, and the other null
        // fields with defaults take them too.
        let (_, out) = run("true");
        let Value::Struct(out) = out else { panic!() };
        assert_eq!(
            out.values(),
            &[Value::Int64(0), Value::Int64(0), Value::from("test")]
        );
    }

    #[test]
    fn struct_defaults_are_converted() {
        let inner = Schema::struct_([("ts", Schema::int64())]).into_ref();
        let default = strukt(&inner, vec![("ts", Value::Int64(DATE_PLUS_TIME))]);
        let schema = Schema::struct_([("ts", Schema::int64())])
            .optional()
            .with_default(default)
            .into_ref();
        let (s, out) = with_schema(
            &[("target.type", "Date"), ("field", "ts")],
            schema,
            Value::Null,
        );
        assert_eq!(out, Value::Null);
        assert!(s.optional);
        let Some(Value::Struct(d)) = &s.default else {
            panic!("{:?}", s.default)
        };
        assert_eq!(d.values(), &[Value::Int32(DATE_DAYS)]);
        assert_eq!(s.fields[0].schema, date());
    }

    #[test]
    fn with_schema_errors() {
        let pairs = [("target.type", "Timestamp"), ("format", FMT)];
        // Schemas that are not a timestamp, even for a null value.
        let err = error(&pairs, Some(Schema::int32()), Value::Int32(1));
        assert!(
            err.contains("Schema{INT32}") && err.contains("known timestamp"),
            "{err}"
        );
        assert!(error(&pairs, Some(Schema::optional_float64()), Value::Null)
            .contains("known timestamp"));
        let field_pairs = [("target.type", "Timestamp"), ("field", "ts")];
        let schema = Schema::struct_([("ts", Schema::boolean())]).into_ref();
        let v = strukt(&schema, vec![("ts", Value::Boolean(true))]);
        assert!(error(&field_pairs, Some(schema), v).contains("Schema{BOOLEAN}"));
        // A field setting on a value that is not a struct.
        let err = error(&field_pairs, Some(Schema::int64()), Value::Int64(1));
        assert!(err.contains("Only Struct objects supported"), "{err}");
        assert!(
            error(&field_pairs, Some(Schema::optional_int64()), Value::Null).contains("non-struct")
        );
        // A string that does not parse.
        let err = error(&pairs, Some(Schema::string()), Value::from("1970-01-02"));
        assert!(err.contains("(1970-01-02)"), "{err}");
        // A Date beyond the range of int32 days.
        let err = error(
            &[("target.type", "Date")],
            Some(Schema::int64()),
            Value::Int64(i64::MAX),
        );
        assert!(err.contains("range"), "{err}");
    }

    #[test]
    fn unknown_field_leaves_the_struct_alone() {
        let schema = Schema::struct_([("other", Schema::string())]).into_ref();
        let v = strukt(&schema, vec![("other", Value::from("x"))]);
        let (s, out) = with_schema(
            &[("target.type", "unix"), ("field", "ts")],
            schema.clone(),
            v.clone(),
        );
        assert_eq!((s, out), (schema, v));
    }

    #[test]
    fn derived_schemas_are_cached() {
        let mut t = value_xf(&[("target.type", "unix"), ("field", "ts")]);
        let schema = Schema::struct_([("ts", ts())]).into_ref();
        let mut first = None;
        for n in [1, 2] {
            let v = strukt(&schema, vec![("ts", Value::Int64(n))]);
            let mut r = source("t", None, Value::Null, Some(schema.clone()), v);
            apply(t.as_mut(), &mut r);
            let s = r.value_schema.unwrap();
            if let Some(f) = &first {
                assert!(Arc::ptr_eq(f, &s));
            }
            first = Some(s);
        }
    }

    #[test]
    fn key_variant_converts_the_key_only() {
        let mut t = transform(KEY_CLASS, &[("target.type", "Timestamp")]);
        let mut r: SinkRecord = sink(
            "t",
            None,
            Value::Int64(DATE_PLUS_TIME),
            Some(Schema::int64()),
            Value::Int64(5),
        );
        apply(t.as_mut(), &mut r);
        assert!(r.key_schema.is_none());
        assert_eq!(r.key, Value::Int64(DATE_PLUS_TIME));
        assert_eq!(r.value, Value::Int64(5));
        assert_eq!(r.value_schema, Some(Schema::int64()));

        let mut t = transform(
            KEY_CLASS,
            &[("target.type", "string"), ("format", "yyyy-MM-dd")],
        );
        let mut r: SourceRecord = source(
            "t",
            Some(ts()),
            Value::Int64(DATE_PLUS_TIME),
            None,
            Value::Int64(5),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(r.key_schema, Some(Schema::string()));
        assert_eq!(r.key, Value::from("1970-01-02"));
        assert_eq!(r.value, Value::Int64(5));
    }

    #[test]
    fn tombstones_pass_through() {
        let mut t = value_xf(&[
            ("target.type", "string"),
            ("format", "yyyy"),
            ("field", "ts"),
        ]);
        let mut r = sink("t", None, Value::from("k"), None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!((r.value_schema, r.value), (None, Value::Null));
    }

    #[test]
    fn typical_config() {
        // A struct field of epoch milliseconds to a yyyy-MM-dd string.
        let pairs = [
            ("field", "event_date_long"),
            ("target.type", "string"),
            ("format", "yyyy-MM-dd"),
        ];
        let schema = Schema::struct_([("event_date_long", Schema::int64())]).into_ref();
        let v = strukt(
            &schema,
            vec![("event_date_long", Value::Int64(1_700_000_000_000))],
        );
        let (s, out) = with_schema(&pairs, schema, v);
        let expected = Schema::struct_([("event_date_long", Schema::string())]).into_ref();
        assert_eq!(s, expected);
        assert_eq!(
            out,
            strukt(
                &expected,
                vec![("event_date_long", Value::from("2023-11-14"))]
            )
        );
    }
}
