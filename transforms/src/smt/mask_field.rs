//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces the listed top-level
//! fields of a Struct (with a schema) or Map (schemaless) with the empty value of their type, or
//! with `replacement` converted to the field's type.
//!
//! As in Kafka Connect:
//! * empty values: `false`, `0` of each number type, `0.0`, `""`, an empty array or map, the
//!   epoch for Date, Time and Timestamp, zero for Decimal; other types (bytes, structs) cannot be
//!   masked and are an error;
//! * `replacement` applies to numbers and strings only; integers take it as Java's
//!   `new BigDecimal(replacement).longValue()` narrowed to the field's width, floats as its
//!   `doubleValue()`, Decimal fields as the `BigDecimal` itself; other types, and a replacement
//!   that is not a number for a numeric field, are errors when a record has such a non-null
//!   field (the config itself only rejects an empty replacement);
//! * null fields stay null; a schemaless map gets the listed fields it lacks, as nulls;
//! * the key or value must be a Struct or Map: a null one is an error;
//! * with `replace.null.with.default`, a null field with a default is read as its default.

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::logical;
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props, SchemaRef, Struct, Value};

use crate::config::{self, REPLACE_NULL_WITH_DEFAULT};
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util;

/// The class masking fields of the record key.
pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.MaskField$Key";
/// The class masking fields of the record value.
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.MaskField$Value";

const FIELDS: &str = "fields";
const REPLACEMENT: &str = "replacement";
const PURPOSE: &str = "mask fields";

/// `MaskField$Key` and `MaskField$Value`.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, MaskField::create).to_vec()
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            config::required(
                FIELDS,
                ConfigType::List,
                Importance::High,
                "Names of fields to mask.",
            )
            .validator(Validator::NonEmptyList),
        )
        .define(
            config::optional(
                REPLACEMENT,
                ConfigType::String,
                Importance::Low,
                "A custom replacement for every masked field, converted to the field's type \
                 (numeric or string fields only).",
            )
            .validator(Validator::NonEmptyString),
        )
        .define(config::replace_null_with_default())
}

/// Masks fields of a key or value.
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<Replacement>,
    replace_null_with_default: bool,
}

/// The configured replacement, parsed once as Java's `BigDecimal` would take it.
struct Replacement {
    text: String,
    number: Option<JavaBigDecimal>,
}

impl MaskField {
    fn create(side: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let mut fields: Vec<String> = Vec::new();
        for name in cfg.get_list(FIELDS) {
            if !fields.contains(&name) {
                fields.push(name);
            }
        }
        let replacement = cfg.get(REPLACEMENT).map(|text| Replacement {
            text: text.to_owned(),
            number: JavaBigDecimal::parse(text),
        });
        Ok(Box::new(MaskField {
            side,
            fields,
            replacement,
            replace_null_with_default: cfg.get_bool(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
        }))
    }

    fn masks(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f == name)
    }

    /// The masked form of a non-null `value` of `kind`; null stays null.
    fn masked(&self, kind: Kind, value: &Value) -> Result<Value, TransformError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => empty_value(kind, value),
            Some(replacement) => replaced(kind, replacement),
        }
    }

    fn apply_schemaless(&self, value: &mut Value) -> Result<(), TransformError> {
        schema_util::require_map(value, PURPOSE)?;
        let Value::Map(entries) = value else {
            return Ok(());
        };
        for name in &self.fields {
            match entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(name.as_str()))
            {
                Some((_, v)) => *v = self.masked(Kind::of_value(v), v)?,
                // Java puts the (null) mask of the missing field into the map.
                None => entries.push((Value::String(name.clone()), Value::Null)),
            }
        }
        Ok(())
    }

    fn apply_with_schema(&self, value: &mut Value) -> Result<(), TransformError> {
        schema_util::require_struct(value, PURPOSE)?;
        let Value::Struct(input) = std::mem::take(value) else {
            return Ok(());
        };
        let (schema, values) = input.into_parts();
        let mut out = Struct::new(schema.clone())?;
        for (field, mut v) in schema.fields.iter().zip(values) {
            if v.is_null() && self.replace_null_with_default {
                if let Some(default) = &field.schema.default {
                    v = default.clone();
                }
            }
            if self.masks(&field.name) {
                v = self.masked(Kind::of(&field.schema, &v)?, &v)?;
            }
            if v.is_null() && !field.schema.optional {
                return Err(TransformError::new(format!(
                    "Invalid value: null used for required field: \"{}\", schema type: {}",
                    field.name,
                    field.schema.type_.name().to_uppercase()
                )));
            }
            out.put_index(field.index, v);
        }
        *value = Value::Struct(out);
        Ok(())
    }
}

