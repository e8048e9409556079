//! PostgreSQL column types as Debezium maps them: each column gets a [`Conv`] once (from its
//! type and the handling modes), which gives its Connect schema (with Debezium's semantic
//! names: `io.debezium.time.*`, `io.debezium.data.*`) and turns the column's text form — what
//! pgoutput and the snapshot's `COPY` both send — into a Connect value.
//!
//! The text forms read are PostgreSQL's defaults (`DateStyle` ISO, `IntervalStyle`
//! postgres, `bytea_output` hex); a server configured otherwise gives values this module
//! refuses with an error naming the text, never a wrong value.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use num_bigint::BigInt;
use tributary_connector_api::{Schema, SchemaRef, Struct, Type, Value};

use crate::config::{BinaryMode, CdcConfig, DecimalMode, HstoreMode, IntervalMode, TimePrecision};

/// What the catalog says about a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// A type known by its name (`int4`, `text`, `citext`, …).
    Named(String),
    /// An enum with its labels in order.
    Enum(Vec<String>),
    /// An array of the element type.
    Array(Box<TypeKind>),
}

/// How a column's values are turned into Connect values.
#[derive(Debug, Clone, PartialEq)]
pub enum Conv {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// A string with an optional semantic name (`io.debezium.data.Json`, …).
    Text(Option<&'static str>),
    Enum(String),
    Decimal {
        scale: i32,
        precision: Option<i32>,
    },
    VariableDecimal,
    DecimalDouble,
    DecimalString,
    Money,
    Bytes(BinaryMode),
    /// bit(1) as a boolean; longer bit strings as `io.debezium.data.Bits`.
    Bit1,
    Bits(u32),
    Date {
        connect: bool,
    },
    DateIso,
    /// Time of day in the given unit: 3 (ms), 6 (µs) or 9 (ns); `connect` = Kafka's Time.
    Time {
        digits: u8,
        connect: bool,
    },
    TimeIso,
    Timestamp {
        digits: u8,
        connect: bool,
    },
    TimestampIso,
    ZonedTimestamp {
        width: Option<u8>,
    },
    ZonedTime,
    IntervalMicros,
    IntervalString,
    Hstore(HstoreMode),
    Array(Box<Conv>),
}

/// The type modifier's precision of a time/timestamp column (-1: none given, 6).
fn time_digits(typmod: i32) -> u8 {
    if (0..=6).contains(&typmod) {
        typmod as u8
    } else {
        6
    }
}

impl Conv {
    /// The conversion of a column of `kind` with type modifier `typmod`; `None` for a type
    /// Debezium leaves out (geometric types, …) unless `include.unknown.datatypes`.
    pub fn for_type(kind: &TypeKind, typmod: i32, config: &CdcConfig) -> Option<Conv> {
        let name = match kind {
            TypeKind::Enum(labels) => return Some(Conv::Enum(labels.join(","))),
            TypeKind::Array(element) => {
                // The column's type modifier is its elements' (numeric(10,2)[], timestamp(3)[]).
                return Conv::for_type(element, typmod, config).map(|c| Conv::Array(Box::new(c)));
            }
            TypeKind::Named(name) => name.as_str(),
        };
        let tp = config.time_precision;
        let adaptive = matches!(tp, TimePrecision::Adaptive);
        Some(match name {
            "bool" => Conv::Bool,
            "int2" => Conv::Int16,
            "int4" => Conv::Int32,
            "int8" | "oid" | "xid" | "xid8" => Conv::Int64,
            "float4" => Conv::Float32,
            "float8" => Conv::Float64,
            "text" | "varchar" | "bpchar" | "char" | "name" | "citext" | "inet" | "cidr"
            | "macaddr" | "macaddr8" | "int4range" | "int8range" | "numrange" | "tsrange"
            | "tstzrange" | "daterange" | "tsvector" => Conv::Text(None),
            "json" | "jsonb" => Conv::Text(Some("io.debezium.data.Json")),
            "uuid" => Conv::Text(Some("io.debezium.data.Uuid")),
            "xml" => Conv::Text(Some("io.debezium.data.Xml")),
            "ltree" => Conv::Text(Some("io.debezium.data.Ltree")),
            "numeric" => match config.decimal_mode {
                DecimalMode::Double => Conv::DecimalDouble,
                DecimalMode::String => Conv::DecimalString,
                DecimalMode::Precise if typmod >= 4 => {
                    let m = typmod - 4;
                    let (precision, scale) = ((m >> 16) & 0xffff, m & 0xffff);
                    // A negative scale (PG 15+) is stored in 11 bits two's complement.
                    let scale = if scale > 1000 { scale - 2048 } else { scale };
                    Conv::Decimal {
                        scale,
                        precision: Some(precision),
                    }
                }
                DecimalMode::Precise => Conv::VariableDecimal,
            },
            "money" => match config.decimal_mode {
                DecimalMode::Double => Conv::DecimalDouble,
                DecimalMode::String => Conv::DecimalString,
                DecimalMode::Precise => Conv::Money,
            },
            "bytea" => Conv::Bytes(config.binary_mode),
            "bit" | "varbit" if typmod == 1 && name == "bit" => Conv::Bit1,
            "bit" | "varbit" => Conv::Bits(typmod.max(0) as u32),
            "date" => match tp {
                TimePrecision::IsoString => Conv::DateIso,
                TimePrecision::Connect => Conv::Date { connect: true },
                _ => Conv::Date { connect: false },
            },
            "time" => {
                let p = time_digits(typmod);
                match tp {
                    TimePrecision::IsoString => Conv::TimeIso,
                    TimePrecision::Connect => Conv::Time {
                        digits: 3,
                        connect: true,
                    },
                    TimePrecision::Nanoseconds => Conv::Time {
                        digits: 9,
                        connect: false,
                    },
                    _ if adaptive && p <= 3 => Conv::Time {
                        digits: 3,
                        connect: false,
                    },
                    _ => Conv::Time {
                        digits: 6,
                        connect: false,
                    },
                }
            }
            "timestamp" => {
                let p = time_digits(typmod);
                match tp {
                    TimePrecision::IsoString => Conv::TimestampIso,
                    TimePrecision::Connect => Conv::Timestamp {
                        digits: 3,
                        connect: true,
                    },
                    TimePrecision::Nanoseconds => Conv::Timestamp {
                        digits: 9,
                        connect: false,
                    },
                    TimePrecision::Adaptive | TimePrecision::AdaptiveTimeMicroseconds if p <= 3 => {
                        Conv::Timestamp {
                            digits: 3,
                            connect: false,
                        }
                    }
                    _ => Conv::Timestamp {
                        digits: 6,
                        connect: false,
                    },
                }
            }
            // The fraction has the column's precision (6 without one), as Debezium writes it.
            "timestamptz" => Conv::ZonedTimestamp {
                width: match typmod {
                    1..=6 => Some(typmod as u8),
                    0 => None,
                    _ => Some(6),
                },
            },
            "timetz" => Conv::ZonedTime,
            "interval" => match config.interval_mode {
                IntervalMode::Numeric => Conv::IntervalMicros,
                IntervalMode::String => Conv::IntervalString,
            },
            "hstore" => Conv::Hstore(config.hstore_mode),
            _ if config.include_unknown_datatypes => Conv::Bytes(config.binary_mode),
            _ => return None,
        })
    }

