//! Reads a row's columns as Connect values, per database, by each column's [`Mapping`].
//!
//! Wall times (PostgreSQL `timestamp`, MySQL `DATETIME`, SQLite text) are read in
//! `db.timezone`; instants (`timestamptz`; MySQL `TIMESTAMP`, which sqlx's session reads in
//! UTC) as they are. SQLite stores dates as text (or Unix seconds): the ISO-8601 forms of
//! SQLite's own date functions are read, with or without `T`, fraction and zone.

use std::str::FromStr;

use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, ValueRef};
use tributary_connector_api::{Type, Value};

use crate::column_mapping::{Granularity, Mapping};

/// Why a column could not be read.
pub type ReadError = String;

/// How values are read: the zone of wall times and the form of timestamps.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext {
    pub zone: Tz,
    pub granularity: Granularity,
}

/// A row of one of the databases.
pub trait ReadRow {
    /// Column `i` as a Connect value of `mapping`'s schema (`Null` for SQL NULL).
    fn value(&self, i: usize, mapping: &Mapping, cx: &ReadContext) -> Result<Value, ReadError>;

    /// Column `i` as an instant (timestamp and date columns), for offsets.
    fn instant(
        &self,
        i: usize,
        mapping: &Mapping,
        zone: Tz,
    ) -> Result<Option<DateTime<Utc>>, ReadError>;
}

fn err(e: impl std::fmt::Display) -> ReadError {
    e.to_string()
}

/// A wall time in `zone` as an instant (the earlier one when a clock change repeats it; a wall
/// time skipped by a change is read as if the change had not happened yet).
pub fn wall_to_instant(wall: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&wall).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            let hour = chrono::TimeDelta::hours(1);
            zone.from_local_datetime(&(wall - hour))
                .earliest()
                .map(|t| t.with_timezone(&Utc) + hour)
                .unwrap_or_else(|| wall.and_utc())
        }
    }
}

/// An instant as a wall time in `zone` (to bind against wall-time columns).
pub fn instant_to_wall(instant: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    instant.with_timezone(&zone).naive_local()
}

fn days(date: NaiveDate) -> Result<Value, ReadError> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("no epoch")?;
    i32::try_from((date - epoch).num_days())
        .map(Value::Int32)
        .map_err(|_| format!("date {date} is out of Connect's Date range"))
}

fn millis_of_day(time: NaiveTime) -> Value {
    Value::Int32((time.num_seconds_from_midnight() * 1000 + time.nanosecond() / 1_000_000) as i32)
}

/// An instant in the form `timestamp.granularity` asks for.
pub fn timestamp_value(instant: DateTime<Utc>, cx: &ReadContext) -> Result<Value, ReadError> {
    let micros = instant.timestamp_micros();
    let nanos = || {
        instant
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("{instant} does not fit in 64-bit nanoseconds"))
    };
    let iso = |digits| {
        let wall = instant.with_timezone(&cx.zone).naive_local();
        let format = if digits == 6 {
            "%Y-%m-%dT%H:%M:%S%.6f"
        } else {
            "%Y-%m-%dT%H:%M:%S%.9f"
        };
        Value::String(wall.format(format).to_string())
    };
    Ok(match cx.granularity {
        Granularity::ConnectLogical => Value::Int64(instant.timestamp_millis()),
        Granularity::MicrosLong => Value::Int64(micros),
        Granularity::MicrosString => Value::String(micros.to_string()),
        Granularity::MicrosIsoDatetimeString => iso(6),
        Granularity::NanosLong => Value::Int64(nanos()?),
        Granularity::NanosString => Value::String(nanos()?.to_string()),
        Granularity::NanosIsoDatetimeString => iso(9),
    })
}

