//! A sink record's Connect values as statement parameters, and their binding per database.
//!
//! Each column's Connect schema decides the parameter's SQL type, also for nulls (PostgreSQL
//! types every parameter): INT8/INT16 → SMALLINT, INT32 → INTEGER, INT64 → BIGINT, floats,
//! booleans, text, bytes, Decimal → NUMERIC (text on SQLite), Date, Time and Timestamp as
//! wall times in `db.timezone`, `timestamp.fields.list` numbers (micro- or nanoseconds) and
//! ISO-8601 text as timestamps, and PostgreSQL arrays of primitives. A null field takes its
//! schema's default with `replace.null.with.default`.

use bigdecimal::num_bigint::BigInt;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::Database;
use tributary_connector_api::{logical, SchemaRef, Type, Value};

use crate::dialect::Dialect;
use crate::row_reader::{instant_to_wall, parse_sqlite_time};
use crate::sink_config::TimestampPrecision;

/// The SQL type of a parameter (what a null is bound as).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    Text,
    Bytes,
    Decimal,
    Date,
    Time,
    Timestamp,
    /// PostgreSQL `json`/`jsonb` (text into such a column).
    Json,
    /// PostgreSQL `uuid`.
    Uuid,
    /// An instant (PostgreSQL `timestamptz`, MySQL `TIMESTAMP`).
    Instant,
}

/// A PostgreSQL array parameter (`None`: a null array).
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayParam {
    Bool(Option<Vec<Option<bool>>>),
    I16(Option<Vec<Option<i16>>>),
    I32(Option<Vec<Option<i32>>>),
    I64(Option<Vec<Option<i64>>>),
    F32(Option<Vec<Option<f32>>>),
    F64(Option<Vec<Option<f64>>>),
    Text(Option<Vec<Option<String>>>),
}

/// A statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null(Kind),
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    Decimal(BigDecimal),
    Date(NaiveDate),
    Time(NaiveTime),
    Timestamp(NaiveDateTime),
    Array(ArrayParam),
    Json(serde_json::Value),
    Uuid(uuid::Uuid),
    Instant(DateTime<Utc>),
}

impl Param {
    /// Text headed for a PostgreSQL column of `kind` (`Json`, `Uuid`) as a parameter of that
    /// type: PostgreSQL casts no text parameter into them. Text that is not JSON or a UUID
    /// stays text, for the database to refuse the row.
    /// A wall time headed for an instant column becomes the instant it stands for in `zone`.
    pub fn into_kind(self, kind: Kind, zone: Tz) -> Param {
        match (self, kind) {
            (Param::Null(Kind::Text), k @ (Kind::Json | Kind::Uuid)) => Param::Null(k),
            (Param::Null(Kind::Timestamp), Kind::Instant) => Param::Null(Kind::Instant),
            (Param::Timestamp(wall), Kind::Instant) => {
                Param::Instant(crate::row_reader::wall_to_instant(wall, zone))
            }
            (Param::Text(s), Kind::Json) => match serde_json::from_str(&s) {
                Ok(json) => Param::Json(json),
                Err(_) => Param::Text(s),
            },
            (Param::Text(s), Kind::Uuid) => match uuid::Uuid::parse_str(s.trim()) {
                Ok(u) => Param::Uuid(u),
                Err(_) => Param::Text(s),
            },
            (p, _) => p,
        }
    }
}

/// How values become parameters.
#[derive(Debug, Clone, Copy)]
pub struct ParamRules {
    pub dialect: Dialect,
    pub zone: Tz,
    pub replace_null_with_default: bool,
    pub timestamp_precision: TimestampPrecision,
}

fn kind_of(schema: &SchemaRef, timestamp_field: bool) -> Result<Kind, String> {
    if timestamp_field {
        return Ok(Kind::Timestamp);
    }
    if logical::is(schema, logical::DECIMAL) {
        return Ok(Kind::Decimal);
    }
    if logical::is(schema, logical::DATE) {
        return Ok(Kind::Date);
    }
    if logical::is(schema, logical::TIME) {
        return Ok(Kind::Time);
    }
    if logical::is(schema, logical::TIMESTAMP) {
        return Ok(Kind::Timestamp);
    }
    Ok(match schema.type_ {
        Type::Boolean => Kind::Bool,
        Type::Int8 | Type::Int16 => Kind::I16,
        Type::Int32 => Kind::I32,
        Type::Int64 => Kind::I64,
        Type::Float32 => Kind::F32,
        Type::Float64 => Kind::F64,
        Type::String => Kind::Text,
        Type::Bytes => Kind::Bytes,
        other => return Err(format!("a {} has no column type", other.name())),
    })
}