    /// The value schema of a column of this conversion.
    pub fn schema(&self, optional: bool) -> SchemaRef {
        let named = |t: Type, name: &str, version: Option<i32>| {
            let mut s = Schema::new(t).with_name(name);
            if let Some(v) = version {
                s = s.with_version(v);
            }
            s
        };
        let schema = match self {
            Conv::Bool | Conv::Bit1 => Schema::new(Type::Boolean),
            Conv::Int16 => Schema::new(Type::Int16),
            Conv::Int32 => Schema::new(Type::Int32),
            Conv::Int64 => Schema::new(Type::Int64),
            Conv::Float32 => Schema::new(Type::Float32),
            Conv::Float64 | Conv::DecimalDouble => Schema::new(Type::Float64),
            Conv::Text(None) | Conv::DecimalString => Schema::new(Type::String),
            Conv::Text(Some(name)) => named(Type::String, name, Some(1)),
            Conv::Enum(allowed) => named(Type::String, "io.debezium.data.Enum", Some(1))
                .with_parameter("allowed", allowed.clone()),
            Conv::Decimal { scale, precision } => {
                let mut s = named(
                    Type::Bytes,
                    "org.apache.kafka.connect.data.Decimal",
                    Some(1),
                )
                .with_parameter("scale", scale.to_string());
                if let Some(p) = precision {
                    s = s.with_parameter("connect.decimal.precision", p.to_string());
                }
                s
            }
            Conv::Money => named(
                Type::Bytes,
                "org.apache.kafka.connect.data.Decimal",
                Some(1),
            )
            .with_parameter("scale", "2"),
            Conv::VariableDecimal => Schema::struct_([
                ("scale", Schema::new(Type::Int32).into_ref()),
                ("value", Schema::new(Type::Bytes).into_ref()),
            ])
            .with_name("io.debezium.data.VariableScaleDecimal")
            .with_version(1)
            .with_doc("Variable scaled decimal"),
            Conv::Bytes(BinaryMode::Bytes) => Schema::new(Type::Bytes),
            Conv::Bytes(_) => Schema::new(Type::String),
            Conv::Bits(len) => named(Type::Bytes, "io.debezium.data.Bits", Some(1))
                .with_parameter("length", len.to_string()),
            Conv::Date { connect: true } => {
                named(Type::Int32, "org.apache.kafka.connect.data.Date", Some(1))
            }
            Conv::Date { connect: false } => named(Type::Int32, "io.debezium.time.Date", Some(1)),
            Conv::DateIso => named(Type::String, "io.debezium.time.IsoDate", Some(1)),
            Conv::Time { connect: true, .. } => {
                named(Type::Int32, "org.apache.kafka.connect.data.Time", Some(1))
            }
            Conv::Time { digits: 3, .. } => named(Type::Int32, "io.debezium.time.Time", Some(1)),
            Conv::Time { digits: 9, .. } => {
                named(Type::Int64, "io.debezium.time.NanoTime", Some(1))
            }
            Conv::Time { .. } => named(Type::Int64, "io.debezium.time.MicroTime", Some(1)),
            Conv::TimeIso => named(Type::String, "io.debezium.time.IsoTime", Some(1)),
            Conv::Timestamp { connect: true, .. } => named(
                Type::Int64,
                "org.apache.kafka.connect.data.Timestamp",
                Some(1),
            ),
            Conv::Timestamp { digits: 3, .. } => {
                named(Type::Int64, "io.debezium.time.Timestamp", Some(1))
            }
            Conv::Timestamp { digits: 9, .. } => {
                named(Type::Int64, "io.debezium.time.NanoTimestamp", Some(1))
            }
            Conv::Timestamp { .. } => {
                named(Type::Int64, "io.debezium.time.MicroTimestamp", Some(1))
            }
            Conv::TimestampIso => named(Type::String, "io.debezium.time.IsoTimestamp", Some(1)),
            Conv::ZonedTimestamp { .. } => {
                named(Type::String, "io.debezium.time.ZonedTimestamp", Some(1))
            }
            Conv::ZonedTime => named(Type::String, "io.debezium.time.ZonedTime", Some(1)),
            Conv::IntervalMicros => named(Type::Int64, "io.debezium.time.MicroDuration", Some(1)),
            Conv::IntervalString => named(Type::String, "io.debezium.time.Interval", Some(1)),
            Conv::Hstore(HstoreMode::Json) => named(Type::String, "io.debezium.data.Json", Some(1)),
            Conv::Hstore(HstoreMode::Map) => Schema::map(
                Schema::new(Type::String).into_ref(),
                Schema::new(Type::String).optional().into_ref(),
            ),
            Conv::Array(element) => Schema::array(element.schema(true)),
        };
        let schema = if optional { schema.optional() } else { schema };
        schema.into_ref()
    }

