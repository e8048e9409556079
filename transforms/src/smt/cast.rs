//! `org.apache.kafka.connect.transforms.Cast$Key` / `$Value`: casts the whole key or value, or
//! named top-level fields of a Struct (with a schema) or a Map (schemaless), to `int8`, `int16`,
//! `int32`, `int64`, `float32`, `float64`, `boolean` or `string`.
//!
//! As in Kafka Connect:
//! * inputs may be any primitive type or bytes; bytes only cast to `string` (base64);
//! * numbers narrow like Java's `Number.byteValue()` … `longValue()` (integers wrap, floats
//!   saturate through `int`/`long`), and become booleans when their `long` value is non-zero;
//! * strings parse like `Byte.parseByte` … `Long.parseLong`, `Float.parseFloat`,
//!   `Double.parseDouble` and `Boolean.parseBoolean`; a string that does not parse is an error;
//! * logical types cast through their base value (Date: days, Time: milliseconds of the day,
//!   Timestamp: milliseconds since the epoch); Decimal through its `BigDecimal` value
//!   (`intValue()` keeps the low bits of the integer part); to `string`, Decimal renders as
//!   `BigDecimal.toString()` and the temporal types as Kafka's `Values.dateFormatFor` picks the
//!   layout: `HH:mm:ss.SSS'Z'` below one day of milliseconds, `yyyy-MM-dd` on a whole day, else
//!   `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (UTC);
//! * a whole-value cast keeps the schema's name, version, doc and parameters; a cast field gets a
//!   plain schema of the target type with the original optionality and its default cast too;
//! * a null key/value passes through; `replace.null.with.default` decides whether a null field
//!   with a default is read as its default (then cast) or stays null.

use std::sync::Arc;

use base64::Engine as _;
use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{java_text, logical};
use tributary_connector_api::{
    ConfigDef, ConfigType, Field, Importance, Props, Schema, SchemaRef, Struct, Type, Value,
};

use crate::config::{self, java_list, java_trim, REPLACE_NULL_WITH_DEFAULT};
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{self, SchemaCache};

/// The class casting the record key.
pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.Cast$Key";
/// The class casting the record value.
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.Cast$Value";

const SPEC: &str = "spec";
const PURPOSE: &str = "cast types";

/// Every Connect type, in Java's enum order (for the names a spec may use).
const ALL_TYPES: [Type; 12] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
    Type::Bytes,
    Type::Array,
    Type::Map,
    Type::Struct,
];
const INPUT_TYPES: &[Type] = ALL_TYPES.split_at(9).0;
const OUTPUT_TYPES: &[Type] = ALL_TYPES.split_at(8).0;

const MILLIS_PER_DAY: i64 = java_text::MILLIS_PER_DAY;

/// `Cast$Key` and `Cast$Value`.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, Cast::create).to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(config::required(
            SPEC,
            ConfigType::List,
            Importance::High,
            "The fields to cast and their target types, as field1:type,field2:type (fields of a \
             Struct or Map), or a single type to cast the whole key or value. Types: int8, int16, \
             int32, int64, float32, float64, boolean, string; bytes cast only to string.",
        ))
        .define(config::replace_null_with_default())
}

/// What the spec casts.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    /// The whole key or value.
    Whole(Type),
    /// Top-level fields by name, in the order first named (a repeated name keeps its last type).
    Fields(Vec<(String, Type)>),
}

impl Spec {
    fn field_type(&self, name: &str) -> Option<Type> {
        match self {
            Spec::Whole(_) => None,
            Spec::Fields(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, t)| *t),
        }
    }
}

/// Casts a key or value, or some of its fields.
pub struct Cast {
    side: Side,
    spec: Spec,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl Cast {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let spec = parse_spec(cfg.get(SPEC).unwrap_or_default())?;
        Ok(Box::new(Cast {
            side,
            spec,
            replace_null_with_default: cfg.get_bool(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        }))
    }

    fn apply_schemaless(&self, value: Value) -> Result<Value, TransformError> {
        let fields = match &self.spec {
            Spec::Whole(target) => return cast_value(None, &value, *target),
            Spec::Fields(fields) => fields,
        };
        schema_util::require_map(&value, PURPOSE)?;
        let Value::Map(mut entries) = value else {
            return Ok(value);
        };
        for (name, target) in fields {
            match entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(name.as_str()))
            {
                Some((_, v)) => *v = cast_value(None, v, *target)?,
                // Java puts the (null) cast of the missing field into the map.
                None => entries.push((Value::String(name.clone()), Value::Null)),
            }
        }
        Ok(Value::Map(entries))
    }

    fn apply_with_schema(
        &self,
        schema: &SchemaRef,
        updated: &SchemaRef,
        value: Value,
    ) -> Result<Value, TransformError> {
        if let Spec::Whole(target) = self.spec {
            return cast_value(Some(schema), &value, target);
        }
        schema_util::require_struct(&value, PURPOSE)?;
        let Value::Struct(input) = value else {
            return Ok(value);
        };
        let (input_schema, values) = input.into_parts();
        let mut out = Struct::new(updated.clone())?;
        for (field, mut v) in input_schema.fields.iter().zip(values) {
            if v.is_null() && self.replace_null_with_default {
                if let Some(default) = &field.schema.default {
                    v = default.clone();
                }
            }
            if let Some(target) = self.spec.field_type(&field.name) {
                v = cast_value(Some(&field.schema), &v, target)?;
            }
            let out_field = updated.field(&field.name).ok_or_else(|| {
                TransformError::new(format!("{} is not a valid field name", field.name))
            })?;
            require_present(out_field, &v)?;
            out.put_index(out_field.index, v);
        }
        Ok(Value::Struct(out))
    }
}

impl Transformation for Cast {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (schema_slot, value_slot) = record.data_mut(self.side);
        if value_slot.is_null() {
            return Ok(Outcome::Keep);
        }
        match schema_slot.clone() {
            None => {
                let value = std::mem::take(value_slot);
                *value_slot = self.apply_schemaless(value)?;
            }
            Some(schema) => {
                let spec = &self.spec;
                let updated = self
                    .cache
                    .get_or_try_insert(&schema, |s| build_schema(spec, s))?;
                let value = std::mem::take(value_slot);
                *value_slot = self.apply_with_schema(&schema, &updated, value)?;
                *schema_slot = Some(updated);
            }
        }
        Ok(Outcome::Keep)
    }
}

/// Java's `Struct.put` check: a null may only go into an optional field.
fn require_present(field: &Field, value: &Value) -> Result<(), TransformError> {
    if value.is_null() && !field.schema.optional {
        return Err(TransformError::new(format!(
            "Invalid value: null used for required field: \"{}\", schema type: {}",
            field.name,
            field.schema.type_.name().to_uppercase()
        )));
    }
    Ok(())
}