fn instant(ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("{ms} ms is out of range"))
}

/// `value` (of `schema`) as the parameter of its column; `timestamp_field`: named in
/// `timestamp.fields.list`.
pub fn param(
    value: &Value,
    schema: &SchemaRef,
    timestamp_field: bool,
    rules: &ParamRules,
) -> Result<Param, String> {
    let value = match value {
        Value::Null if rules.replace_null_with_default => {
            schema.default.as_ref().unwrap_or(&Value::Null)
        }
        v => v,
    };
    if schema.type_ == Type::Array {
        return array(value, schema, rules);
    }
    let kind = kind_of(schema, timestamp_field)?;
    if value.is_null() {
        return Ok(Param::Null(kind));
    }
    let wall = |t: DateTime<Utc>| Param::Timestamp(instant_to_wall(t, rules.zone));
    Ok(match (kind, value) {
        (Kind::Timestamp, Value::Int64(n)) if timestamp_field => {
            let nanos = match rules.timestamp_precision {
                TimestampPrecision::Microseconds => i128::from(*n) * 1_000,
                TimestampPrecision::Nanoseconds => i128::from(*n),
            };
            let seconds = i64::try_from(nanos.div_euclid(1_000_000_000))
                .map_err(|_| format!("{n} is out of range"))?;
            let sub = nanos.rem_euclid(1_000_000_000) as u32;
            wall(
                DateTime::from_timestamp(seconds, sub)
                    .ok_or_else(|| format!("{n} is out of range"))?,
            )
        }
        (Kind::Timestamp, Value::String(s)) if timestamp_field => {
            wall(parse_sqlite_time(s, rules.zone)?)
        }
        (Kind::Timestamp, Value::Int64(ms)) => wall(instant(*ms)?),
        (Kind::Date, Value::Int32(days)) => Param::Date(
            NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::TimeDelta::days(i64::from(*days))))
                .ok_or_else(|| format!("{days} days is out of range"))?,
        ),
        (Kind::Time, Value::Int32(ms)) => Param::Time(
            NaiveTime::from_num_seconds_from_midnight_opt(
                u32::try_from(ms.div_euclid(1000)).map_err(|_| format!("{ms} ms is not a time"))?,
                (ms.rem_euclid(1000) as u32) * 1_000_000,
            )
            .ok_or_else(|| format!("{ms} ms is not a time of day"))?,
        ),
        (Kind::Decimal, Value::Bytes(b)) => {
            let scale = logical::decimal_scale(schema).map_err(|e| e.message)?;
            let d = BigDecimal::new(BigInt::from_signed_bytes_be(b), i64::from(scale));
            if rules.dialect == Dialect::Sqlite {
                Param::Text(d.to_string())
            } else {
                Param::Decimal(d)
            }
        }
        (Kind::Bool, Value::Boolean(b)) => Param::Bool(*b),
        (Kind::I16, Value::Int8(n)) => Param::I16((*n).into()),
        (Kind::I16, Value::Int16(n)) => Param::I16(*n),
        (Kind::I32, Value::Int32(n)) => Param::I32(*n),
        (Kind::I64, Value::Int64(n)) => Param::I64(*n),
        (Kind::F32, Value::Float32(n)) => Param::F32(*n),
        (Kind::F64, Value::Float64(n)) => Param::F64(*n),
        (Kind::Text, Value::String(s)) => Param::Text(s.clone()),
        (Kind::Bytes, Value::Bytes(b)) => Param::Bytes(b.clone()),
        (kind, v) => return Err(format!("{v:?} does not match its schema ({kind:?})")),
    })
}