    /// The Connect value of a column's text form.
    pub fn value(&self, text: &str, schema: &SchemaRef) -> Result<Value, String> {
        let bad = |what: &str| format!("cannot read '{}' as {what}", shorten(text));
        Ok(match self {
            Conv::Bool => match text {
                "t" | "true" => Value::Boolean(true),
                "f" | "false" => Value::Boolean(false),
                _ => return Err(bad("a boolean")),
            },
            Conv::Bit1 => match text {
                "1" => Value::Boolean(true),
                "0" => Value::Boolean(false),
                _ => return Err(bad("a bit")),
            },
            Conv::Int16 => Value::Int16(text.parse().map_err(|_| bad("int2"))?),
            Conv::Int32 => Value::Int32(text.parse().map_err(|_| bad("int4"))?),
            Conv::Int64 => Value::Int64(text.parse().map_err(|_| bad("int8"))?),
            Conv::Float32 => Value::Float32(parse_float(text).ok_or_else(|| bad("float4"))? as f32),
            Conv::Float64 => Value::Float64(parse_float(text).ok_or_else(|| bad("float8"))?),
            Conv::Text(_) | Conv::Enum(_) => Value::String(text.to_owned()),
            Conv::Decimal { scale, .. } => match decimal_parts(text) {
                Some((unscaled, s)) => {
                    let unscaled = rescale(unscaled, s, *scale).ok_or_else(|| bad("numeric"))?;
                    Value::Bytes(unscaled.to_signed_bytes_be())
                }
                // NaN and infinities have no decimal form (Debezium fails the event there; a
                // null loses nothing else).
                None if is_special_number(text) => Value::Null,
                None => return Err(bad("numeric")),
            },
            Conv::Money => {
                let cleaned = money_text(text).ok_or_else(|| bad("money"))?;
                let (unscaled, s) = decimal_parts(&cleaned).ok_or_else(|| bad("money"))?;
                let unscaled = rescale(unscaled, s, 2).ok_or_else(|| bad("money"))?;
                Value::Bytes(unscaled.to_signed_bytes_be())
            }
            Conv::VariableDecimal => match decimal_parts(text) {
                Some((unscaled, s)) => {
                    // Debezium strips trailing zeros (BigDecimal.stripTrailingZeros) and keeps
                    // the scale at least 0: 1.50 → (15, 1), 100 → (100, 0).
                    let (unscaled, s) = strip_trailing_zeros(unscaled, s);
                    let st = Struct::from_values(
                        variable_decimal_struct_schema(schema),
                        vec![Value::Int32(s), Value::Bytes(unscaled.to_signed_bytes_be())],
                    )
                    .map_err(|e| e.to_string())?;
                    Value::Struct(st)
                }
                None if is_special_number(text) => Value::Null,
                None => return Err(bad("numeric")),
            },
            Conv::DecimalDouble => {
                let t = money_text(text).unwrap_or_else(|| text.to_owned());
                Value::Float64(parse_float(&t).ok_or_else(|| bad("numeric"))?)
            }
            Conv::DecimalString if is_special_number(text) => Value::String(
                match text {
                    "NaN" => "NAN",
                    "Infinity" => "POSITIVE_INFINITY",
                    _ => "NEGATIVE_INFINITY",
                }
                .to_owned(),
            ),
            Conv::DecimalString => {
                Value::String(money_text(text).unwrap_or_else(|| text.to_owned()))
            }
            Conv::Bytes(mode) => {
                let bytes = match text.strip_prefix("\\x") {
                    Some(hex) => decode_hex(hex).ok_or_else(|| bad("bytea"))?,
                    // include.unknown.datatypes: the text itself.
                    None => text.as_bytes().to_vec(),
                };
                encode_binary(*mode, bytes)
            }
            Conv::Bits(_) => Value::Bytes(bits_bytes(text).ok_or_else(|| bad("a bit string"))?),
            Conv::Date { .. } => Value::Int32(match parse_date(text) {
                Some(d) => days_since_epoch(d),
                // Debezium's constants for the infinities (PostgresValueConverter).
                None if text == "infinity" => -2_147_472_693,
                None if text == "-infinity" => -2_147_472_692,
                None => return Err(bad("a date")),
            }),
            Conv::DateIso => Value::String(
                parse_date(text)
                    .map(|d| format!("{}Z", iso_date(d)))
                    .ok_or_else(|| bad("a date"))?,
            ),
            Conv::Time { digits, connect } => {
                let nanos = parse_time_nanos(text).ok_or_else(|| bad("a time"))?;
                match (digits, connect) {
                    (_, true) | (3, _) => Value::Int32((nanos / 1_000_000) as i32),
                    (9, _) => Value::Int64(nanos),
                    _ => Value::Int64(nanos / 1_000),
                }
            }
            Conv::TimeIso => {
                let nanos = parse_time_nanos(text).ok_or_else(|| bad("a time"))?;
                Value::String(iso_time(nanos, "Z"))
            }
            Conv::Timestamp { digits, connect } => {
                // Debezium's constants for the infinities (pgjdbc's DATE_POSITIVE_INFINITY
                // and DATE_NEGATIVE_INFINITY, in ms), in the column's unit.
                let infinity = |micros: i64| {
                    Value::Int64(match (digits, connect) {
                        (_, true) | (3, _) => micros / 1000,
                        (9, _) => micros.saturating_mul(1000),
                        _ => micros,
                    })
                };
                let t = match parse_timestamp(text) {
                    Some(t) => t.and_utc(),
                    None if text == "infinity" => return Ok(infinity(9_223_372_036_825_200_000)),
                    None if text == "-infinity" => return Ok(infinity(-9_223_372_036_832_400_000)),
                    None => return Err(bad("a timestamp")),
                };
                Value::Int64(match (digits, connect) {
                    (_, true) | (3, _) => t.timestamp_millis(),
                    (9, _) => t
                        .timestamp_nanos_opt()
                        .ok_or_else(|| bad("a timestamp in nanoseconds"))?,
                    _ => t.timestamp_micros(),
                })
            }
            Conv::TimestampIso => Value::String(
                parse_timestamp(text)
                    .map(|t| zoned_timestamp(t.and_utc().fixed_offset(), None))
                    .ok_or_else(|| bad("a timestamp"))?,
            ),
            Conv::ZonedTimestamp { width } => match parse_timestamptz(text) {
                Some(t) => Value::String(zoned_timestamp(t, *width)),
                None if text == "infinity" || text == "-infinity" => Value::String(text.to_owned()),
                None => return Err(bad("a timestamp with time zone")),
            },
            Conv::ZonedTime => Value::String(zoned_time(text).ok_or_else(|| bad("a timetz"))?),
            Conv::IntervalMicros => {
                let i = parse_interval(text).ok_or_else(|| bad("an interval"))?;
                Value::Int64(i.micros_debezium())
            }
            Conv::IntervalString => {
                let i = parse_interval(text).ok_or_else(|| bad("an interval"))?;
                Value::String(i.iso())
            }
            Conv::Hstore(mode) => {
                let pairs = parse_hstore(text).ok_or_else(|| bad("hstore"))?;
                match mode {
                    HstoreMode::Json => {
                        let map: serde_json::Map<String, serde_json::Value> = pairs
                            .into_iter()
                            .map(|(k, v)| {
                                (
                                    k,
                                    v.map_or(serde_json::Value::Null, serde_json::Value::String),
                                )
                            })
                            .collect();
                        Value::String(serde_json::Value::Object(map).to_string())
                    }
                    HstoreMode::Map => Value::Map(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v.map_or(Value::Null, Value::String)))
                            .collect(),
                    ),
                }
            }
            Conv::Array(element) => {
                let items = parse_array(text).ok_or_else(|| bad("an array"))?;
                let element_schema = schema
                    .value_schema
                    .clone()
                    .unwrap_or_else(|| element.schema(true));
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(match item {
                        None => Value::Null,
                        Some(t) => element.value(&t, &element_schema)?,
                    });
                }
                Value::Array(values)
            }
        })
    }

    /// The value standing in for an unchanged TOASTed column (`unavailable.value.placeholder`).
    pub fn placeholder(&self, placeholder: &str) -> Value {
        match self {
            Conv::Bytes(BinaryMode::Bytes) | Conv::Bits(_) => {
                Value::Bytes(placeholder_bytes(placeholder))
            }
            Conv::Array(element) => match element.as_ref() {
                Conv::Bytes(BinaryMode::Bytes) => {
                    Value::Array(vec![Value::Bytes(placeholder_bytes(placeholder))])
                }
                Conv::Int32 => Value::Array(
                    placeholder_bytes(placeholder)
                        .into_iter()
                        .map(|b| Value::Int32(i32::from(b)))
                        .collect(),
                ),
                Conv::Int64 => Value::Array(
                    placeholder_bytes(placeholder)
                        .into_iter()
                        .map(|b| Value::Int64(i64::from(b)))
                        .collect(),
                ),
                e if e.schema(true).type_ == Type::String => {
                    Value::Array(vec![Value::String(placeholder.to_owned())])
                }
                // Elements of other types have no stand-in: an empty array keeps the schema.
                _ => Value::Array(Vec::new()),
            },
            Conv::Hstore(HstoreMode::Map) => Value::Map(vec![(
                Value::String(placeholder.to_owned()),
                Value::String(placeholder.to_owned()),
            )]),
            Conv::Hstore(HstoreMode::Json) => {
                Value::String(serde_json::json!({ placeholder: placeholder }).to_string())
            }
            // Debezium emits the placeholder string whatever the column's type; in a schema
            // that is not a string it could not be serialised, so such columns get null.
            _ if self.schema(true).type_ == Type::String => Value::String(placeholder.to_owned()),
            _ => Value::Null,
        }
    }
}