/// A decimal as Connect's Decimal bytes of `scale` (rounded half-even when it has more digits).
pub fn decimal_value(d: &BigDecimal, scale: i32) -> Value {
    let (unscaled, _) = d
        .with_scale_round(i64::from(scale), RoundingMode::HalfEven)
        .as_bigint_and_exponent();
    Value::Bytes(unscaled.to_signed_bytes_be())
}

/// A NUMERIC narrowed by `numeric.mapping` to `type_`.
fn numeric_as(d: &BigDecimal, type_: Type) -> Result<Value, ReadError> {
    let out_of_range = || format!("{d} does not fit {}", type_.name());
    if type_ == Type::Float64 {
        return d.to_f64().map(Value::Float64).ok_or_else(out_of_range);
    }
    let n = d
        .with_scale_round(0, RoundingMode::HalfEven)
        .to_i64()
        .ok_or_else(out_of_range)?;
    integer(n, type_).ok_or_else(out_of_range)
}

/// `n` as an integer value of `type_`, when it fits.
pub fn integer(n: i64, type_: Type) -> Option<Value> {
    Some(match type_ {
        Type::Int8 => Value::Int8(i8::try_from(n).ok()?),
        Type::Int16 => Value::Int16(i16::try_from(n).ok()?),
        Type::Int32 => Value::Int32(i32::try_from(n).ok()?),
        _ => Value::Int64(n),
    })
}

fn integer_type(mapping: &Mapping) -> Option<Type> {
    Some(match mapping {
        Mapping::Int8 => Type::Int8,
        Mapping::Int16 => Type::Int16,
        Mapping::Int32 => Type::Int32,
        Mapping::Int64 => Type::Int64,
        _ => return None,
    })
}

fn narrow(n: i64, mapping: &Mapping) -> Result<Value, ReadError> {
    let type_ = integer_type(mapping).unwrap_or(Type::Int64);
    integer(n, type_).ok_or_else(|| format!("{n} does not fit {}", type_.name()))
}

/// PostgreSQL's `infinity`/`-infinity` dates and timestamps (the largest and smallest binary
/// values): they have no Connect value (and would overflow chrono), so reading one is an
/// error naming the column, not a panic.
fn pg_infinite(row: &PgRow, i: usize, mapping: &Mapping) -> Result<(), ReadError> {
    let infinite = match mapping {
        Mapping::Timestamp { .. } | Mapping::Date => {
            let raw = row.try_get_raw(i).map_err(err)?;
            match (mapping, raw.as_bytes()) {
                (Mapping::Date, Ok(b)) if b.len() == 4 => {
                    let d = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                    d == i32::MAX || d == i32::MIN
                }
                (_, Ok(b)) if b.len() == 8 => {
                    let mut eight = [0; 8];
                    eight.copy_from_slice(b);
                    let t = i64::from_be_bytes(eight);
                    t == i64::MAX || t == i64::MIN
                }
                _ => false,
            }
        }
        _ => false,
    };
    if infinite {
        return Err("infinity has no Connect value".into());
    }
    Ok(())
}