fn array(value: &Value, schema: &SchemaRef, rules: &ParamRules) -> Result<Param, String> {
    if rules.dialect != Dialect::PostgreSql {
        return Err("arrays are written to PostgreSQL only".into());
    }
    let element = schema
        .value_schema
        .as_ref()
        .ok_or("an array schema without an element schema")?;
    let items = match value {
        Value::Null => None,
        Value::Array(items) => Some(items),
        other => return Err(format!("{other:?} is not an array")),
    };
    fn each<T>(
        items: Option<&Vec<Value>>,
        f: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<Vec<Option<T>>>, String> {
        items
            .map(|items| {
                items
                    .iter()
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        v => f(v).map(Some).ok_or_else(|| format!("{v:?} in an array")),
                    })
                    .collect()
            })
            .transpose()
    }
    Ok(Param::Array(match element.type_ {
        Type::Boolean => ArrayParam::Bool(each(items, |v| match v {
            Value::Boolean(b) => Some(*b),
            _ => None,
        })?),
        Type::Int8 | Type::Int16 => ArrayParam::I16(each(items, |v| match v {
            Value::Int8(n) => Some((*n).into()),
            Value::Int16(n) => Some(*n),
            _ => None,
        })?),
        Type::Int32 => ArrayParam::I32(each(items, |v| match v {
            Value::Int32(n) => Some(*n),
            _ => None,
        })?),
        Type::Int64 => ArrayParam::I64(each(items, |v| match v {
            Value::Int64(n) => Some(*n),
            _ => None,
        })?),
        Type::Float32 => ArrayParam::F32(each(items, |v| match v {
            Value::Float32(n) => Some(*n),
            _ => None,
        })?),
        Type::Float64 => ArrayParam::F64(each(items, |v| match v {
            Value::Float64(n) => Some(*n),
            _ => None,
        })?),
        Type::String => ArrayParam::Text(each(items, |v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })?),
        other => return Err(format!("arrays of {} are not written", other.name())),
    }))
}

/// Appends `param` as a field of PostgreSQL's `COPY … FROM STDIN` text format (`None`: it has
/// no text form there, an array; the caller uses `INSERT` instead).
pub fn copy_text(param: &Param, out: &mut Vec<u8>) -> Option<()> {
    use std::io::Write;
    let float = |f: f64, out: &mut Vec<u8>| {
        if f.is_nan() {
            out.extend_from_slice(b"NaN");
        } else if f.is_infinite() {
            out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
        } else {
            let _ = write!(out, "{f}");
        }
    };
    match param {
        Param::Null(_) => out.extend_from_slice(b"\\N"),
        Param::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Param::I16(n) => {
            let _ = write!(out, "{n}");
        }
        Param::I32(n) => {
            let _ = write!(out, "{n}");
        }
        Param::I64(n) => {
            let _ = write!(out, "{n}");
        }
        Param::F32(f) => float(f64::from(*f), out),
        Param::F64(f) => float(*f, out),
        Param::Text(text) => {
            for b in text.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    other => out.push(other),
                }
            }
        }
        Param::Bytes(bytes) => {
            out.extend_from_slice(b"\\\\x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
        }
        Param::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        // Years outside 1–9999 have no COPY text form chrono writes that PostgreSQL reads.
        Param::Date(d) if !(1..=9999).contains(&d.year()) => return None,
        Param::Timestamp(t) if !(1..=9999).contains(&t.year()) => return None,
        Param::Instant(t) if !(1..=9999).contains(&t.year()) => return None,
        Param::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Param::Time(t) => {
            let _ = write!(out, "{}", t.format("%H:%M:%S%.f"));
        }
        Param::Timestamp(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.f"));
        }
        Param::Instant(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.f+00"));
        }
        Param::Json(v) => copy_text(&Param::Text(v.to_string()), out)?,
        Param::Uuid(u) => {
            let _ = write!(out, "{}", u.hyphenated());
        }
        Param::Array(_) => return None,
    }
    Some(())
}

/// About how many bytes a parameter takes in a statement (for splitting large batches).
pub fn size_of(param: &Param) -> usize {
    8 + match param {
        Param::Text(s) => s.len(),
        Param::Bytes(b) => b.len(),
        Param::Json(v) => v.to_string().len(),
        Param::Decimal(d) => d.digits() as usize,
        Param::Array(_) => 1024,
        _ => 8,
    }
}

/// Binds a parameter to a statement of one of the databases.
pub trait Bind<'q>: Sized {
    fn bind_param(self, param: &'q Param) -> Self;
}