fn placeholder_bytes(placeholder: &str) -> Vec<u8> {
    match placeholder.strip_prefix("hex:") {
        Some(hex) => decode_hex(hex).unwrap_or_else(|| placeholder.as_bytes().to_vec()),
        None => placeholder.as_bytes().to_vec(),
    }
}

fn variable_decimal_struct_schema(schema: &SchemaRef) -> SchemaRef {
    if schema.type_ == Type::Struct {
        return schema.clone();
    }
    Conv::VariableDecimal.schema(true)
}

fn shorten(text: &str) -> String {
    if text.len() <= 64 {
        return text.to_owned();
    }
    let mut end = 64;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

fn is_special_number(text: &str) -> bool {
    matches!(text, "NaN" | "Infinity" | "-Infinity")
}

/// `-123.4500` → (-1234500, 4); at most 1000 digits (PostgreSQL's numeric precision limit).
fn decimal_parts(text: &str) -> Option<(BigInt, i32)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let all = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    if trimmed.len() > 1000 || frac.len() > 16383 {
        return None;
    }
    let mut unscaled: BigInt = if trimmed.is_empty() {
        BigInt::from(0)
    } else {
        trimmed.parse().ok()?
    };
    if negative {
        unscaled = -unscaled;
    }
    Some((unscaled, frac.len() as i32))
}

/// `(1500, 3)` → `(15, 1)`; never below scale 0.
fn strip_trailing_zeros(mut unscaled: BigInt, mut scale: i32) -> (BigInt, i32) {
    let ten = BigInt::from(10);
    let zero = BigInt::from(0);
    if unscaled == zero {
        return (zero, 0);
    }
    while scale > 0 && (&unscaled % &ten) == zero {
        unscaled /= &ten;
        scale -= 1;
    }
    (unscaled, scale)
}