/// The output schema for `schema`.
fn build_schema(spec: &Spec, schema: &SchemaRef) -> Result<SchemaRef, TransformError> {
    let mut out = match spec {
        Spec::Whole(target) => schema_util::copy_basics(schema, *target),
        Spec::Fields(_) => {
            if schema.type_ != Type::Struct {
                return Err(TransformError::new(format!(
                    "Cannot list fields on non-struct type {}",
                    schema.type_.name().to_uppercase()
                )));
            }
            let mut out = schema_util::copy_basics(schema, Type::Struct);
            out.fields = schema
                .fields
                .iter()
                .enumerate()
                .map(|(index, field)| {
                    let field_schema = match spec.field_type(&field.name) {
                        Some(target) => {
                            let mut cast = Schema::new(target);
                            cast.optional = field.schema.optional;
                            if let Some(default) = &field.schema.default {
                                cast.default =
                                    Some(cast_value(Some(&field.schema), default, target)?);
                            }
                            Arc::new(cast)
                        }
                        None => field.schema.clone(),
                    };
                    Ok(Field {
                        name: field.name.clone(),
                        index,
                        schema: field_schema,
                    })
                })
                .collect::<Result<_, TransformError>>()?;
            out
        }
    };
    if schema.optional {
        out.optional = true;
    }
    if let Some(default) = &schema.default {
        // For a Struct this fails (structs are no cast input), as in Java.
        out.default = Some(cast_value(Some(schema), default, out.type_)?);
    }
    Ok(Arc::new(out))
}

/// The upper-case Java names of `types`, as `[INT8, INT16, …]`.
fn type_list(types: &[Type]) -> String {
    let names: Vec<String> = types.iter().map(|t| t.name().to_uppercase()).collect();
    format!("[{}]", names.join(", "))
}

/// Parses `spec` as Java's `Cast` does (its LIST value split as `ConfigDef` splits lists).
fn parse_spec(raw: &str) -> Result<Spec, ConfigError> {
    let bad = |why: String| config::invalid(SPEC, raw, why);
    let mappings = java_list(raw);
    if mappings.is_empty() {
        return Err(bad("Must specify at least one field to cast.".into()));
    }
    let output_type = |text: &str| -> Result<Type, ConfigError> {
        let text = java_trim(text);
        let upper = text.to_uppercase();
        let type_ = ALL_TYPES
            .iter()
            .copied()
            .find(|t| t.name().to_uppercase() == upper)
            .ok_or_else(|| bad(format!("Invalid type found in casting spec: {text}")))?;
        if !OUTPUT_TYPES.contains(&type_) {
            return Err(bad(format!(
                "Cast transformation does not support casting to {upper}; supported types are {}",
                type_list(OUTPUT_TYPES)
            )));
        }
        Ok(type_)
    };
    let mut whole = None;
    let mut fields: Vec<(String, Type)> = Vec::new();
    for mapping in &mappings {
        match java_split_colon(mapping.as_str()).as_slice() {
            [type_] => whole = Some(output_type(type_)?),
            [name, type_] => {
                let type_ = output_type(type_)?;
                let name = java_trim(name);
                match fields.iter_mut().find(|(n, _)| n == name) {
                    Some(entry) => entry.1 = type_,
                    None => fields.push((name.to_owned(), type_)),
                }
            }
            _ => return Err(bad(format!("Invalid cast mapping: {mapping}"))),
        }
    }
    match whole {
        Some(_) if mappings.len() > 1 => Err(bad(
            "Cast transformations that specify a type to cast the entire value to may only \
             specify a single cast in their spec"
                .into(),
        )),
        Some(type_) => Ok(Spec::Whole(type_)),
        None => Ok(Spec::Fields(fields)),
    }
}

/// Java's `s.split(":")`: trailing empty parts are dropped (so `a:` is one part, `:` none).
fn java_split_colon(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 1 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

/// A cast input as the Java object Cast works on.
#[derive(Debug, Clone, Copy)]
enum JavaObject<'a> {
    Boolean(bool),
    /// `Byte`, `Short`, `Integer`, `Long` (and the base value of Date, Time, Timestamp).
    Integral(i64),
    Float(f32),
    Double(f64),
    /// A `BigDecimal`: unscaled value and scale.
    Decimal(i128, i32),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// A `java.util.Date` (milliseconds since the epoch); only for casts to string.
    Date(i64),
}

/// Casts one value to `target`: null stays null.
fn cast_value(
    schema: Option<&SchemaRef>,
    value: &Value,
    target: Type,
) -> Result<Value, TransformError> {
    let Some(inferred) = schema.map(|s| s.type_).or_else(|| value.type_()) else {
        return Ok(Value::Null);
    };
    if value.is_null() {
        return Ok(Value::Null);
    }
    if !INPUT_TYPES.contains(&inferred) {
        return Err(TransformError::new(format!(
            "Cast transformation does not support casting from {}; supported types are {}",
            inferred.name().to_uppercase(),
            type_list(INPUT_TYPES)
        )));
    }
    let object = java_object(schema, value, target)?;
    convert(object, target)
}

/// The Java object a value stands for, with logical types encoded as Cast encodes them for
/// `target`.
fn java_object<'a>(
    schema: Option<&SchemaRef>,
    value: &'a Value,
    target: Type,
) -> Result<JavaObject<'a>, TransformError> {
    let to_string = target == Type::String;
    if let Some(schema) = schema {
        match (schema.name.as_deref(), value) {
            (Some(logical::DECIMAL), Value::Bytes(bytes)) => {
                let scale = logical::decimal_scale(schema)?;
                return Ok(JavaObject::Decimal(
                    logical::decimal_unscaled(bytes)?,
                    scale,
                ));
            }
            (Some(logical::DATE), Value::Int32(days)) if to_string => {
                return Ok(JavaObject::Date(i64::from(*days) * MILLIS_PER_DAY));
            }
            (Some(logical::TIME), Value::Int32(millis)) if to_string => {
                return Ok(JavaObject::Date(i64::from(*millis)));
            }
            (Some(logical::TIME), Value::Int32(millis))
                if *millis < 0 || i64::from(*millis) > MILLIS_PER_DAY =>
            {
                return Err(TransformError::new(
                    "Kafka Connect Time type should not have any date fields set to non-zero values.",
                ));
            }
            (Some(logical::TIMESTAMP), Value::Int64(millis)) if to_string => {
                return Ok(JavaObject::Date(*millis));
            }
            _ => {}
        }
    }
    Ok(match value {
        Value::Boolean(b) => JavaObject::Boolean(*b),
        Value::Int8(v) => JavaObject::Integral(i64::from(*v)),
        Value::Int16(v) => JavaObject::Integral(i64::from(*v)),
        Value::Int32(v) => JavaObject::Integral(i64::from(*v)),
        Value::Int64(v) => JavaObject::Integral(*v),
        Value::Float32(v) => JavaObject::Float(*v),
        Value::Float64(v) => JavaObject::Double(*v),
        Value::String(s) => JavaObject::Text(s),
        Value::Bytes(b) => JavaObject::Bytes(b),
        other => {
            return Err(unexpected_type(schema_util::type_name(other)));
        }
    })
}