type QueryOf<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// The binding every database shares; `$decimal` and `$array` are what differs.
macro_rules! bind_common {
    ($q:expr, $p:expr, $decimal:expr, $array:expr) => {
        match $p {
            Param::Null(kind) => match kind {
                Kind::Bool => $q.bind(None::<bool>),
                Kind::I16 => $q.bind(None::<i16>),
                Kind::I32 => $q.bind(None::<i32>),
                Kind::I64 => $q.bind(None::<i64>),
                Kind::F32 => $q.bind(None::<f32>),
                Kind::F64 => $q.bind(None::<f64>),
                Kind::Text => $q.bind(None::<String>),
                Kind::Bytes => $q.bind(None::<Vec<u8>>),
                Kind::Decimal => $decimal($q, None),
                Kind::Date => $q.bind(None::<NaiveDate>),
                Kind::Time => $q.bind(None::<NaiveTime>),
                Kind::Timestamp => $q.bind(None::<NaiveDateTime>),
                Kind::Json => $q.bind(None::<sqlx::types::Json<serde_json::Value>>),
                Kind::Uuid => $q.bind(None::<uuid::Uuid>),
                Kind::Instant => $q.bind(None::<DateTime<Utc>>),
            },
            Param::Bool(v) => $q.bind(*v),
            Param::I16(v) => $q.bind(*v),
            Param::I32(v) => $q.bind(*v),
            Param::I64(v) => $q.bind(*v),
            Param::F32(v) => $q.bind(*v),
            Param::F64(v) => $q.bind(*v),
            Param::Text(v) => $q.bind(v.as_str()),
            Param::Bytes(v) => $q.bind(v.as_slice()),
            Param::Decimal(v) => $decimal($q, Some(v)),
            Param::Date(v) => $q.bind(*v),
            Param::Time(v) => $q.bind(*v),
            Param::Timestamp(v) => $q.bind(*v),
            Param::Array(a) => $array($q, a),
            Param::Json(v) => $q.bind(sqlx::types::Json(v)),
            Param::Uuid(v) => $q.bind(*v),
            Param::Instant(v) => $q.bind(*v),
        }
    };
}

impl<'q> Bind<'q> for QueryOf<'q, sqlx::Postgres> {
    fn bind_param(self, param: &'q Param) -> Self {
        let decimal = |q: Self, d: Option<&'q BigDecimal>| q.bind(d);
        let array = |q: Self, a: &'q ArrayParam| match a {
            ArrayParam::Bool(v) => q.bind(v.as_deref()),
            ArrayParam::I16(v) => q.bind(v.as_deref()),
            ArrayParam::I32(v) => q.bind(v.as_deref()),
            ArrayParam::I64(v) => q.bind(v.as_deref()),
            ArrayParam::F32(v) => q.bind(v.as_deref()),
            ArrayParam::F64(v) => q.bind(v.as_deref()),
            ArrayParam::Text(v) => q.bind(v.as_deref()),
        };
        bind_common!(self, param, decimal, array)
    }
}

impl<'q> Bind<'q> for QueryOf<'q, sqlx::MySql> {
    fn bind_param(self, param: &'q Param) -> Self {
        let decimal = |q: Self, d: Option<&'q BigDecimal>| q.bind(d);
        // Refused when the parameters are made (`param`): never reached.
        let array = |q: Self, _: &'q ArrayParam| q.bind(None::<String>);
        bind_common!(self, param, decimal, array)
    }
}