/// Moves an unscaled value from scale `from` to scale `to` (only exact changes).
fn rescale(unscaled: BigInt, from: i32, to: i32) -> Option<BigInt> {
    if from == to {
        return Some(unscaled);
    }
    let factor = BigInt::from(10).pow((to - from).unsigned_abs().min(20_000));
    if to > from {
        Some(unscaled * factor)
    } else {
        (&unscaled % &factor == BigInt::from(0)).then(|| unscaled / factor)
    }
}

/// The number in a money text (`$1,234.56`, `-$5.00`, `($5.00)`).
fn money_text(text: &str) -> Option<String> {
    let negative = text.contains('-') || (text.starts_with('(') && text.ends_with(')'));
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if digits.is_empty() || !text.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(if negative {
        format!("-{digits}")
    } else {
        digits
    })
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn encode_binary(mode: BinaryMode, bytes: Vec<u8>) -> Value {
    match mode {
        BinaryMode::Bytes => Value::Bytes(bytes),
        BinaryMode::Base64 => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        BinaryMode::Base64UrlSafe => {
            Value::String(base64::engine::general_purpose::URL_SAFE.encode(bytes))
        }
        BinaryMode::Hex => Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect()),
    }
}

/// A bit string as Java's `BitSet.toByteArray` of it (bit i = the i-th character from the
/// right), as Debezium emits `io.debezium.data.Bits`.
fn bits_bytes(text: &str) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; text.len().div_ceil(8)];
    for (i, c) in text.bytes().rev().enumerate() {
        match c {
            b'1' => bytes[i / 8] |= 1 << (i % 8),
            b'0' => {}
            _ => return None,
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Some(bytes)
}

/// `2024-01-31` or `0044-03-15 BC`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    // By hand: years may have more than four digits (PostgreSQL goes to 294276).
    let mut parts = body.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.is_empty() || !y.bytes().all(|b| b.is_ascii_digit()) || y.len() > 6 {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    let (month, day): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    // Year 1 BC is year 0 in ISO numbering.
    NaiveDate::from_ymd_opt(if bc { 1 - year } else { year }, month, day)
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

/// `HH:MM:SS[.ffffff]` (24:00:00 allowed) → nanoseconds since midnight.
fn parse_time_nanos(text: &str) -> Option<i64> {
    let (hms, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: i64 = parts.next().unwrap_or("0").parse().ok()?;
    if parts.next().is_some() || h > 24 || m > 59 || s > 60 || frac.len() > 9 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(((h * 60 + m) * 60 + s) * 1_000_000_000 + nanos)
}

fn iso_time(nanos: i64, zone: &str) -> String {
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let base = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{base}{zone}")
    } else {
        let digits = format!("{frac:09}");
        format!("{base}.{}{zone}", digits.trim_end_matches('0'))
    }
}

/// `2024-01-31 13:45:10.123456` (optionally ` BC`).
fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (date, time) = body.split_once(' ')?;
    let date = parse_date(date)?;
    let date = if bc {
        date.with_year(1 - date.year())?
    } else {
        date
    };
    let nanos = parse_time_nanos(time)?;
    let (secs, frac) = (
        (nanos / 1_000_000_000) as u32,
        (nanos % 1_000_000_000) as u32,
    );
    if secs >= 86_400 {
        // 24:00:00 is the next day's midnight.
        let next = date.succ_opt()?;
        return Some(next.and_time(NaiveTime::from_hms_nano_opt(0, 0, secs - 86_400, frac)?));
    }
    Some(date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, frac)?))
}

/// Splits a trailing UTC offset (`+02`, `-05:30`, `+00:53:28`) from a time text.
fn split_offset(text: &str) -> Option<(&str, FixedOffset)> {
    let at = text.rfind(['+', '-'])?;
    let (body, offset) = text.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let mut parts = offset[1..].split(':');
    let h: i32 = parts.next()?.parse().ok()?;
    let m: i32 = parts.next().unwrap_or("0").parse().ok()?;
    let s: i32 = parts.next().unwrap_or("0").parse().ok()?;
    Some((body, FixedOffset::east_opt(sign * (h * 3600 + m * 60 + s))?))
}

fn parse_timestamptz(text: &str) -> Option<DateTime<FixedOffset>> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (local, offset) = split_offset(body)?;
    let naive = if bc {
        parse_timestamp(&format!("{local} BC"))?
    } else {
        parse_timestamp(local)?
    };
    naive.and_local_timezone(offset).single()
}

/// Debezium's `ZonedTimestamp`: UTC, ISO-8601; the fraction as short as it can be, or exactly
/// the column's precision when it has one.
fn zoned_timestamp(t: DateTime<FixedOffset>, width: Option<u8>) -> String {
    let utc = t.naive_utc();
    let base = format!("{}{}", iso_date(utc.date()), utc.format("T%H:%M:%S"));
    let nanos = utc.nanosecond();
    let frac = match width {
        Some(w) => {
            let digits = format!("{nanos:09}");
            format!(".{}", &digits[..usize::from(w)])
        }
        None if nanos == 0 => String::new(),
        None => format!(".{}", format!("{nanos:09}").trim_end_matches('0')),
    };
    format!("{base}{frac}Z")
}

/// An ISO-8601 date as Java prints it: four-digit years, a sign and at least four digits
/// outside 0000–9999 (`-0044-03-15`, `+10000-01-01`).
fn iso_date(d: NaiveDate) -> String {
    let y = d.year();
    let year = if y < 0 {
        format!("-{:04}", -y)
    } else if y > 9999 {
        format!("+{y}")
    } else {
        format!("{y:04}")
    };
    format!("{year}-{:02}-{:02}", d.month(), d.day())
}