impl Transformation for MaskField {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (schema, value) = record.data_mut(self.side);
        match schema {
            None => self.apply_schemaless(value)?,
            Some(_) => self.apply_with_schema(value)?,
        }
        Ok(Outcome::Keep)
    }
}

/// The Java class of a field's value, which decides how it is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    Byte,
    Short,
    Integer,
    Long,
    Float,
    Double,
    Text,
    /// `BigDecimal`, with the schema's scale.
    Decimal(i32),
    /// `java.util.Date` (the Date, Time and Timestamp logical types).
    Date,
    List,
    Map,
    /// A value that has no empty form: bytes or a struct.
    Other(&'static str),
}

impl Kind {
    /// The kind of a field value under its schema (logical types by schema name).
    fn of(schema: &SchemaRef, value: &Value) -> Result<Kind, TransformError> {
        Ok(match (schema.name.as_deref(), value) {
            (Some(logical::DECIMAL), Value::Bytes(_)) => {
                Kind::Decimal(logical::decimal_scale(schema)?)
            }
            (Some(logical::DATE | logical::TIME), Value::Int32(_))
            | (Some(logical::TIMESTAMP), Value::Int64(_)) => Kind::Date,
            _ => Kind::of_value(value),
        })
    }

    /// The kind of a schemaless value.
    fn of_value(value: &Value) -> Kind {
        match value {
            Value::Boolean(_) => Kind::Boolean,
            Value::Int8(_) => Kind::Byte,
            Value::Int16(_) => Kind::Short,
            Value::Int32(_) => Kind::Integer,
            Value::Int64(_) => Kind::Long,
            Value::Float32(_) => Kind::Float,
            Value::Float64(_) => Kind::Double,
            Value::String(_) => Kind::Text,
            Value::Array(_) => Kind::List,
            Value::Map(_) => Kind::Map,
            other => Kind::Other(schema_util::type_name(other)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Byte => "int8",
            Kind::Short => "int16",
            Kind::Integer => "int32",
            Kind::Long => "int64",
            Kind::Float => "float32",
            Kind::Double => "float64",
            Kind::Text => "string",
            Kind::Decimal(_) => "Decimal",
            Kind::Date => "Date/Time/Timestamp",
            Kind::List => "array",
            Kind::Map => "map",
            Kind::Other(name) => name,
        }
    }
}

/// The empty value of `kind` (`value` supplies the base type of temporal values).
fn empty_value(kind: Kind, value: &Value) -> Result<Value, TransformError> {
    Ok(match kind {
        Kind::Boolean => Value::Boolean(false),
        Kind::Byte => Value::Int8(0),
        Kind::Short => Value::Int16(0),
        Kind::Integer => Value::Int32(0),
        Kind::Long => Value::Int64(0),
        Kind::Float => Value::Float32(0.0),
        Kind::Double => Value::Float64(0.0),
        Kind::Text => Value::String(String::new()),
        Kind::Decimal(_) => Value::Bytes(logical::decimal_bytes(0)),
        // The epoch, in the base type of the logical value.
        Kind::Date => match value {
            Value::Int64(_) => Value::Int64(0),
            _ => Value::Int32(0),
        },
        Kind::List => Value::Array(Vec::new()),
        Kind::Map => Value::Map(Vec::new()),
        Kind::Other(name) => {
            return Err(TransformError::new(format!(
                "Cannot mask value of type: {name}"
            )))
        }
    })
}

/// `replacement` converted to `kind`.
fn replaced(kind: Kind, replacement: &Replacement) -> Result<Value, TransformError> {
    let number = || {
        replacement.number.as_ref().ok_or_else(|| {
            TransformError::new(format!(
                "Unable to convert {} (class java.lang.String) to a number",
                replacement.text
            ))
        })
    };
    // Narrowing keeps the low bits, as Java's `(byte) longValue` and so on.
    Ok(match kind {
        Kind::Byte => Value::Int8(number()?.long_value() as i8),
        Kind::Short => Value::Int16(number()?.long_value() as i16),
        Kind::Integer => Value::Int32(number()?.long_value() as i32),
        Kind::Long => Value::Int64(number()?.long_value()),
        Kind::Float => Value::Float32(number()?.double_value() as f32),
        Kind::Double => Value::Float64(number()?.double_value()),
        Kind::Text => Value::String(replacement.text.clone()),
        Kind::Decimal(scale) => {
            let unscaled = number()?.unscaled_at(scale).ok_or_else(|| {
                TransformError::new(format!(
                    "Replacement {} cannot be represented with the scale {scale} of the \
                     Decimal field",
                    replacement.text
                ))
            })?;
            Value::Bytes(logical::decimal_bytes(unscaled))
        }
        Kind::Boolean | Kind::Date | Kind::List | Kind::Map | Kind::Other(_) => {
            return Err(TransformError::new(format!(
                "Cannot mask value of type {} with custom replacement.",
                kind.name()
            )))
        }
    })
}

/// A number as Java's `new BigDecimal(String)` reads it: `digits × 10^exponent`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct JavaBigDecimal {
    negative: bool,
    /// Decimal digit values, most significant first (leading zeros possible).
    digits: Vec<u8>,
    exponent: i64,
}