impl<'q> Bind<'q> for QueryOf<'q, sqlx::Sqlite> {
    fn bind_param(self, param: &'q Param) -> Self {
        // SQLite has no decimal type: `param` writes decimals as text.
        let decimal = |q: Self, d: Option<&'q BigDecimal>| q.bind(d.map(|d| d.to_string()));
        let array = |q: Self, _: &'q ArrayParam| q.bind(None::<String>);
        bind_common!(self, param, decimal, array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_connector_api::Schema;

    fn rules(dialect: Dialect) -> ParamRules {
        ParamRules {
            dialect,
            zone: Tz::UTC,
            replace_null_with_default: true,
            timestamp_precision: TimestampPrecision::Microseconds,
        }
    }

    #[test]
    fn values_become_typed_parameters() {
        let pg = rules(Dialect::PostgreSql);
        let p = |v: Value, s: Schema| param(&v, &s.into_ref(), false, &pg);
        assert_eq!(
            p(Value::Int8(3), Schema::new(Type::Int8)),
            Ok(Param::I16(3))
        );
        assert_eq!(
            p(Value::Null, Schema::new(Type::String).optional()),
            Ok(Param::Null(Kind::Text))
        );
        assert_eq!(
            p(
                Value::Null,
                Schema::new(Type::Int32)
                    .optional()
                    .with_default(Value::Int32(7))
            ),
            Ok(Param::I32(7))
        );
        assert_eq!(
            p(Value::Int32(19_782), logical::date()),
            Ok(Param::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()))
        );
        assert_eq!(
            p(Value::Int32(49_530_500), logical::time()),
            Ok(Param::Time(
                NaiveTime::from_hms_milli_opt(13, 45, 30, 500).unwrap()
            ))
        );
        assert_eq!(
            p(Value::Bytes(vec![0x04, 0xd2]), logical::decimal(2)),
            Ok(Param::Decimal("12.34".parse().unwrap()))
        );
        assert_eq!(
            param(
                &Value::Bytes(vec![0x04, 0xd2]),
                &logical::decimal(2).into_ref(),
                false,
                &rules(Dialect::Sqlite)
            ),
            Ok(Param::Text("12.34".into()))
        );
        let berlin = ParamRules {
            zone: "Europe/Berlin".parse().unwrap(),
            ..pg
        };
        assert_eq!(
            param(
                &Value::Int64(1_705_320_000_000),
                &logical::timestamp().into_ref(),
                false,
                &berlin
            ),
            Ok(Param::Timestamp(
                NaiveDate::from_ymd_opt(2024, 1, 15)
                    .unwrap()
                    .and_hms_opt(13, 0, 0)
                    .unwrap()
            )),
            "12:00 UTC is 13:00 in Berlin"
        );
        assert_eq!(
            param(
                &Value::Int64(1_705_320_000_000_123),
                &Schema::new(Type::Int64).into_ref(),
                true,
                &pg
            ),
            Ok(Param::Timestamp(
                NaiveDate::from_ymd_opt(2024, 1, 15)
                    .unwrap()
                    .and_hms_micro_opt(12, 0, 0, 123)
                    .unwrap()
            )),
            "timestamp.fields.list: microseconds"
        );
        let tags = Schema::array(Schema::optional_string()).into_ref();
        assert_eq!(
            param(
                &Value::Array(vec![Value::String("a".into()), Value::Null]),
                &tags,
                false,
                &pg
            ),
            Ok(Param::Array(ArrayParam::Text(Some(vec![
                Some("a".into()),
                None
            ]))))
        );
        assert!(param(&Value::Array(vec![]), &tags, false, &rules(Dialect::MySql)).is_err());
        assert!(p(Value::String("x".into()), Schema::new(Type::Int32)).is_err());
        let mut line = Vec::new();
        for p in [
            Param::Null(Kind::Text),
            Param::Text("a\tb\\c\nd".into()),
            Param::Bytes(vec![1, 255]),
            Param::F64(f64::NAN),
            Param::Bool(true),
        ] {
            copy_text(&p, &mut line).unwrap();
            line.push(b'|');
        }
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "\\N|a\\tb\\\\c\\nd|\\\\x01ff|NaN|t|"
        );
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let wall = NaiveDate::from_ymd_opt(2024, 1, 15)
            .unwrap()
            .and_hms_opt(13, 0, 0)
            .unwrap();
        assert_eq!(
            Param::Timestamp(wall).into_kind(Kind::Instant, berlin),
            Param::Instant(DateTime::from_timestamp(1_705_320_000, 0).unwrap()),
            "13:00 in Berlin is 12:00 UTC"
        );
        let mut text = Vec::new();
        copy_text(
            &Param::Instant(DateTime::from_timestamp(1_705_320_000, 0).unwrap()),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, b"2024-01-15 12:00:00+00");
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
        assert!(
            copy_text(&Param::Date(far), &mut text).is_none(),
            "INSERT instead"
        );
        assert_eq!(
            Param::Text("not json".into()).into_kind(Kind::Json, berlin),
            Param::Text("not json".into())
        );
        let nested = Schema::struct_([("a", Schema::optional_string())]);
        assert!(p(Value::Null, nested).is_err());
    }
}