/// Debezium's `ZonedTime`: the time moved to UTC, ISO-8601 with `Z`.
fn zoned_time(text: &str) -> Option<String> {
    let (time, offset) = split_offset(text)?;
    let nanos = parse_time_nanos(time)?;
    let utc = (nanos - i64::from(offset.local_minus_utc()) * 1_000_000_000)
        .rem_euclid(86_400 * 1_000_000_000);
    Some(iso_time(utc, "Z"))
}

/// An interval's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub months: i64,
    pub days: i64,
    pub micros: i64,
}

impl Interval {
    /// Debezium's `MicroDuration`: a month counts as 30.4375 days (365.25 / 12).
    fn micros_debezium(&self) -> i64 {
        const DAY: f64 = 86_400_000_000.0;
        let months = self.months as f64 * 30.4375 * DAY;
        (months + self.days as f64 * DAY + self.micros as f64) as i64
    }

    /// ISO-8601 (`P1Y2M3DT4H5M6.78S`), as Debezium's `Interval`.
    fn iso(&self) -> String {
        let (years, months) = (self.months / 12, self.months % 12);
        let secs = self.micros / 1_000_000;
        let frac = (self.micros % 1_000_000).abs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let seconds = if frac == 0 {
            format!("{s}")
        } else {
            let sign = if self.micros < 0 && s == 0 { "-" } else { "" };
            format!("{sign}{s}.{}", format!("{frac:06}").trim_end_matches('0'))
        };
        format!("P{years}Y{months}M{}DT{h}H{m}M{seconds}S", self.days)
    }
}

/// PostgreSQL's default interval text (`1 year 2 mons -3 days +04:05:06.5`).
pub fn parse_interval(text: &str) -> Option<Interval> {
    let mut out = Interval::default();
    let mut tokens = text.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        if token.contains(':') {
            let (negative, body) = match token.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, token.strip_prefix('+').unwrap_or(token)),
            };
            let (hms, frac) = body.split_once('.').unwrap_or((body, ""));
            let mut parts = hms.split(':');
            let h: i64 = parts.next()?.parse().ok()?;
            let m: i64 = parts.next()?.parse().ok()?;
            let s: i64 = parts.next().unwrap_or("0").parse().ok()?;
            if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let f: i64 = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<6}").parse().ok()?
            };
            let micros = h
                .checked_mul(3600)?
                .checked_add(m * 60 + s)?
                .checked_mul(1_000_000)?
                .checked_add(f)?;
            out.micros = out
                .micros
                .checked_add(if negative { -micros } else { micros })?;
            continue;
        }
        let n: i64 = token.parse().ok()?;
        let unit = tokens.next()?;
        match unit.trim_end_matches('s') {
            "year" => out.months = out.months.checked_add(n.checked_mul(12)?)?,
            "mon" => out.months = out.months.checked_add(n)?,
            "day" => out.days = out.days.checked_add(n)?,
            _ => return None,
        }
    }
    Some(out)
}

/// A one-dimensional array literal (`{1,NULL,"a b"}`); `None` for anything else.
pub fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    // A lower bound decoration (`[0:1]={…}`) is dropped.
    let text = match text.find("={") {
        Some(i) if text.starts_with('[') => &text[i + 1..],
        _ => text,
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut item = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => item.push(chars.next()?),
                    '"' => break,
                    c => item.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' {
                    // Nested arrays are not supported.
                    return None;
                }
                item.push(c);
                chars.next();
            }
        }
        items.push(if !quoted && item == "NULL" {
            None
        } else {
            Some(item)
        });
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return None,
        }
    }
    Some(items)
}

/// An hstore literal (`"a"=>"1", "b"=>NULL`).
pub fn parse_hstore(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let quoted = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<String> {
        if chars.next()? != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            match chars.next()? {
                '\\' => s.push(chars.next()?),
                '"' => return Some(s),
                c => s.push(c),
            }
        }
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key = quoted(&mut chars)?;
        if chars.next()? != '=' || chars.next()? != '>' {
            return None;
        }
        let value = if chars.peek() == Some(&'N') {
            let word: String = chars.by_ref().take(4).collect();
            (word == "NULL").then_some(())?;
            None
        } else {
            Some(quoted(&mut chars)?)
        };
        out.push((key, value));
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return None,
        }
    }
    Some(out)
}

/// The shared required/optional string schemas, used by the record shapes.
pub fn string_schema(optional: bool) -> SchemaRef {
    if optional {
        Schema::optional_string()
    } else {
        Schema::string()
    }
}