impl JavaBigDecimal {
    /// An optional sign, digits with at most one point (at least one digit), an optional
    /// exponent `e`/`E` with an optional sign and digits; no spaces. The exponent and the
    /// resulting scale must fit in an `int`.
    fn parse(text: &str) -> Option<JavaBigDecimal> {
        let bytes = text.as_bytes();
        let (negative, mut i) = match bytes.first()? {
            b'-' => (true, 1),
            b'+' => (false, 1),
            _ => (false, 0),
        };
        let mut digits = Vec::new();
        let mut fraction_digits: i64 = 0;
        let mut point = false;
        while i < bytes.len() {
            match bytes[i] {
                d @ b'0'..=b'9' => {
                    digits.push(d - b'0');
                    if point {
                        fraction_digits += 1;
                    }
                }
                b'.' if !point => point = true,
                b'e' | b'E' => break,
                _ => return None,
            }
            i += 1;
        }
        if digits.is_empty() {
            return None;
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() {
            let rest = &text[i + 1..];
            let (exp_negative, exp_digits) = match rest.as_bytes().first()? {
                b'-' => (true, &rest[1..]),
                b'+' => (false, &rest[1..]),
                _ => (false, rest),
            };
            if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            for b in exp_digits.bytes() {
                exponent = exponent * 10 + i64::from(b - b'0');
                if exponent > i64::from(i32::MAX) + 1 {
                    return None;
                }
            }
            if exp_negative {
                exponent = -exponent;
            }
            i32::try_from(exponent).ok()?;
        }
        // The scale (fraction digits minus exponent) must be an int.
        let scale = fraction_digits - exponent;
        i32::try_from(scale).ok()?;
        Some(JavaBigDecimal {
            negative,
            digits,
            exponent: -scale,
        })
    }

    /// `longValue()`: the integer part (truncated toward zero), keeping its low 64 bits.
    fn long_value(&self) -> i64 {
        let integer_digits = if self.exponent >= 0 {
            &self.digits[..]
        } else {
            let dropped = usize::try_from(self.exponent.unsigned_abs()).unwrap_or(usize::MAX);
            &self.digits[..self.digits.len().saturating_sub(dropped)]
        };
        let mut v: u64 = 0;
        for &d in integer_digits {
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        // 10^64 is a multiple of 2^64: more factors of ten leave zero.
        for _ in 0..self.exponent.clamp(0, 64) {
            v = v.wrapping_mul(10);
        }
        if self.negative {
            v = v.wrapping_neg();
        }
        v as i64
    }

    /// `doubleValue()`: the nearest double (zero is never negative).
    fn double_value(&self) -> f64 {
        if self.digits.iter().all(|&d| d == 0) {
            return 0.0;
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let text = format!(
            "{}{digits}e{}",
            if self.negative { "-" } else { "" },
            self.exponent
        );
        text.parse().unwrap_or(f64::NAN)
    }

    /// The unscaled value at `scale`, if the number is exact there and fits 128 bits.
    fn unscaled_at(&self, scale: i32) -> Option<i128> {
        let shift = self.exponent + i64::from(scale);
        let kept = if shift >= 0 {
            &self.digits[..]
        } else {
            let dropped = usize::try_from(shift.unsigned_abs()).ok()?;
            let keep = self.digits.len().saturating_sub(dropped);
            if self.digits[keep..].iter().any(|&d| d != 0) {
                return None;
            }
            &self.digits[..keep]
        };
        let mut v: i128 = 0;
        for &d in kept {
            v = v.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        for _ in 0..shift.max(0) {
            if v == 0 {
                break;
            }
            v = v.checked_mul(10)?;
        }
        Some(if self.negative { -v } else { v })
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{Schema, Type};

    use super::*;
    use crate::smt::testing::{build, map, sink, source, strukt, transform};

    fn masker(fields: &str, replacement: Option<&str>) -> Box<dyn Transformation> {
        let mut pairs = vec![("fields", fields), ("replace.null.with.default", "false")];
        if let Some(r) = replacement {
            pairs.push(("replacement", r));
        }
        transform(VALUE_CLASS, &pairs)
    }

    fn mask_schemaless(
        fields: &str,
        replacement: Option<&str>,
        value: Value,
    ) -> Result<Value, TransformError> {
        let mut t = masker(fields, replacement);
        let mut r = sink("t", None, Value::Null, None, value);
        t.apply(&mut r)?;
        assert!(r.value_schema.is_none());
        Ok(r.value)
    }

    fn mask_with_schema(
        fields: &str,
        replacement: Option<&str>,
        schema: &SchemaRef,
        value: Value,
    ) -> Result<Value, TransformError> {
        let mut t = masker(fields, replacement);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value);
        t.apply(&mut r)?;
        assert_eq!(
            r.value_schema.as_ref(),
            Some(schema),
            "the schema is unchanged"
        );
        Ok(r.value)
    }

    fn get<'a>(v: &'a Value, name: &str) -> &'a Value {
        match v {
            Value::Struct(s) => s.get(name).unwrap(),
            Value::Map(m) => schema_util::map_get(m, name).unwrap(),
            other => panic!("not a struct or map: {other:?}"),
        }
    }

    fn schemaless_row() -> Value {
        map(vec![
            ("magic", Value::Int32(42)),
            ("bool", Value::Boolean(true)),
            ("byte", Value::Int8(42)),
            ("short", Value::Int16(42)),
            ("int", Value::Int32(42)),
            ("long", Value::Int64(42)),
            ("float", Value::Float32(42.0)),
            ("double", Value::Float64(42.0)),
            ("string", Value::from("55.121.20.20")),
            ("list", Value::Array(vec![Value::Int32(42)])),
            ("map", map(vec![("key", Value::from("value"))])),
        ])
    }

    fn row_schema() -> SchemaRef {
        Schema::struct_([
            ("magic", Schema::int32()),
            ("bool", Schema::boolean()),
            ("byte", Schema::int8()),
            ("short", Schema::int16()),
            ("int", Schema::int32()),
            ("long", Schema::int64()),
            ("float", Schema::float32()),
            ("double", Schema::float64()),
            ("string", Schema::string()),
            ("date", logical::date().into_ref()),
            ("time", logical::time().into_ref()),
            ("timestamp", logical::timestamp().into_ref()),
            ("decimal", logical::decimal(0).into_ref()),
            ("array", Schema::array(Schema::int32()).into_ref()),
            (
                "map",
                Schema::map(Schema::string(), Schema::string()).into_ref(),
            ),
            (
                "withDefault",
                Schema::new(Type::String)
                    .optional()
                    .with_default(Value::from("default"))
                    .into_ref(),
            ),
        ])
        .into_ref()
    }

    fn row(schema: &SchemaRef) -> Value {
        strukt(
            schema,
            vec![
                ("magic", Value::Int32(42)),
                ("bool", Value::Boolean(true)),
                ("byte", Value::Int8(42)),
                ("short", Value::Int16(42)),
                ("int", Value::Int32(42)),
                ("long", Value::Int64(42)),
                ("float", Value::Float32(42.0)),
                ("double", Value::Float64(42.0)),
                ("string", Value::from("hmm")),
                ("date", Value::Int32(19_000)),
                ("time", Value::Int32(3_600_000)),
                ("timestamp", Value::Int64(1_700_000_000_000)),
                ("decimal", logical::decimal_value("42", 0).unwrap()),
                (
                    "array",
                    Value::Array(vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)]),
                ),
                ("map", map(vec![("what", Value::from("what"))])),
            ],
        )
    }