impl ReadRow for PgRow {
    fn value(&self, i: usize, mapping: &Mapping, cx: &ReadContext) -> Result<Value, ReadError> {
        if self.try_get_raw(i).map_err(err)?.is_null() {
            return Ok(Value::Null);
        }
        pg_infinite(self, i, mapping)?;
        Ok(match mapping {
            Mapping::Boolean => Value::Boolean(self.try_get(i).map_err(err)?),
            Mapping::Int8 | Mapping::Int16 => {
                narrow(self.try_get::<i16, _>(i).map_err(err)?.into(), mapping)?
            }
            Mapping::Int32 => Value::Int32(self.try_get(i).map_err(err)?),
            Mapping::Int64 => Value::Int64(self.try_get(i).map_err(err)?),
            Mapping::Float32 => Value::Float32(self.try_get(i).map_err(err)?),
            Mapping::Float64 => Value::Float64(self.try_get(i).map_err(err)?),
            Mapping::Decimal { scale, .. } => {
                decimal_value(&self.try_get::<BigDecimal, _>(i).map_err(err)?, *scale)
            }
            Mapping::NumericAs(t) => numeric_as(&self.try_get(i).map_err(err)?, *t)?,
            Mapping::Unsigned64 => {
                decimal_value(&self.try_get::<BigDecimal, _>(i).map_err(err)?, 0)
            }
            // Enum labels and the text types are UTF-8 on the wire.
            Mapping::Text | Mapping::Enum => {
                Value::String(self.try_get_unchecked::<String, _>(i).map_err(err)?)
            }
            Mapping::Json => Value::String(
                self.try_get::<serde_json::Value, _>(i)
                    .map_err(err)?
                    .to_string(),
            ),
            Mapping::Uuid => Value::String(
                self.try_get::<uuid::Uuid, _>(i)
                    .map_err(err)?
                    .hyphenated()
                    .to_string(),
            ),
            Mapping::Bytes => Value::Bytes(self.try_get(i).map_err(err)?),
            Mapping::Date => days(self.try_get(i).map_err(err)?)?,
            Mapping::Time => millis_of_day(self.try_get(i).map_err(err)?),
            Mapping::Timestamp { .. } => match self.instant(i, mapping, cx.zone)? {
                Some(t) => timestamp_value(t, cx)?,
                None => Value::Null,
            },
            Mapping::Array(element) => pg_array(self, i, element, cx)?,
        })
    }

    fn instant(
        &self,
        i: usize,
        mapping: &Mapping,
        zone: Tz,
    ) -> Result<Option<DateTime<Utc>>, ReadError> {
        if self.try_get_raw(i).map_err(err)?.is_null() {
            return Ok(None);
        }
        pg_infinite(self, i, mapping)?;
        Ok(Some(match mapping {
            Mapping::Timestamp { zoned: true } => self.try_get(i).map_err(err)?,
            Mapping::Timestamp { zoned: false } => {
                wall_to_instant(self.try_get(i).map_err(err)?, zone)
            }
            Mapping::Date => {
                let date: NaiveDate = self.try_get(i).map_err(err)?;
                wall_to_instant(date.and_time(NaiveTime::MIN), zone)
            }
            other => return Err(format!("a {other:?} column is not a timestamp")),
        }))
    }
}

/// A PostgreSQL array, element by element (NULL elements stay null).
fn pg_array(
    row: &PgRow,
    i: usize,
    element: &Mapping,
    cx: &ReadContext,
) -> Result<Value, ReadError> {
    fn each<T, F>(row: &PgRow, i: usize, f: F) -> Result<Value, ReadError>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        Vec<Option<T>>: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        F: Fn(T) -> Result<Value, ReadError>,
    {
        let items: Vec<Option<T>> = row.try_get(i).map_err(err)?;
        items
            .into_iter()
            .map(|item| item.map_or(Ok(Value::Null), &f))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }
    match element {
        Mapping::Boolean => each(row, i, |v: bool| Ok(Value::Boolean(v))),
        Mapping::Int8 | Mapping::Int16 => each(row, i, |v: i16| Ok(Value::Int16(v))),
        Mapping::Int32 => each(row, i, |v: i32| Ok(Value::Int32(v))),
        Mapping::Int64 => each(row, i, |v: i64| Ok(Value::Int64(v))),
        Mapping::Float32 => each(row, i, |v: f32| Ok(Value::Float32(v))),
        Mapping::Float64 => each(row, i, |v: f64| Ok(Value::Float64(v))),
        Mapping::Text => each(row, i, |v: String| Ok(Value::String(v))),
        Mapping::Uuid => each(row, i, |v: uuid::Uuid| {
            Ok(Value::String(v.hyphenated().to_string()))
        }),
        Mapping::Decimal { scale, .. } => {
            each(row, i, |v: BigDecimal| Ok(decimal_value(&v, *scale)))
        }
        Mapping::Date => each(row, i, days),
        Mapping::Timestamp { zoned: true } => each(row, i, |v: DateTime<Utc>| {
            timestamp_value(
                v,
                &ReadContext {
                    granularity: Granularity::ConnectLogical,
                    ..*cx
                },
            )
        }),
        Mapping::Timestamp { zoned: false } => each(row, i, |v: NaiveDateTime| {
            timestamp_value(
                wall_to_instant(v, cx.zone),
                &ReadContext {
                    granularity: Granularity::ConnectLogical,
                    ..*cx
                },
            )
        }),
        other => Err(format!("arrays of {other:?} are not read")),
    }
}