fn unexpected_type(what: &str) -> TransformError {
    TransformError::new(format!("Unexpected type in Cast transformation: {what}"))
}

fn out_of_range(text: &str) -> TransformError {
    TransformError::new(format!(
        "Value ({text}) was out of range for requested data type"
    ))
}

fn convert(object: JavaObject<'_>, target: Type) -> Result<Value, TransformError> {
    Ok(match target {
        // `as` keeps the low bits, as Java's narrowing of integers does.
        Type::Int8 => Value::Int8(integral(object, target)? as i8),
        Type::Int16 => Value::Int16(integral(object, target)? as i16),
        Type::Int32 => Value::Int32(integral(object, target)? as i32),
        Type::Int64 => Value::Int64(integral(object, target)?),
        Type::Float32 => Value::Float32(floating(object, true)? as f32),
        Type::Float64 => Value::Float64(floating(object, false)?),
        Type::Boolean => Value::Boolean(boolean(object)?),
        Type::String => Value::String(text(object)),
        other => {
            return Err(TransformError::new(format!(
                "{} is not supported in the Cast transformation.",
                other.name().to_uppercase()
            )))
        }
    })
}

/// The integer Java's `byteValue()` … `longValue()` (or `parseX`) gives, before the final
/// narrowing to `target`'s width.
fn integral(object: JavaObject<'_>, target: Type) -> Result<i64, TransformError> {
    let wide = target == Type::Int64;
    Ok(match object {
        JavaObject::Boolean(b) => i64::from(b),
        JavaObject::Integral(v) | JavaObject::Date(v) => v,
        // Java narrows floats to int (saturating, NaN is 0) before byte/short, to long for long.
        JavaObject::Float(f) if wide => f as i64,
        JavaObject::Float(f) => i64::from(f as i32),
        JavaObject::Double(d) if wide => d as i64,
        JavaObject::Double(d) => i64::from(d as i32),
        JavaObject::Decimal(unscaled, scale) => decimal_integer_part(unscaled, scale) as i64,
        JavaObject::Text(s) => parse_java_integer(s, target).ok_or_else(|| out_of_range(s))?,
        JavaObject::Bytes(_) => return Err(unexpected_type("bytes")),
    })
}

/// The value as Java's `floatValue()` (`single`) or `doubleValue()` gives it, widened to f64.
fn floating(object: JavaObject<'_>, single: bool) -> Result<f64, TransformError> {
    Ok(match object {
        JavaObject::Boolean(b) => {
            if b {
                1.0
            } else {
                0.0
            }
        }
        JavaObject::Integral(v) | JavaObject::Date(v) => {
            if single {
                f64::from(v as f32)
            } else {
                v as f64
            }
        }
        JavaObject::Float(f) => f64::from(f),
        JavaObject::Double(d) => {
            if single {
                f64::from(d as f32)
            } else {
                d
            }
        }
        // BigDecimal's floatValue/doubleValue round the exact decimal once.
        JavaObject::Decimal(unscaled, scale) => {
            let text = format!("{unscaled}e{}", -i64::from(scale));
            let parsed = if single {
                text.parse::<f32>().map(f64::from)
            } else {
                text.parse::<f64>()
            };
            parsed.map_err(|_| out_of_range(&text))?
        }
        JavaObject::Text(s) => parse_java_floating(s, single).ok_or_else(|| out_of_range(s))?,
        JavaObject::Bytes(_) => return Err(unexpected_type("bytes")),
    })
}

/// Java's `Number.longValue() != 0`, `Boolean` itself, or `Boolean.parseBoolean`.
fn boolean(object: JavaObject<'_>) -> Result<bool, TransformError> {
    Ok(match object {
        JavaObject::Boolean(b) => b,
        JavaObject::Integral(v) | JavaObject::Date(v) => v != 0,
        JavaObject::Float(f) => f as i64 != 0,
        JavaObject::Double(d) => d as i64 != 0,
        JavaObject::Decimal(unscaled, scale) => decimal_integer_part(unscaled, scale) as i64 != 0,
        JavaObject::Text(s) => s.eq_ignore_ascii_case("true"),
        JavaObject::Bytes(_) => return Err(unexpected_type("bytes")),
    })
}

/// Java's `toString()` of the object; base64 for bytes; `Values.dateFormatFor` for dates.
fn text(object: JavaObject<'_>) -> String {
    let mut out = String::new();
    match object {
        JavaObject::Boolean(b) => out.push_str(if b { "true" } else { "false" }),
        JavaObject::Integral(v) => out = v.to_string(),
        JavaObject::Float(f) => java_text::push_f32(&mut out, f),
        JavaObject::Double(d) => java_text::push_f64(&mut out, d),
        JavaObject::Decimal(unscaled, scale) => {
            java_text::push_big_decimal(&mut out, unscaled, scale)
        }
        JavaObject::Text(s) => out.push_str(s),
        JavaObject::Bytes(b) => {
            base64::engine::general_purpose::STANDARD.encode_string(b, &mut out)
        }
        JavaObject::Date(millis) => {
            if millis < MILLIS_PER_DAY {
                java_text::push_iso_time(&mut out, millis);
            } else if millis % MILLIS_PER_DAY == 0 {
                java_text::push_iso_date(&mut out, millis / MILLIS_PER_DAY);
            } else {
                java_text::push_iso_timestamp(&mut out, millis);
            }
        }
    }
    out
}

/// The integer part (truncated toward zero) of `unscaled × 10^-scale`, correct in its low 128
/// bits (Java's `BigDecimal.longValue()` keeps the low 64).
fn decimal_integer_part(unscaled: i128, scale: i32) -> i128 {
    if scale <= 0 {
        // 10^k has 2^k as a factor, so beyond 128 multiplications the low bits are all zero.
        let mut v = unscaled;
        for _ in 0..scale.unsigned_abs().min(129) {
            v = v.wrapping_mul(10);
        }
        v
    } else if scale > 38 {
        // |unscaled| < 2^127 < 10^39.
        0
    } else {
        unscaled / 10i128.pow(scale.unsigned_abs())
    }
}