    const ALL_BUT_MAGIC: &str = "bool,byte,short,int,long,float,double,string,date,time,\
                                 timestamp,decimal,array,map,withDefault,list";

    #[test]
    fn schemaless_empty_values() {
        let v = mask_schemaless(ALL_BUT_MAGIC, None, schemaless_row()).unwrap();
        assert_eq!(get(&v, "magic"), &Value::Int32(42));
        assert_eq!(get(&v, "bool"), &Value::Boolean(false));
        assert_eq!(get(&v, "byte"), &Value::Int8(0));
        assert_eq!(get(&v, "short"), &Value::Int16(0));
        assert_eq!(get(&v, "int"), &Value::Int32(0));
        assert_eq!(get(&v, "long"), &Value::Int64(0));
        assert_eq!(get(&v, "float"), &Value::Float32(0.0));
        assert_eq!(get(&v, "double"), &Value::Float64(0.0));
        assert_eq!(get(&v, "string"), &Value::from(""));
        assert_eq!(get(&v, "list"), &Value::Array(vec![]));
        assert_eq!(get(&v, "map"), &Value::Map(vec![]));
        // Listed fields the map lacks are added as nulls.
        assert_eq!(get(&v, "date"), &Value::Null);
        let Value::Map(entries) = &v else { panic!() };
        assert_eq!(entries.len(), 11 + 6);
        assert_eq!(entries[0].0, Value::from("magic"));
    }