impl ReadRow for MySqlRow {
    fn value(&self, i: usize, mapping: &Mapping, cx: &ReadContext) -> Result<Value, ReadError> {
        if self.try_get_raw(i).map_err(err)?.is_null() {
            return Ok(Value::Null);
        }
        let unsigned = self
            .try_get_raw(i)
            .map_err(err)?
            .type_info()
            .to_string()
            .contains("UNSIGNED");
        Ok(match mapping {
            Mapping::Boolean => {
                Value::Boolean(self.try_get_unchecked::<i64, _>(i).map_err(err)? != 0)
            }
            Mapping::Int8 | Mapping::Int16 | Mapping::Int32 | Mapping::Int64 if unsigned => {
                let n = self.try_get_unchecked::<u64, _>(i).map_err(err)?;
                narrow(
                    i64::try_from(n).map_err(|_| format!("{n} does not fit INT64"))?,
                    mapping,
                )?
            }
            Mapping::Int8 | Mapping::Int16 | Mapping::Int32 | Mapping::Int64 => {
                narrow(self.try_get_unchecked::<i64, _>(i).map_err(err)?, mapping)?
            }
            Mapping::Unsigned64 => decimal_value(
                &BigDecimal::from(self.try_get_unchecked::<u64, _>(i).map_err(err)?),
                0,
            ),
            Mapping::Float32 => Value::Float32(self.try_get_unchecked(i).map_err(err)?),
            Mapping::Float64 => Value::Float64(self.try_get_unchecked(i).map_err(err)?),
            Mapping::Decimal { scale, .. } => {
                decimal_value(&self.try_get::<BigDecimal, _>(i).map_err(err)?, *scale)
            }
            Mapping::NumericAs(t) => numeric_as(&self.try_get(i).map_err(err)?, *t)?,
            Mapping::Text | Mapping::Json | Mapping::Enum | Mapping::Uuid => {
                Value::String(self.try_get_unchecked::<String, _>(i).map_err(err)?)
            }
            Mapping::Bytes => Value::Bytes(self.try_get_unchecked(i).map_err(err)?),
            Mapping::Date => days(self.try_get(i).map_err(err)?)?,
            Mapping::Time => millis_of_day(self.try_get(i).map_err(err)?),
            Mapping::Timestamp { .. } => match self.instant(i, mapping, cx.zone)? {
                Some(t) => timestamp_value(t, cx)?,
                None => Value::Null,
            },
            Mapping::Array(_) => return Err("MySQL has no array columns".into()),
        })
    }

    fn instant(
        &self,
        i: usize,
        mapping: &Mapping,
        zone: Tz,
    ) -> Result<Option<DateTime<Utc>>, ReadError> {
        if self.try_get_raw(i).map_err(err)?.is_null() {
            return Ok(None);
        }
        Ok(Some(match mapping {
            // sqlx's session reads TIMESTAMP columns in UTC.
            Mapping::Timestamp { zoned: true } => {
                self.try_get::<DateTime<Utc>, _>(i).map_err(err)?
            }
            Mapping::Timestamp { zoned: false } => {
                wall_to_instant(self.try_get(i).map_err(err)?, zone)
            }
            Mapping::Date => {
                let date: NaiveDate = self.try_get(i).map_err(err)?;
                wall_to_instant(date.and_time(NaiveTime::MIN), zone)
            }
            other => return Err(format!("a {other:?} column is not a timestamp")),
        }))
    }
}