/// Java's `Byte.parseByte` / `Short.parseShort` / `Integer.parseInt` / `Long.parseLong` for
/// `target`: an optional sign and decimal digits, in range.
fn parse_java_integer(s: &str, target: Type) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = v * 10 + i128::from(b - b'0');
        if v > i128::from(u64::MAX) {
            return None;
        }
    }
    let v = if negative { -v } else { v };
    let (min, max) = match target {
        Type::Int8 => (i128::from(i8::MIN), i128::from(i8::MAX)),
        Type::Int16 => (i128::from(i16::MIN), i128::from(i16::MAX)),
        Type::Int32 => (i128::from(i32::MIN), i128::from(i32::MAX)),
        _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
    };
    if v < min || v > max {
        return None;
    }
    i64::try_from(v).ok()
}

/// Java's `Float.parseFloat` (`single`) / `Double.parseDouble`: surrounding control characters
/// and spaces ignored; optional sign; `NaN`, `Infinity`, decimal (`1.5`, `.5`, `5.`, `1e-3`)
/// or hexadecimal (`0x1.8p1`) notation; an optional `f`/`F`/`d`/`D` suffix. Rounded once to
/// the target precision. The result of a single-precision parse is exact in f32.
fn parse_java_floating(s: &str, single: bool) -> Option<f64> {
    let s = java_trim(s);
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let signed = |v: f64| if negative { -v } else { v };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(signed(f64::INFINITY)),
        _ => {}
    }
    let body = match body.as_bytes().last()? {
        b'f' | b'F' | b'd' | b'D' => &body[..body.len() - 1],
        _ => body,
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return parse_hex_floating(hex, single).map(signed);
    }
    // Decimal notation: digits with at most one point (at least one digit), then an optional
    // exponent with an optional sign and at least one digit.
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    let mut point = false;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < bytes.len() {
        if !matches!(bytes[i], b'e' | b'E') {
            return None;
        }
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent_digits = &bytes[i..];
        if exponent_digits.is_empty() || !exponent_digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    // The grammar is now Rust's too; both round correctly.
    let value = if single {
        f64::from(body.parse::<f32>().ok()?)
    } else {
        body.parse::<f64>().ok()?
    };
    Some(signed(value))
}

/// The part of a Java hexadecimal floating-point literal after `0x`: hex digits with an
/// optional point, then a mandatory binary exponent `p`/`P`.
fn parse_hex_floating(hex: &str, single: bool) -> Option<f64> {
    let (mantissa, exponent) = hex.split_once(['p', 'P'])?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let (exp_negative, exp_digits) = match exponent.as_bytes().first()? {
        b'-' => (true, &exponent[1..]),
        b'+' => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Beyond this magnitude every result is zero or infinity anyway.
    let mut exp2: i64 = 0;
    for b in exp_digits.bytes() {
        exp2 = (exp2 * 10 + i64::from(b - b'0')).min(1_000_000);
    }
    if exp_negative {
        exp2 = -exp2;
    }
    // Keep the leading 60 bits of the mantissa exactly; later non-zero digits only matter as
    // a sticky bit for rounding.
    let mut acc: u64 = 0;
    let mut sticky = false;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = u64::from(c.to_digit(16)?);
        if i >= int_part.len() {
            exp2 -= 4;
        }
        if acc < 1 << 60 {
            acc = acc * 16 + d;
        } else {
            exp2 += 4;
            sticky |= d != 0;
        }
    }
    if acc == 0 {
        return Some(0.0);
    }
    let (precision, min_exp, max_exp) = if single {
        (24, -149, 127)
    } else {
        (53, -1074, 1023)
    };
    // acc × 2^exp2: the most significant bit is at 2^top.
    let top = exp2 + i64::from(63 - acc.leading_zeros());
    if top > max_exp {
        return Some(f64::INFINITY);
    }
    let lsb = (top - (precision - 1)).max(min_exp);
    let shift = lsb - exp2;
    let mantissa = if shift <= 0 {
        u128::from(acc) << (-shift)
    } else if shift > 64 {
        0
    } else {
        let acc = u128::from(acc);
        let kept = acc >> shift;
        let rest = acc & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        kept + u128::from(up)
    };
    // mantissa ≤ 2^precision, so the product is exact (or overflows to infinity).
    let value = mantissa as f64 * pow2(lsb);
    Some(if single {
        f64::from(value as f32)
    } else {
        value
    })
}