    #[test]
    fn schema_empty_values() {
        let schema = row_schema();
        let v = mask_with_schema(ALL_BUT_MAGIC, None, &schema, row(&schema)).unwrap();
        assert_eq!(get(&v, "magic"), &Value::Int32(42));
        assert_eq!(get(&v, "bool"), &Value::Boolean(false));
        assert_eq!(get(&v, "byte"), &Value::Int8(0));
        assert_eq!(get(&v, "short"), &Value::Int16(0));
        assert_eq!(get(&v, "int"), &Value::Int32(0));
        assert_eq!(get(&v, "long"), &Value::Int64(0));
        assert_eq!(get(&v, "float"), &Value::Float32(0.0));
        assert_eq!(get(&v, "double"), &Value::Float64(0.0));
        assert_eq!(get(&v, "string"), &Value::from(""));
        assert_eq!(get(&v, "date"), &Value::Int32(0));
        assert_eq!(get(&v, "time"), &Value::Int32(0));
        assert_eq!(get(&v, "timestamp"), &Value::Int64(0));
        assert_eq!(get(&v, "decimal"), &Value::Bytes(vec![0]));
        assert_eq!(get(&v, "array"), &Value::Array(vec![]));
        assert_eq!(get(&v, "map"), &Value::Map(vec![]));
        // Null with replace.null.with.default=false stays null.
        assert_eq!(get(&v, "withDefault"), &Value::Null);
    }