/// A date or time SQLite stores as text (`YYYY-MM-DD[ HH:MM[:SS[.fff]]]`, `T` allowed, with an
/// optional `Z` or `±HH:MM`) or as Unix seconds: the instant, reading wall times in `zone`.
pub fn parse_sqlite_time(text: &str, zone: Tz) -> Result<DateTime<Utc>, ReadError> {
    let t = text.trim();
    if let Ok(seconds) = t.parse::<i64>() {
        return DateTime::from_timestamp(seconds, 0).ok_or_else(|| format!("{t} is out of range"));
    }
    let normal = t.replacen('T', " ", 1);
    if let Some(utc) = normal.strip_suffix('Z') {
        return parse_wall(utc).map(|w| w.and_utc());
    }
    if let Ok(zoned) = DateTime::parse_from_str(&normal, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_str(&normal, "%Y-%m-%d %H:%M%:z"))
    {
        return Ok(zoned.with_timezone(&Utc));
    }
    parse_wall(&normal).map(|w| wall_to_instant(w, zone))
}

fn parse_wall(text: &str) -> Result<NaiveDateTime, ReadError> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN))
        })
        .map_err(|_| {
            format!("{text:?} is not a date and time SQLite writes (YYYY-MM-DD HH:MM:SS.SSS)")
        })
}

impl ReadRow for SqliteRow {
    fn value(&self, i: usize, mapping: &Mapping, cx: &ReadContext) -> Result<Value, ReadError> {
        if self.try_get_raw(i).map_err(err)?.is_null() {
            return Ok(Value::Null);
        }
        // SQLite converts between its storage classes on read, as its affinity rules allow.
        Ok(match mapping {
            Mapping::Boolean => {
                Value::Boolean(self.try_get_unchecked::<i64, _>(i).map_err(err)? != 0)
            }
            Mapping::Int8 | Mapping::Int16 | Mapping::Int32 | Mapping::Int64 => {
                narrow(self.try_get_unchecked::<i64, _>(i).map_err(err)?, mapping)?
            }
            Mapping::Float32 => {
                Value::Float32(self.try_get_unchecked::<f64, _>(i).map_err(err)? as f32)
            }
            Mapping::Float64 => Value::Float64(self.try_get_unchecked(i).map_err(err)?),
            Mapping::Decimal { scale, .. } => decimal_value(&sqlite_decimal(self, i)?, *scale),
            Mapping::NumericAs(t) => numeric_as(&sqlite_decimal(self, i)?, *t)?,
            Mapping::Unsigned64 => decimal_value(&sqlite_decimal(self, i)?, 0),
            Mapping::Text | Mapping::Json | Mapping::Uuid | Mapping::Enum => {
                Value::String(self.try_get_unchecked::<String, _>(i).map_err(err)?)
            }
            Mapping::Bytes => Value::Bytes(self.try_get_unchecked(i).map_err(err)?),
            Mapping::Date => {
                let text: String = self.try_get_unchecked(i).map_err(err)?;
                let instant = parse_sqlite_time(&text, cx.zone)?;
                days(instant.with_timezone(&cx.zone).date_naive())?
            }
            Mapping::Time => {
                let text: String = self.try_get_unchecked(i).map_err(err)?;
                let time = NaiveTime::parse_from_str(text.trim(), "%H:%M:%S%.f")
                    .or_else(|_| NaiveTime::parse_from_str(text.trim(), "%H:%M"))
                    .map_err(|_| format!("{text:?} is not a time (HH:MM:SS.SSS)"))?;
                millis_of_day(time)
            }
            Mapping::Timestamp { .. } => match self.instant(i, mapping, cx.zone)? {
                Some(t) => timestamp_value(t, cx)?,
                None => Value::Null,
            },
            Mapping::Array(_) => return Err("SQLite has no array columns".into()),
        })
    }