/// 2^k as f64 for -1074 ≤ k ≤ 1023.
fn pow2(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    fn value_cast(spec: &str) -> Box<dyn Transformation> {
        transform(VALUE_CLASS, &[("spec", spec)])
    }

    /// Casts a whole value with a schema; returns the new schema and value.
    fn cast_whole(
        spec: &str,
        schema: SchemaRef,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), TransformError> {
        let mut t = value_cast(spec);
        let mut r = source("t", None, Value::Null, Some(schema), value);
        t.apply(&mut r)?;
        Ok((r.value_schema, r.value))
    }

    /// Casts a whole schemaless value.
    fn cast_schemaless(spec: &str, value: Value) -> Result<Value, TransformError> {
        let mut t = value_cast(spec);
        let mut r = source("t", None, Value::Null, None, value);
        t.apply(&mut r)?;
        assert!(r.value_schema.is_none());
        Ok(r.value)
    }

    fn cast_text(spec: &str, text: &str) -> Result<Value, TransformError> {
        cast_whole(spec, Schema::string(), Value::from(text)).map(|(_, v)| v)
    }

    fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
        match v {
            Value::Struct(s) => s.get(name).unwrap(),
            Value::Map(m) => schema_util::map_get(m, name).unwrap(),
            other => panic!("not a struct or map: {other:?}"),
        }
    }

    #[test]
    fn config_errors_name_the_spec_key() {
        let err = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap();
        for spec in [
            "",
            "   ",
            "foo:faketype",
            "foo:array",
            "array",
            "struct",
            "foo:bytes",
            "foo:int8:extra",
            "foo:int8,int32",
            "int32,int32",
            "a:int8,",
            "a:int8,,b:int8",
            ":",
            "foo:",
        ] {
            assert_eq!(err(&[("spec", spec)]).key, "spec", "spec {spec:?}");
        }
        assert_eq!(err(&[]).key, "spec");
        let e = err(&[("spec", "a:int8,string")]);
        assert!(e.message.contains("single cast"), "{}", e.message);
        let e = err(&[("spec", "a:map")]);
        assert!(e.message.contains("casting to MAP"), "{}", e.message);
        let e = err(&[("spec", "a:int4")]);
        assert!(e
            .message
            .contains("Invalid type found in casting spec: int4"));
        assert_eq!(
            err(&[("spec", "int8"), ("replace.null.with.default", "maybe")]).key,
            "replace.null.with.default"
        );
        assert!(build(KEY_CLASS, &[("spec", "")]).is_err());
    }

    #[test]
    fn spec_parsing_follows_java() {
        let spec = |s: &str| parse_spec(s).unwrap();
        assert_eq!(spec(" Int64 "), Spec::Whole(Type::Int64));
        assert_eq!(spec("FLOAT32"), Spec::Whole(Type::Float32));
        assert_eq!(
            spec(" a : int8 , b:STRING,a:int16"),
            Spec::Fields(vec![("a".into(), Type::Int16), ("b".into(), Type::String)])
        );
        // `split(":")` drops trailing empty parts.
        assert_eq!(
            spec("a:boolean:"),
            Spec::Fields(vec![("a".into(), Type::Boolean)])
        );
        assert_eq!(spec(":int32"), Spec::Fields(vec![("".into(), Type::Int32)]));
    }

    #[test]
    fn tombstones_pass_through() {
        let mut t = value_cast("foo:int64");
        let mut r = source("t", None, Value::Null, Some(Schema::string()), Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value_schema, Some(Schema::string()));
        assert_eq!(r.value, Value::Null);
        let mut r = source("t", None, Value::Null, None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!((r.value_schema, r.value), (None, Value::Null));

        let mut t = transform(KEY_CLASS, &[("spec", "foo:int64")]);
        let mut r = source(
            "t",
            Some(Schema::string()),
            Value::Null,
            Some(Schema::string()),
            Value::from("v"),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(r.key_schema, Some(Schema::string()));
        assert_eq!(r.key, Value::Null);
        assert_eq!(r.value, Value::from("v"));
    }

    #[test]
    fn whole_key_with_schema() {
        let mut t = transform(KEY_CLASS, &[("spec", "int8")]);
        let mut r = sink(
            "t",
            Some(Schema::int32()),
            Value::Int32(42),
            Some(Schema::string()),
            Value::from("untouched"),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(r.key_schema.unwrap().type_, Type::Int8);
        assert_eq!(r.key, Value::Int8(42));
        assert_eq!(r.value_schema, Some(Schema::string()));
        assert_eq!(r.value, Value::from("untouched"));
    }

    #[test]
    fn whole_value_to_every_type() {
        let cases = [
            ("int8", Value::Int8(42)),
            ("int16", Value::Int16(42)),
            ("int32", Value::Int32(42)),
            ("int64", Value::Int64(42)),
            ("float32", Value::Float32(42.0)),
            ("float64", Value::Float64(42.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::from("42")),
        ];
        for (spec, expected) in cases {
            let (schema, value) = cast_whole(spec, Schema::int32(), Value::Int32(42)).unwrap();
            let schema = schema.unwrap();
            assert_eq!(Some(schema.type_), expected.type_(), "{spec}");
            assert!(!schema.optional);
            assert_eq!(value, expected, "{spec}");
            assert_eq!(
                cast_schemaless(spec, Value::Int32(42)).unwrap(),
                expected,
                "schemaless {spec}"
            );
        }
        let (_, value) = cast_whole("boolean", Schema::int32(), Value::Int32(0)).unwrap();
        assert_eq!(value, Value::Boolean(false));
        assert_eq!(
            cast_schemaless("boolean", Value::Int32(0)).unwrap(),
            Value::Boolean(false)
        );
        let mut t = transform(KEY_CLASS, &[("spec", "int8")]);
        let mut r = source("t", None, Value::Int32(42), None, Value::from("v"));
        apply(t.as_mut(), &mut r);
        assert_eq!((r.key_schema, r.key), (None, Value::Int8(42)));
    }

    #[test]
    fn whole_value_keeps_schema_basics_and_casts_the_default() {
        let schema = Schema::new(Type::Float32)
            .with_name("com.example.Reading")
            .with_version(3)
            .with_doc("a reading")
            .with_parameter("unit", "C")
            .with_default(Value::Float32(-42.125))
            .optional()
            .into_ref();
        let (out, value) = cast_whole("int32", schema, Value::Float32(42.125)).unwrap();
        let out = out.unwrap();
        assert_eq!(value, Value::Int32(42));
        assert_eq!(out.type_, Type::Int32);
        assert_eq!(out.default, Some(Value::Int32(-42)));
        assert!(out.optional);
        assert_eq!(out.name.as_deref(), Some("com.example.Reading"));
        assert_eq!(out.version, Some(3));
        assert_eq!(out.doc.as_deref(), Some("a reading"));
        assert_eq!(out.parameters.as_ref().unwrap()["unit"], "C");
    }

    #[test]
    fn whole_logical_values_to_string() {
        let decimal = logical::decimal(0).into_ref();
        let (schema, value) =
            cast_whole("string", decimal, logical::decimal_value("42", 0).unwrap()).unwrap();
        assert_eq!(value, Value::from("42"));
        assert_eq!(schema.unwrap().type_, Type::String);

        // One day and one millisecond: a full timestamp.
        let (_, value) = cast_whole(
            "string",
            logical::timestamp().into_ref(),
            Value::Int64(86_400_001),
        )
        .unwrap();
        assert_eq!(value, Value::from("1970-01-02T00:00:00.001Z"));
    }

    #[test]
    fn schemaless_unsupported_inputs() {
        let e = cast_schemaless("int8", Value::Array(vec![Value::from("foo")])).unwrap_err();
        assert!(e.message.contains("casting from ARRAY"), "{}", e.message);
        assert!(cast_schemaless("string", map(vec![("a", Value::Int8(1))])).is_err());
        assert!(cast_schemaless("int32", Value::Bytes(vec![1])).is_err());
        assert_eq!(
            cast_schemaless("string", Value::Bytes(vec![0xfe, 0xdc])).unwrap(),
            Value::from("/tw=")
        );
        let e = cast_schemaless("a:int8", Value::Int32(1)).unwrap_err();
        assert!(
            e.message.contains("Only Map objects supported"),
            "{}",
            e.message
        );
    }

    #[test]
    fn logical_fields_to_primitives() {
        let schema = Schema::struct_([
            ("date_to_int32", logical::date().into_ref()),
            ("timestamp_to_int64", logical::timestamp().into_ref()),
            ("time_to_int64", logical::time().into_ref()),
            ("decimal_to_int32", logical::decimal(0).into_ref()),
            ("decimal_to_float64", logical::decimal(3).into_ref()),
            ("timestamp_to_float64", logical::timestamp().into_ref()),
            (
                "null_timestamp_to_int32",
                logical::timestamp().optional().into_ref(),
            ),
            ("time_to_boolean", logical::time().into_ref()),
        ])
        .into_ref();
        let value = strukt(
            &schema,
            vec![
                ("date_to_int32", Value::Int32(1)),
                ("timestamp_to_int64", Value::Int64(0)),
                ("time_to_int64", Value::Int32(1)),
                (
                    "decimal_to_int32",
                    logical::decimal_value("2147483648", 0).unwrap(),
                ),
                (
                    "decimal_to_float64",
                    logical::decimal_value("-12.345", 3).unwrap(),
                ),
                ("timestamp_to_float64", Value::Int64(i64::MAX)),
                ("time_to_boolean", Value::Int32(0)),
            ],
        );
        let spec = "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,\
                    decimal_to_int32:int32,decimal_to_float64:float64,\
                    timestamp_to_float64:float64,null_timestamp_to_int32:int32,\
                    time_to_boolean:boolean";
        let (out, v) = cast_whole(spec, schema, value).unwrap();
        let out = out.unwrap();
        assert_eq!(field(&v, "date_to_int32"), &Value::Int32(1));
        assert_eq!(field(&v, "timestamp_to_int64"), &Value::Int64(0));
        assert_eq!(field(&v, "time_to_int64"), &Value::Int64(1));
        // BigDecimal.intValue keeps the low 32 bits.
        assert_eq!(field(&v, "decimal_to_int32"), &Value::Int32(i32::MIN));
        assert_eq!(field(&v, "decimal_to_float64"), &Value::Float64(-12.345));
        assert_eq!(
            field(&v, "timestamp_to_float64"),
            &Value::Float64(9.223372036854776E18)
        );
        assert_eq!(field(&v, "null_timestamp_to_int32"), &Value::Null);
        assert_eq!(field(&v, "time_to_boolean"), &Value::Boolean(false));
        let type_of = |name: &str| out.field(name).unwrap().schema.clone();
        assert_eq!(*type_of("date_to_int32"), Schema::new(Type::Int32));
        assert_eq!(type_of("timestamp_to_int64").type_, Type::Int64);
        assert_eq!(type_of("time_to_int64").type_, Type::Int64);
        assert_eq!(type_of("decimal_to_int32").type_, Type::Int32);
        assert_eq!(type_of("timestamp_to_float64").type_, Type::Float64);
        assert_eq!(
            *type_of("null_timestamp_to_int32"),
            Schema::new(Type::Int32).optional()
        );
    }

    #[test]
    fn logical_fields_to_string() {
        let schema = Schema::struct_([
            ("date", logical::date().into_ref()),
            ("decimal", logical::decimal(0).into_ref()),
            ("small_decimal", logical::decimal(9).into_ref()),
            ("time", logical::time().into_ref()),
            ("timestamp", logical::timestamp().into_ref()),
            ("midnight", logical::timestamp().into_ref()),
            ("epoch_date", logical::date().into_ref()),
        ])
        .into_ref();
        let value = strukt(
            &schema,
            vec![
                ("date", Value::Int32(1)),
                ("decimal", logical::decimal_value("1982", 0).unwrap()),
                ("small_decimal", Value::Bytes(vec![5])),
                ("time", Value::Int32(3_600_000)),
                ("timestamp", Value::Int64(1_700_000_000_123)),
                ("midnight", Value::Int64(19_782 * MILLIS_PER_DAY)),
                ("epoch_date", Value::Int32(0)),
            ],
        );
        let spec = "date:string,decimal:string,small_decimal:string,time:string,\
                    timestamp:string,midnight:string,epoch_date:string";
        let (out, v) = cast_whole(spec, schema, value).unwrap();
        assert_eq!(field(&v, "date"), &Value::from("1970-01-02"));
        assert_eq!(field(&v, "decimal"), &Value::from("1982"));
        assert_eq!(field(&v, "small_decimal"), &Value::from("5E-9"));
        assert_eq!(field(&v, "time"), &Value::from("01:00:00.000Z"));
        assert_eq!(
            field(&v, "timestamp"),
            &Value::from("2023-11-14T22:13:20.123Z")
        );
        // Java picks the layout by the instant, not by the logical type.
        assert_eq!(field(&v, "midnight"), &Value::from("2024-02-29"));
        assert_eq!(field(&v, "epoch_date"), &Value::from("00:00:00.000Z"));
        for f in &out.unwrap().fields {
            assert_eq!(*f.schema, Schema::new(Type::String), "{}", f.name);
        }
    }

    #[test]
    fn fields_with_schema() {
        let schema = Schema::struct_([
            ("int8", Schema::int8()),
            ("int16", Schema::optional_int16()),
            (
                "int32",
                Schema::new(Type::Int32)
                    .with_default(Value::Int32(2))
                    .into_ref(),
            ),
            ("int64", Schema::int64()),
            ("float32", Schema::float32()),
            (
                "float64",
                Schema::new(Type::Float64)
                    .with_default(Value::Float64(-1.125))
                    .into_ref(),
            ),
            ("boolean", Schema::boolean()),
            ("string", Schema::string()),
            ("bigdecimal", logical::decimal(0).into_ref()),
            ("date", logical::date().into_ref()),
            ("optional", Schema::optional_float32()),
            ("timestamp", logical::timestamp().into_ref()),
            ("bytes", Schema::bytes()),
        ])
        .with_name("com.example.Row")
        .into_ref();
        let value = strukt(
            &schema,
            vec![
                ("int8", Value::Int8(8)),
                ("int16", Value::Int16(16)),
                ("int32", Value::Int32(32)),
                ("int64", Value::Int64(64)),
                ("float32", Value::Float32(32.0)),
                ("float64", Value::Float64(-64.0)),
                ("boolean", Value::Boolean(true)),
                ("string", Value::from("42")),
                ("bigdecimal", logical::decimal_value("42", 0).unwrap()),
                ("date", Value::Int32(1)),
                ("timestamp", Value::Int64(0)),
                (
                    "bytes",
                    Value::Bytes(vec![0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10]),
                ),
            ],
        );
        let spec = "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,\
                    float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,\
                    optional:int32,bytes:string,absent:int8";
        let (out, v) = cast_whole(spec, schema.clone(), value).unwrap();
        let out = out.unwrap();
        assert_eq!(field(&v, "int8"), &Value::Int16(8));
        assert_eq!(field(&v, "int16"), &Value::Int32(16));
        assert_eq!(field(&v, "int32"), &Value::Int64(32));
        assert_eq!(field(&v, "int64"), &Value::Boolean(true));
        assert_eq!(field(&v, "float32"), &Value::Float64(32.0));
        assert_eq!(field(&v, "float64"), &Value::Boolean(true));
        assert_eq!(field(&v, "boolean"), &Value::Int8(1));
        assert_eq!(field(&v, "string"), &Value::Int32(42));
        assert_eq!(field(&v, "bigdecimal"), &Value::from("42"));
        assert_eq!(field(&v, "date"), &Value::from("1970-01-02"));
        assert_eq!(field(&v, "optional"), &Value::Null);
        assert_eq!(field(&v, "timestamp"), &Value::Int64(0));
        assert_eq!(field(&v, "bytes"), &Value::from("/ty6mHZUMhA="));

        let schema_of = |name: &str| out.field(name).unwrap().schema.clone();
        assert_eq!(*schema_of("int8"), Schema::new(Type::Int16));
        assert_eq!(*schema_of("int16"), Schema::new(Type::Int32).optional());
        assert_eq!(
            *schema_of("int32"),
            Schema::new(Type::Int64).with_default(Value::Int64(2))
        );
        assert_eq!(
            *schema_of("float64"),
            Schema::new(Type::Boolean).with_default(Value::Boolean(true))
        );
        assert_eq!(*schema_of("bigdecimal"), Schema::new(Type::String));
        assert_eq!(*schema_of("optional"), Schema::new(Type::Int32).optional());
        // Fields not in the spec keep their schema; names not in the schema are ignored.
        assert_eq!(
            schema_of("timestamp"),
            schema.field("timestamp").unwrap().schema
        );
        assert!(out.field("absent").is_none());
        assert_eq!(out.name.as_deref(), Some("com.example.Row"));
        let names: Vec<&str> = out.fields.iter().map(|f| f.name.as_str()).collect();
        let original: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, original);
    }

    #[test]
    fn fields_schemaless() {
        let value = map(vec![
            ("int8", Value::Int8(8)),
            ("int16", Value::Int16(16)),
            ("int32", Value::Int32(32)),
            ("int64", Value::Int64(64)),
            ("float32", Value::Float32(32.0)),
            ("float64", Value::Float64(-64.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::from("42")),
            ("untouched", Value::from("x")),
        ]);
        let spec = "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,\
                    float64:boolean,boolean:int8,string:int32,missing:string";
        let v = cast_schemaless(spec, value).unwrap();
        assert_eq!(
            v,
            map(vec![
                ("int8", Value::Int16(8)),
                ("int16", Value::Int32(16)),
                ("int32", Value::Int64(32)),
                ("int64", Value::Boolean(true)),
                ("float32", Value::Float64(32.0)),
                ("float64", Value::Boolean(true)),
                ("boolean", Value::Int8(1)),
                ("string", Value::Int32(42)),
                ("untouched", Value::from("x")),
                // Java puts the cast of a missing field: null.
                ("missing", Value::Null),
            ])
        );
    }

    fn defaulted_schema() -> SchemaRef {
        Schema::struct_([
            (
                "magic",
                Schema::new(Type::Int32)
                    .optional()
                    .with_default(Value::Int32(10))
                    .into_ref(),
            ),
            (
                "other",
                Schema::new(Type::String)
                    .optional()
                    .with_default(Value::from("dflt"))
                    .into_ref(),
            ),
        ])
        .into_ref()
    }

    #[test]
    fn replace_null_with_default() {
        for (flag, magic, other) in [
            ("true", Value::from("10"), Value::from("dflt")),
            ("false", Value::Null, Value::Null),
        ] {
            let mut t = transform(
                VALUE_CLASS,
                &[
                    ("spec", "magic:string"),
                    ("replace.null.with.default", flag),
                ],
            );
            let schema = defaulted_schema();
            let value = strukt(&schema, vec![]);
            let mut r = sink("t", None, Value::Null, Some(schema), value);
            apply(t.as_mut(), &mut r);
            let out = r.value_schema.unwrap();
            assert_eq!(
                *out.field("magic").unwrap().schema,
                Schema::new(Type::String)
                    .optional()
                    .with_default(Value::from("10"))
            );
            assert_eq!(field(&r.value, "magic"), &magic, "flag {flag}");
            // Fields outside the spec are read the same way.
            assert_eq!(field(&r.value, "other"), &other, "flag {flag}");
        }
    }

    #[test]
    fn null_in_a_required_field_is_an_error_without_default_replacement() {
        let schema = Schema::struct_([(
            "n",
            Schema::new(Type::Int32)
                .with_default(Value::Int32(7))
                .into_ref(),
        )])
        .into_ref();
        let value = strukt(&schema, vec![]);
        let mut t = transform(
            VALUE_CLASS,
            &[("spec", "n:int64"), ("replace.null.with.default", "false")],
        );
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value.clone());
        let e = t.apply(&mut r).unwrap_err();
        assert!(
            e.message.contains("null used for required field"),
            "{}",
            e.message
        );
        let mut t = value_cast("n:int64");
        let mut r = sink("t", None, Value::Null, Some(schema), value);
        apply(t.as_mut(), &mut r);
        assert_eq!(field(&r.value, "n"), &Value::Int64(7));
    }

    #[test]
    fn errors_with_schemas() {
        // Field casts need a struct schema.
        let e = cast_whole("a:int8", Schema::int32(), Value::Int32(1)).unwrap_err();
        assert!(e.message.contains("non-struct"), "{}", e.message);
        // A struct schema with a default cannot be cast (structs are no cast input).
        let inner = Schema::struct_([("a", Schema::int32())]).into_ref();
        let default = strukt(&inner, vec![("a", Value::Int32(1))]);
        let schema = Schema::struct_([("a", Schema::int32())])
            .with_default(default.clone())
            .into_ref();
        let value = strukt(&schema, vec![("a", Value::Int32(1))]);
        let e = cast_whole("a:int8", schema, value).unwrap_err();
        assert!(e.message.contains("casting from STRUCT"), "{}", e.message);
        // Whole struct values are no cast input either.
        assert!(cast_whole("string", inner, default).is_err());
        // Bytes only cast to string.
        let e = cast_whole("int64", Schema::bytes(), Value::Bytes(vec![1])).unwrap_err();
        assert!(e.message.contains("Unexpected type"), "{}", e.message);
        // A Time outside one day has date fields set.
        assert!(cast_whole("int32", logical::time().into_ref(), Value::Int32(-1)).is_err());
        assert_eq!(
            cast_whole("string", logical::time().into_ref(), Value::Int32(-1))
                .unwrap()
                .1,
            Value::from("23:59:59.999Z")
        );
    }

    #[test]
    fn numbers_narrow_like_java() {
        let whole =
            |spec: &str, schema: SchemaRef, v: Value| cast_whole(spec, schema, v).unwrap().1;
        assert_eq!(
            whole("int8", Schema::int32(), Value::Int32(300)),
            Value::Int8(44)
        );
        assert_eq!(
            whole("int16", Schema::int64(), Value::Int64(70_000)),
            Value::Int16(4464)
        );
        assert_eq!(
            whole("int32", Schema::float64(), Value::Float64(3.9e10)),
            Value::Int32(i32::MAX)
        );
        assert_eq!(
            whole("int64", Schema::float64(), Value::Float64(-3.9e10)),
            Value::Int64(-39_000_000_000)
        );
        // Floats go through int first: (byte) 200 is -56.
        assert_eq!(
            whole("int8", Schema::float32(), Value::Float32(200.7)),
            Value::Int8(-56)
        );
        assert_eq!(
            whole("int8", Schema::float32(), Value::Float32(1e10)),
            Value::Int8(-1)
        );
        assert_eq!(
            whole("int32", Schema::float32(), Value::Float32(f32::NAN)),
            Value::Int32(0)
        );
        assert_eq!(
            whole("boolean", Schema::float64(), Value::Float64(0.5)),
            Value::Boolean(false)
        );
        assert_eq!(
            whole("float32", Schema::int64(), Value::Int64(16_777_217)),
            Value::Float32(16_777_216.0)
        );
        assert_eq!(
            whole("string", Schema::float64(), Value::Float64(1.0e7)),
            Value::from("1.0E7")
        );
        assert_eq!(
            whole("string", Schema::float32(), Value::Float32(0.1)),
            Value::from("0.1")
        );
        assert_eq!(
            whole("string", Schema::boolean(), Value::Boolean(false)),
            Value::from("false")
        );
        assert_eq!(
            whole("float64", Schema::boolean(), Value::Boolean(true)),
            Value::Float64(1.0)
        );
        let dec = logical::decimal(2).into_ref();
        assert_eq!(
            whole(
                "int8",
                dec.clone(),
                logical::decimal_value("-1.99", 2).unwrap()
            ),
            Value::Int8(-1)
        );
        assert_eq!(
            whole(
                "boolean",
                dec.clone(),
                logical::decimal_value("0.99", 2).unwrap()
            ),
            Value::Boolean(false)
        );
        assert_eq!(
            whole("float32", dec, logical::decimal_value("0.10", 2).unwrap()),
            Value::Float32(0.1)
        );
        let negative_scale = logical::decimal(-3).into_ref();
        assert_eq!(
            whole("int64", negative_scale.clone(), Value::Bytes(vec![0x05])),
            Value::Int64(5000)
        );
        assert_eq!(
            whole("string", negative_scale, Value::Bytes(vec![0x05])),
            Value::from("5E+3")
        );
    }

    #[test]
    fn strings_parse_like_java() {
        let ok = |spec: &str, text: &str| cast_text(spec, text).unwrap();
        let bad = |spec: &str, text: &str| {
            let e = cast_text(spec, text).unwrap_err();
            assert!(
                e.message.contains("out of range"),
                "{spec} {text:?}: {}",
                e.message
            );
        };
        assert_eq!(ok("int8", "-128"), Value::Int8(-128));
        assert_eq!(ok("int8", "+127"), Value::Int8(127));
        assert_eq!(ok("int16", "-00042"), Value::Int16(-42));
        assert_eq!(ok("int32", "2147483647"), Value::Int32(i32::MAX));
        assert_eq!(ok("int64", "-9223372036854775808"), Value::Int64(i64::MIN));
        bad("int8", "128");
        bad("int16", "32768");
        bad("int32", "2147483648");
        bad("int64", "9223372036854775808");
        bad("int32", " 1");
        bad("int32", "1.0");
        bad("int32", "1e3");
        bad("int32", "");
        bad("int32", "+");
        bad("int32", "0x10");
        bad("int64", "99999999999999999999999");

        assert_eq!(ok("float64", "1.5"), Value::Float64(1.5));
        assert_eq!(ok("float64", "  -2.5e3d \n"), Value::Float64(-2500.0));
        assert_eq!(ok("float64", ".5"), Value::Float64(0.5));
        assert_eq!(ok("float64", "5."), Value::Float64(5.0));
        assert_eq!(ok("float64", "1E+2"), Value::Float64(100.0));
        assert_eq!(ok("float32", "1.5f"), Value::Float32(1.5));
        assert_eq!(ok("float32", "0.1"), Value::Float32(0.1));
        assert_eq!(ok("float32", "1e39"), Value::Float32(f32::INFINITY));
        assert_eq!(
            ok("float64", "-Infinity"),
            Value::Float64(f64::NEG_INFINITY)
        );
        assert!(matches!(ok("float64", "NaN"), Value::Float64(v) if v.is_nan()));
        assert_eq!(ok("float64", "0x1.8p1"), Value::Float64(3.0));
        assert_eq!(ok("float64", "-0X.8P-1"), Value::Float64(-0.25));
        assert_eq!(
            ok("float64", "0x1p-1074"),
            Value::Float64(f64::from_bits(1))
        );
        assert_eq!(ok("float64", "0x1p-1075"), Value::Float64(0.0));
        assert_eq!(
            ok("float64", "0x1.8p-1074"),
            Value::Float64(f64::from_bits(2))
        );
        assert_eq!(ok("float64", "0x1p1024"), Value::Float64(f64::INFINITY));
        assert_eq!(
            ok("float64", "0x1.fffffffffffffp1023"),
            Value::Float64(f64::MAX)
        );
        // Ties round to even; a later non-zero digit rounds up.
        assert_eq!(ok("float64", "0x1.00000000000008p0"), Value::Float64(1.0));
        assert_eq!(
            ok("float64", "0x1.000000000000080000000001p0"),
            Value::Float64(1.0 + f64::EPSILON)
        );
        assert_eq!(ok("float32", "0x1.000001p0"), Value::Float32(1.0));
        assert_eq!(
            ok("float32", "0x1.000003p0"),
            Value::Float32(1.0 + 2.0 * f32::EPSILON)
        );
        for text in [
            "", "inf", "infinity", "nan", "1e", "1e+", ".", "e5", "1.2.3", "1,5", "0x1.8", "0xp1",
            "1.5ff", "NaNf", "- 1", "1_000",
        ] {
            bad("float64", text);
        }

        assert_eq!(ok("boolean", "TRUE"), Value::Boolean(true));
        assert_eq!(ok("boolean", "tRuE"), Value::Boolean(true));
        assert_eq!(ok("boolean", "yes"), Value::Boolean(false));
        assert_eq!(ok("boolean", " true"), Value::Boolean(false));
        assert_eq!(ok("string", "as is"), Value::from("as is"));
    }

    #[test]
    fn derived_schemas_are_cached() {
        let mut t = value_cast("a:int64");
        let schema = Schema::struct_([("a", Schema::int32())]).into_ref();
        let mut first = None;
        for n in 0..3 {
            let value = strukt(&schema, vec![("a", Value::Int32(n))]);
            let mut r = sink("t", None, Value::Null, Some(schema.clone()), value);
            apply(t.as_mut(), &mut r);
            let out = r.value_schema.unwrap();
            assert_eq!(field(&r.value, "a"), &Value::Int64(i64::from(n)));
            match &first {
                None => first = Some(out),
                Some(f) => assert!(Arc::ptr_eq(f, &out)),
            }
        }
    }
}