    #[test]
    fn defaults_are_masked_when_replacing_nulls() {
        let schema = row_schema();
        let mut t = transform(VALUE_CLASS, &[("fields", "withDefault")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), row(&schema));
        t.apply(&mut r).unwrap();
        assert_eq!(get(&r.value, "withDefault"), &Value::from(""));

        let mut t = transform(
            VALUE_CLASS,
            &[("fields", "int"), ("replace.null.with.default", "true")],
        );
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), row(&schema));
        t.apply(&mut r).unwrap();
        // Unmasked fields read the same way: the default is filled in.
        assert_eq!(get(&r.value, "withDefault"), &Value::from("default"));
    }

    #[test]
    fn schemaless_replacements() {
        let check = |field: &str, replacement: &str, expected: Value| {
            let v = mask_schemaless(field, Some(replacement), schemaless_row()).unwrap();
            assert_eq!(get(&v, field), &expected, "{field} <- {replacement}");
        };
        check("short", "123", Value::Int16(123));
        check("byte", "123", Value::Int8(123));
        check("int", "123", Value::Int32(123));
        check("long", "123", Value::Int64(123));
        check("float", "123.0", Value::Float32(123.0));
        check("double", "123.0", Value::Float64(123.0));
        check("string", "123", Value::from("123"));
        check("string", "****", Value::from("****"));
        // Integers take the BigDecimal's integer part, narrowed with wrap-around.
        check("int", "1.9", Value::Int32(1));
        check("int", "-1.9", Value::Int32(-1));
        check("int", "2e3", Value::Int32(2000));
        check("byte", "300", Value::Int8(44));
        check("int", "4294967297", Value::Int32(1));
        check("long", "18446744073709551617", Value::Int64(1));
        check("long", "1e64", Value::Int64(0));
        check("double", "0.1", Value::Float64(0.1));
        let v = mask_schemaless("double", Some("-0"), schemaless_row()).unwrap();
        assert!(matches!(get(&v, "double"), Value::Float64(z) if z.to_bits() == 0));
        check("float", "1E-50", Value::Float32(0.0));
        check("double", "1e400", Value::Float64(f64::INFINITY));
    }

    #[test]
    fn schema_replacements() {
        let schema = row_schema();
        let check = |field: &str, replacement: &str, expected: Value| {
            let v = mask_with_schema(field, Some(replacement), &schema, row(&schema)).unwrap();
            assert_eq!(get(&v, field), &expected, "{field} <- {replacement}");
        };
        check("short", "123", Value::Int16(123));
        check("byte", "123", Value::Int8(123));
        check("int", "123", Value::Int32(123));
        check("long", "123", Value::Int64(123));
        check("float", "123.0", Value::Float32(123.0));
        check("double", "123.0", Value::Float64(123.0));
        check("string", "123", Value::from("123"));
        check("decimal", "123", logical::decimal_value("123", 0).unwrap());
        check(
            "decimal",
            "123.0",
            logical::decimal_value("123", 0).unwrap(),
        );
        check(
            "decimal",
            "-4E+2",
            logical::decimal_value("-400", 0).unwrap(),
        );
        // A null field stays null whatever the replacement.
        check("withDefault", "x", Value::Null);

        let scaled = Schema::struct_([("price", logical::decimal(2).into_ref())]).into_ref();
        let value = strukt(
            &scaled,
            vec![("price", logical::decimal_value("9.99", 2).unwrap())],
        );
        let v = mask_with_schema("price", Some("1.5"), &scaled, value.clone()).unwrap();
        assert_eq!(
            get(&v, "price"),
            &logical::decimal_value("1.50", 2).unwrap()
        );
        assert!(mask_with_schema("price", Some("1.234"), &scaled, value).is_err());
    }

    #[test]
    fn unsupported_replacement_types() {
        let expect_err = |r: Result<Value, TransformError>, what: &str| {
            let e = r.unwrap_err();
            assert!(
                e.message.contains("Cannot mask value of type"),
                "{what}: {}",
                e.message
            );
        };
        for field in ["bool", "list", "map", "int,bool"] {
            expect_err(mask_schemaless(field, Some("123"), schemaless_row()), field);
        }
        let schema = row_schema();
        for field in ["bool", "date", "time", "timestamp", "array", "map"] {
            expect_err(
                mask_with_schema(field, Some("123"), &schema, row(&schema)),
                field,
            );
        }
    }

    #[test]
    fn unparseable_replacements() {
        for field in [
            "byte",
            "short",
            "int",
            "long",
            "float",
            "double",
            "string,int",
        ] {
            for text in ["foo", "1,5", "1 1", "0x10", "NaN", "1e", "1.2.3", "--1"] {
                let e = mask_schemaless(field, Some(text), schemaless_row()).unwrap_err();
                assert!(
                    e.message.contains("Unable to convert"),
                    "{field} {text}: {}",
                    e.message
                );
            }
        }
        let schema = row_schema();
        assert!(mask_with_schema("decimal", Some("foo"), &schema, row(&schema)).is_err());
        // Only fields that are masked and non-null convert the replacement.
        assert!(mask_schemaless("string", Some("foo"), schemaless_row()).is_ok());
        let v = mask_schemaless("gone", Some("foo"), schemaless_row()).unwrap();
        assert_eq!(get(&v, "gone"), &Value::Null);
    }

    #[test]
    fn values_that_cannot_be_masked() {
        let e = mask_schemaless("b", None, map(vec![("b", Value::Bytes(vec![1]))])).unwrap_err();
        assert!(
            e.message.contains("Cannot mask value of type: bytes"),
            "{}",
            e.message
        );
        let inner = Schema::struct_([("x", Schema::int32())]).into_ref();
        let schema = Schema::struct_([("s", inner.clone()), ("b", Schema::bytes())]).into_ref();
        let value = strukt(
            &schema,
            vec![
                ("s", strukt(&inner, vec![("x", Value::Int32(1))])),
                ("b", Value::Bytes(vec![1])),
            ],
        );
        assert!(mask_with_schema("s", None, &schema, value.clone()).is_err());
        assert!(mask_with_schema("b", None, &schema, value.clone()).is_err());
        // Unlisted fields of any type pass.
        let v = mask_with_schema("nothing", None, &schema, value.clone()).unwrap();
        assert_eq!(v, value);
    }

    #[test]
    fn records_must_be_structs_or_maps() {
        let e = mask_schemaless("a", None, Value::Null).unwrap_err();
        assert!(
            e.message.contains("Only Map objects supported"),
            "{}",
            e.message
        );
        assert!(mask_schemaless("a", None, Value::Int32(1)).is_err());
        let e = mask_with_schema("a", None, &Schema::optional_int32(), Value::Null).unwrap_err();
        assert!(
            e.message.contains("Only Struct objects supported"),
            "{}",
            e.message
        );
    }

    #[test]
    fn key_variant_and_required_nulls() {
        let mut t = transform(KEY_CLASS, &[("fields", "id")]);
        let mut r = source(
            "t",
            None,
            map(vec![("id", Value::Int64(7)), ("other", Value::from("x"))]),
            None,
            map(vec![("id", Value::Int64(7))]),
        );
        t.apply(&mut r).unwrap();
        assert_eq!(
            r.key,
            map(vec![("id", Value::Int64(0)), ("other", Value::from("x"))])
        );
        assert_eq!(r.value, map(vec![("id", Value::Int64(7))]));

        let schema = Schema::struct_([(
            "n",
            Schema::new(Type::Int32)
                .with_default(Value::Int32(5))
                .into_ref(),
        )])
        .into_ref();
        let value = strukt(&schema, vec![]);
        let e = mask_with_schema("n", None, &schema, value.clone()).unwrap_err();
        assert!(
            e.message.contains("null used for required field"),
            "{}",
            e.message
        );
        let mut t = transform(VALUE_CLASS, &[("fields", "n")]);
        let mut r = sink("t", None, Value::Null, Some(schema), value);
        t.apply(&mut r).unwrap();
        assert_eq!(get(&r.value, "n"), &Value::Int32(0));
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[]), "fields");
        assert_eq!(key(&[("fields", "")]), "fields");
        assert_eq!(key(&[("fields", " , ")]), "fields");
        assert_eq!(key(&[("fields", "a"), ("replacement", "")]), "replacement");
        assert_eq!(
            key(&[("fields", "a"), ("replace.null.with.default", "nope")]),
            "replace.null.with.default"
        );
        assert!(build(KEY_CLASS, &[("fields", "a")]).is_ok());
        assert!(build(VALUE_CLASS, &[("fields", "a"), ("replacement", "x")]).is_ok());
    }

    #[test]
    fn big_decimal_grammar() {
        let parse = JavaBigDecimal::parse;
        for text in [
            "1",
            "+1",
            "-1",
            "1.",
            ".1",
            "1e5",
            "1E-5",
            "1.5e+3",
            "007",
            "1e2147483647",
        ] {
            assert!(parse(text).is_some(), "{text}");
        }
        for text in [
            "",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "1 ",
            " 1",
            "1.2.3",
            "1f",
            "NaN",
            "1e2147483648",
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
        assert_eq!(parse("-12.5e1").unwrap().long_value(), -125);
        assert_eq!(parse("0.000").unwrap().long_value(), 0);
        assert_eq!(parse("1.5e-1").unwrap().double_value(), 0.15);
    }
}