    fn instant(
        &self,
        i: usize,
        _mapping: &Mapping,
        zone: Tz,
    ) -> Result<Option<DateTime<Utc>>, ReadError> {
        if self.try_get_raw(i).map_err(err)?.is_null() {
            return Ok(None);
        }
        let text: String = self.try_get_unchecked(i).map_err(err)?;
        parse_sqlite_time(&text, zone).map(Some)
    }
}

fn sqlite_decimal(row: &SqliteRow, i: usize) -> Result<BigDecimal, ReadError> {
    let text: String = row.try_get_unchecked(i).map_err(err)?;
    BigDecimal::from_str(text.trim()).map_err(|_| format!("{text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_times_are_read_in_their_forms() {
        let utc = Tz::UTC;
        let t = |s: &str| parse_sqlite_time(s, utc).unwrap().to_rfc3339();
        assert_eq!(t("2024-03-01 10:20:30"), "2024-03-01T10:20:30+00:00");
        assert_eq!(
            t("2024-03-01T10:20:30.125"),
            "2024-03-01T10:20:30.125+00:00"
        );
        assert_eq!(t("2024-03-01 10:20"), "2024-03-01T10:20:00+00:00");
        assert_eq!(t("2024-03-01"), "2024-03-01T00:00:00+00:00");
        assert_eq!(t("2024-03-01T10:20:30Z"), "2024-03-01T10:20:30+00:00");
        assert_eq!(t("2024-03-01 10:20:30+02:00"), "2024-03-01T08:20:30+00:00");
        assert_eq!(t("1700000000"), "2023-11-14T22:13:20+00:00");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            parse_sqlite_time("2024-01-15 12:00:00", berlin)
                .unwrap()
                .to_rfc3339(),
            "2024-01-15T11:00:00+00:00"
        );
        assert!(parse_sqlite_time("yesterday", utc).is_err());
        assert!(parse_sqlite_time("", utc).is_err());
    }

    #[test]
    fn decimals_and_timestamps_take_connects_forms() {
        let d = BigDecimal::from_str("-12.345").unwrap();
        // -1234.5 → half-even at scale 2 → -1234 (unscaled), two's complement big-endian.
        assert_eq!(
            decimal_value(&d, 2),
            Value::Bytes((-1234i16).to_be_bytes().to_vec())
        );
        assert_eq!(
            decimal_value(&BigDecimal::from(0), 0),
            Value::Bytes(vec![0])
        );
        assert_eq!(
            numeric_as(&BigDecimal::from_str("300").unwrap(), Type::Int8),
            Err("300 does not fit int8".into())
        );
        assert_eq!(
            numeric_as(&BigDecimal::from_str("1.5").unwrap(), Type::Float64),
            Ok(Value::Float64(1.5))
        );
        let instant = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let cx = |granularity| ReadContext {
            zone: Tz::UTC,
            granularity,
        };
        assert_eq!(
            timestamp_value(instant, &cx(Granularity::ConnectLogical)),
            Ok(Value::Int64(1_700_000_000_123))
        );
        assert_eq!(
            timestamp_value(instant, &cx(Granularity::MicrosString)),
            Ok(Value::String("1700000000123456".into()))
        );
        assert_eq!(
            timestamp_value(instant, &cx(Granularity::NanosIsoDatetimeString)),
            Ok(Value::String("2023-11-14T22:13:20.123456789".into()))
        );
        let new_york: Tz = "America/New_York".parse().unwrap();
        // 02:30 on 2024-03-10 does not exist in New York (clocks jump 02:00 → 03:00).
        let gap = NaiveDate::from_ymd_opt(2024, 3, 10)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            wall_to_instant(gap, new_york).to_rfc3339(),
            "2024-03-10T07:30:00+00:00"
        );
    }
}