/// The `Arc` of a plain schema, for fields built by hand.
pub fn schema(type_: Type, optional: bool) -> SchemaRef {
    let s = Schema::new(type_);
    Arc::new(if optional { s.optional() } else { s })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn config(pairs: &[(&str, &str)]) -> CdcConfig {
        let mut all = vec![("topic.prefix", "s")];
        all.extend_from_slice(pairs);
        crate::config::test_config(&all)
    }

    fn named(n: &str) -> TypeKind {
        TypeKind::Named(n.to_owned())
    }

    fn convert(type_: &str, typmod: i32, text: &str, pairs: &[(&str, &str)]) -> (SchemaRef, Value) {
        let conv = Conv::for_type(&named(type_), typmod, &config(pairs)).unwrap();
        let schema = conv.schema(true);
        let value = conv.value(text, &schema).unwrap();
        (schema, value)
    }

    #[test]
    fn integers_floats_booleans_text() {
        assert_eq!(convert("int2", -1, "-5", &[]).1, Value::Int16(-5));
        assert_eq!(
            convert("int4", -1, "2147483647", &[]).1,
            Value::Int32(i32::MAX)
        );
        assert_eq!(convert("int8", -1, "-9", &[]).1, Value::Int64(-9));
        assert_eq!(convert("float8", -1, "1.5", &[]).1, Value::Float64(1.5));
        assert!(matches!(convert("float4", -1, "NaN", &[]).1, Value::Float32(f) if f.is_nan()));
        assert_eq!(convert("bool", -1, "t", &[]).1, Value::Boolean(true));
        let (s, v) = convert("jsonb", -1, "{\"a\": 1}", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.data.Json"));
        assert_eq!(v, Value::String("{\"a\": 1}".into()));
        let (s, _) = convert("uuid", -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.data.Uuid"));
    }

    #[test]
    fn numerics_by_mode() {
        // numeric(10,2): typmod = (10 << 16 | 2) + 4
        let typmod = ((10 << 16) | 2) + 4;
        let (s, v) = convert("numeric", typmod, "123.4", &[]);
        assert_eq!(
            s.name.as_deref(),
            Some("org.apache.kafka.connect.data.Decimal")
        );
        assert_eq!(s.parameters.as_ref().unwrap()["scale"], "2");
        assert_eq!(
            s.parameters.as_ref().unwrap()["connect.decimal.precision"],
            "10"
        );
        assert_eq!(
            v,
            Value::Bytes(tributary_connector_api::logical::decimal_bytes(12340))
        );
        let (s, v) = convert("numeric", -1, "-1.2345", &[]);
        assert_eq!(
            s.name.as_deref(),
            Some("io.debezium.data.VariableScaleDecimal")
        );
        let Value::Struct(st) = v else { panic!() };
        assert_eq!(st.get("scale"), Some(&Value::Int32(4)));
        assert_eq!(
            st.get("value"),
            Some(&Value::Bytes(
                tributary_connector_api::logical::decimal_bytes(-12345)
            ))
        );
        assert_eq!(convert("numeric", -1, "NaN", &[]).1, Value::Null);
        // Trailing zeros stripped, as Debezium's stripTrailingZeros.
        let Value::Struct(st) = convert("numeric", -1, "1.50", &[]).1 else {
            panic!()
        };
        assert_eq!(st.get("scale"), Some(&Value::Int32(1)));
        assert_eq!(st.get("value"), Some(&Value::Bytes(vec![15])));
        let Value::Struct(st) = convert("numeric", -1, "100", &[]).1 else {
            panic!()
        };
        assert_eq!(st.get("scale"), Some(&Value::Int32(0)));
        // More digits than an i128 holds: Java's BigInteger bytes.
        let big = format!("1{}", "0".repeat(39));
        let Value::Struct(st) = convert("numeric", -1, &big, &[]).1 else {
            panic!()
        };
        assert_eq!(
            st.get("value"),
            Some(&Value::Bytes(vec![
                2, 240, 80, 254, 147, 137, 67, 172, 196, 95, 101, 86, 128, 0, 0, 0, 0
            ]))
        );
        assert_eq!(
            convert("numeric", -1, "NaN", &st_mode()).1,
            Value::String("NAN".into())
        );
        let d = [("decimal.handling.mode", "double")];
        assert_eq!(convert("numeric", typmod, "2.5", &d).1, Value::Float64(2.5));
        let st = [("decimal.handling.mode", "string")];
        assert_eq!(
            convert("numeric", -1, "2.50", &st).1,
            Value::String("2.50".into())
        );
        assert_eq!(
            convert("money", -1, "-$1,234.56", &[]).1,
            Value::Bytes(tributary_connector_api::logical::decimal_bytes(-123456))
        );
    }

    fn st_mode() -> [(&'static str, &'static str); 1] {
        [("decimal.handling.mode", "string")]
    }

    #[test]
    fn dates_and_times_adaptive() {
        let (s, v) = convert("date", -1, "1970-01-02", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.Date"));
        assert_eq!(v, Value::Int32(1));
        assert_eq!(convert("date", -1, "1969-12-31", &[]).1, Value::Int32(-1));
        let (s, v) = convert("time", 3, "00:00:01.5", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.Time"));
        assert_eq!(v, Value::Int32(1500));
        let (s, v) = convert("time", -1, "00:00:01.000002", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.MicroTime"));
        assert_eq!(v, Value::Int64(1_000_002));
        let (s, v) = convert("timestamp", 3, "1970-01-01 00:00:01.25", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.Timestamp"));
        assert_eq!(v, Value::Int64(1250));
        let (s, v) = convert("timestamp", -1, "1970-01-01 00:00:01.000001", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.MicroTimestamp"));
        assert_eq!(v, Value::Int64(1_000_001));
        let (_, v) = convert("timestamp", -1, "infinity", &[]);
        assert_eq!(
            v,
            Value::Int64(9_223_372_036_825_200_000),
            "Debezium's constant"
        );
        let (_, v) = convert("timestamp", 3, "-infinity", &[]);
        assert_eq!(v, Value::Int64(-9_223_372_036_832_400));
        // Years beyond 9999 and before year 1.
        assert_eq!(
            convert("date", -1, "21016-01-01", &[]).1,
            Value::Int32(6_956_408)
        );
        let iso = [("time.precision.mode", "isostring")];
        assert_eq!(
            convert("date", -1, "0044-03-15 BC", &iso).1,
            Value::String("-0043-03-15Z".into())
        );
        assert_eq!(
            convert("timestamp", -1, "2023-11-21 18:29:26.5", &iso).1,
            Value::String("2023-11-21T18:29:26.5Z".into())
        );
    }

    #[test]
    fn connect_time_precision() {
        let c = [("time.precision.mode", "connect")];
        let (s, v) = convert("timestamp", -1, "1970-01-01 00:00:01.000001", &c);
        assert_eq!(
            s.name.as_deref(),
            Some("org.apache.kafka.connect.data.Timestamp")
        );
        assert_eq!(v, Value::Int64(1000));
        let (s, _) = convert("date", -1, "2000-01-01", &c);
        assert_eq!(
            s.name.as_deref(),
            Some("org.apache.kafka.connect.data.Date")
        );
    }

    #[test]
    fn zoned_values_are_utc() {
        let (s, v) = convert("timestamptz", -1, "2024-01-31 13:45:10.5+02", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.ZonedTimestamp"));
        assert_eq!(
            v,
            Value::String("2024-01-31T11:45:10.500000Z".into()),
            "6 digits"
        );
        let (_, v) = convert("timestamptz", 3, "2024-01-31 13:45:10.5+05:30", &[]);
        assert_eq!(v, Value::String("2024-01-31T08:15:10.500Z".into()));
        let (_, v) = convert("timestamptz", 0, "2024-01-31 00:00:00+00", &[]);
        assert_eq!(
            v,
            Value::String("2024-01-31T00:00:00Z".into()),
            "precision 0"
        );
        let (s, v) = convert("timetz", -1, "01:00:00.25-02", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.ZonedTime"));
        assert_eq!(v, Value::String("03:00:00.25Z".into()));
    }

    #[test]
    fn intervals() {
        let i = parse_interval("1 year 2 mons -3 days +04:05:06.5").unwrap();
        assert_eq!(
            i,
            Interval {
                months: 14,
                days: -3,
                micros: 14_706_500_000
            }
        );
        assert_eq!(i.iso(), "P1Y2M-3DT4H5M6.5S");
        let (s, v) = convert("interval", -1, "1 day", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.time.MicroDuration"));
        assert_eq!(v, Value::Int64(86_400_000_000));
        let (_, v) = convert("interval", -1, "1 mon", &[]);
        assert_eq!(v, Value::Int64((30.4375 * 86_400_000_000.0) as i64));
        let (_, v) = convert(
            "interval",
            -1,
            "00:00:01",
            &[("interval.handling.mode", "string")],
        );
        assert_eq!(v, Value::String("P0Y0M0DT0H0M1S".into()));
        assert!(parse_interval("1 fortnight").is_none());
    }

    #[test]
    fn binary_modes() {
        assert_eq!(
            convert("bytea", -1, "\\x0aff", &[]).1,
            Value::Bytes(vec![10, 255])
        );
        let b = [("binary.handling.mode", "base64")];
        assert_eq!(
            convert("bytea", -1, "\\x0aff", &b).1,
            Value::String("Cv8=".into())
        );
        let h = [("binary.handling.mode", "hex")];
        assert_eq!(
            convert("bytea", -1, "\\x0aff", &h).1,
            Value::String("0aff".into())
        );
        assert_eq!(convert("bit", 1, "1", &[]).1, Value::Boolean(true));
        let (s, v) = convert("varbit", -1, "100000001", &[]);
        assert_eq!(s.name.as_deref(), Some("io.debezium.data.Bits"));
        assert_eq!(v, Value::Bytes(vec![1, 1]));
    }

    #[test]
    fn arrays_enums_hstore() {
        let conv =
            Conv::for_type(&TypeKind::Array(Box::new(named("text"))), -1, &config(&[])).unwrap();
        let schema = conv.schema(true);
        assert_eq!(
            conv.value(r#"{a,"b c",NULL,"NULL","q\"x"}"#, &schema)
                .unwrap(),
            Value::Array(vec![
                Value::String("a".into()),
                Value::String("b c".into()),
                Value::Null,
                Value::String("NULL".into()),
                Value::String("q\"x".into()),
            ])
        );
        assert!(conv.value("{{1,2},{3,4}}", &schema).is_err());
        let conv = Conv::for_type(
            &TypeKind::Enum(vec!["red".into(), "green".into()]),
            -1,
            &config(&[]),
        )
        .unwrap();
        let s = conv.schema(false);
        assert_eq!(s.name.as_deref(), Some("io.debezium.data.Enum"));
        assert_eq!(s.parameters.as_ref().unwrap()["allowed"], "red,green");
        let (_, v) = convert("hstore", -1, r#""a"=>"1", "b"=>NULL"#, &[]);
        assert_eq!(v, Value::String(r#"{"a":"1","b":null}"#.into()));
    }

    #[test]
    fn unknown_types_are_left_out_unless_asked() {
        assert!(Conv::for_type(&named("point"), -1, &config(&[])).is_none());
        let c = config(&[("include.unknown.datatypes", "true")]);
        let conv = Conv::for_type(&named("point"), -1, &c).unwrap();
        assert_eq!(
            conv.value("(1,2)", &conv.schema(true)).unwrap(),
            Value::Bytes(b"(1,2)".to_vec())
        );
    }

    #[test]
    fn placeholders_by_type() {
        let c = config(&[]);
        let p = "__debezium_unavailable_value";
        let text = Conv::for_type(&named("text"), -1, &c).unwrap();
        assert_eq!(text.placeholder(p), Value::String(p.into()));
        let bytes = Conv::for_type(&named("bytea"), -1, &c).unwrap();
        assert_eq!(bytes.placeholder(p), Value::Bytes(p.as_bytes().to_vec()));
        let arr = Conv::for_type(&TypeKind::Array(Box::new(named("text"))), -1, &c).unwrap();
        assert_eq!(
            arr.placeholder(p),
            Value::Array(vec![Value::String(p.into())])
        );
    }

    #[test]
    fn hostile_text_is_an_error_not_a_panic() {
        let c = config(&[]);
        for (t, text) in [
            ("int4", "99999999999"),
            ("numeric", &"9".repeat(1001)),
            ("date", "2024-13-01"),
            ("time", "25:00:00"),
            ("timestamp", "garbage"),
            ("timestamptz", "2024-01-01 00:00:00+99"),
            ("interval", "99999999999999999999 days"),
            ("bytea", "\\xzz"),
            ("hstore", "\"a\"=>"),
            ("bool", ""),
        ] {
            let conv = Conv::for_type(&named(t), -1, &c).unwrap();
            assert!(conv.value(text, &conv.schema(true)).is_err(), "{t}: {text}");
        }
    }
}
