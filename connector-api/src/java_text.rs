//! Java-compatible text for Connect values: `Double.toString`, `Float.toString`,
//! `BigDecimal.toString`, and proleptic Gregorian day arithmetic. Shared by converters and
//! connectors (e.g. a sink that prints values as Java's `String.valueOf` would).
//!
//! [`push_value`] renders a whole value as Java's `String.valueOf` does (the file sink and
//! StringConverter both use it):
//! Exact for strings, null, booleans, integers, structs (`Struct{a=1,b=x}`, null fields left
//! out), maps (`{k=v, k2=v2}`, in the order the entries arrive) and arrays (`[a, b]`).
//!
//! Close to Java, documented divergences:
//! * floats follow `Double.toString` / `Float.toString`: plain notation with at least one
//!   fractional digit for magnitudes in `[1e-3, 1e7)` (`1.5`, `100.0`), otherwise computerized
//!   scientific notation (`1.0E10`, `1.5E-5`), `NaN`, `Infinity`. Digits are the shortest that
//!   round-trip, as in JDK 19+; older JDKs sometimes printed more digits.
//! * bytes: Java prints an object identity (`[B@1f2a3b`), which carries no data; we print the
//!   bytes as standard base64 instead.
//! * logical types (when the schema says so): Decimal as `BigDecimal.toString`; Date, Time and
//!   Timestamp as `java.util.Date.toString` in UTC (`Thu Jan 01 00:00:00 UTC 1970`) — Java uses
//!   the JVM's default time zone.

use std::fmt::{self, Write as _};

use base64::Engine as _;

use crate::logical;
use crate::schema::SchemaRef;
use crate::value::Value;

/// Splits Rust's `{:e}` rendering (`1.2345e3`, `5e-324`) into digits and decimal exponent.
fn sci_parts(sci: &str) -> (String, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Renders `digits × 10^(exp - len + 1)` (digits `d1d2…`, value `d1.d2… × 10^exp`) the way
/// Java's `Double.toString` / `Float.toString` lay it out.
fn push_java_layout(out: &mut String, negative: bool, digits: &str, exp: i32, plain: bool) {
    if negative {
        out.push('-');
    }
    if plain {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        let _ = write!(out, "{exp}");
    }
}

/// Appends `s` as a JSON string literal, escaping as Jackson does: `"` `\` and control
/// characters (short forms for \b \t \n \f \r, else `\u00XX` with upper-case hex); everything
/// else, including non-ASCII, is written as is.
pub fn push_json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is an ASCII position, so it is a char boundary.
        out.push_str(&s[start..i]);
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends `v` as Java's `Double.toString` (JDK 19+, shortest repr) renders it:
/// `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `-Infinity`.
pub fn push_f64(out: &mut String, v: f64) {
    push_float(out, v.abs(), v);
}

/// Appends `v` as Java's `Float.toString` renders it.
pub fn push_f32(out: &mut String, v: f32) {
    push_float(out, v.abs(), f64::from(v));
}

/// `abs` supplies the digits (shortest repr at its own width); `wide` is the same value as
/// f64, for the sign and the classification.
fn push_float<F: std::fmt::LowerExp>(out: &mut String, abs: F, wide: f64) {
    if wide.is_nan() {
        out.push_str("NaN");
    } else if wide.is_infinite() {
        out.push_str(if wide > 0.0 { "Infinity" } else { "-Infinity" });
    } else if wide == 0.0 {
        out.push_str(if wide.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        });
    } else {
        let (mut digits, mut exp) = sci_parts(&format!("{abs:e}"));
        if digits.len() == 1 {
            // Java prefers the closest two-digit decimal over a one-digit one (4.9E-324).
            (digits, exp) = sci_parts(&format!("{abs:.1e}"));
            if digits.ends_with('0') {
                digits.truncate(1);
            }
        }
        let magnitude = wide.abs();
        push_java_layout(
            out,
            wide < 0.0,
            &digits,
            exp,
            (1e-3..1e7).contains(&magnitude),
        );
    }
}

/// Appends a decimal as Java's `BigDecimal.toString` renders it: plain when the scale is
/// non-negative and the adjusted exponent is at least -6 (`1.94`, `0.000001`), else scientific
/// (`1.94E+4`, `1E-7`).
pub fn push_big_decimal(out: &mut String, unscaled: i128, scale: i32) {
    let digits = unscaled.unsigned_abs().to_string();
    if unscaled < 0 {
        out.push('-');
    }
    let adjusted = -(scale as i64) + (digits.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        let scale = scale as usize;
        if scale == 0 {
            out.push_str(&digits);
        } else if digits.len() > scale {
            let (int_part, frac) = digits.split_at(digits.len() - scale);
            out.push_str(int_part);
            out.push('.');
            out.push_str(frac);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('E');
        if adjusted >= 0 {
            out.push('+');
        }
        let _ = write!(out, "{adjusted}");
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a (year, month, day) date (proleptic Gregorian).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds in a day.
pub const MILLIS_PER_DAY: i64 = 86_400_000;

// The ISO layouts Kafka's `Values` uses for logical types in text (SimpleHeaderConverter,
// Cast to string): Date `yyyy-MM-dd`, Time `HH:mm:ss.SSS'Z'`,
// Timestamp `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`, all UTC.

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Appends `yyyy-MM-dd` for a day count since the epoch.
pub fn push_iso_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if y < 0 {
        let _ = write!(out, "-{:04}-{m:02}-{d:02}", -y);
    } else {
        let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    }
}

/// Appends `HH:mm:ss.SSS'Z'` for milliseconds since midnight (wrapped into one day).
pub fn push_iso_time(out: &mut String, millis: i64) {
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    );
}

/// Appends `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` for milliseconds since the epoch (UTC).
pub fn push_iso_timestamp(out: &mut String, millis: i64) {
    push_iso_date(out, millis.div_euclid(MILLIS_PER_DAY));
    out.push('T');
    push_iso_time(out, millis.rem_euclid(MILLIS_PER_DAY));
}

fn digits_at(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let part = b.get(start..start + len)?;
    let mut n = 0u32;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

/// Parses exactly `yyyy-MM-dd` into days since the epoch.
pub fn parse_iso_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(digits_at(b, 0, 4)?);
    let month = digits_at(b, 5, 2)?;
    let day = digits_at(b, 8, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses exactly `HH:mm:ss.SSS'Z'` into milliseconds since midnight.
pub fn parse_iso_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 13 || b[2] != b':' || b[5] != b':' || b[8] != b'.' || b[12] != b'Z' {
        return None;
    }
    let h = digits_at(b, 0, 2)?;
    let m = digits_at(b, 3, 2)?;
    let sec = digits_at(b, 6, 2)?;
    let ms = digits_at(b, 9, 3)?;
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(i64::from(((h * 60 + m) * 60 + sec) * 1000 + ms))
}

/// Parses exactly `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` into milliseconds since the epoch.
pub fn parse_iso_timestamp(s: &str) -> Option<i64> {
    if s.len() != 24 || s.as_bytes()[10] != b'T' {
        return None;
    }
    let days = parse_iso_date(s.get(..10)?)?;
    let ms = parse_iso_time(s.get(11..)?)?;
    Some(days * MILLIS_PER_DAY + ms)
}

/// Appends `value` to `out` as Java's `String.valueOf` would render it; `schema` (when known)
/// lets logical types render as their Java objects do.
pub fn push_value(out: &mut String, value: &Value, schema: Option<&SchemaRef>) {
    if let Some(schema) = schema {
        if render_logical(out, value, schema) {
            return;
        }
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => push_display(out, v),
        Value::Int16(v) => push_display(out, v),
        Value::Int32(v) => push_display(out, v),
        Value::Int64(v) => push_display(out, v),
        Value::Float32(v) => push_f32(out, *v),
        Value::Float64(v) => push_f64(out, *v),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode_string(b, out),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_ref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_value(out, item, item_schema);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_ref());
            let value_schema = schema.and_then(|s| s.value_schema.as_ref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_value(out, k, key_schema);
                out.push('=');
                push_value(out, v, value_schema);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push_str("Struct{");
            let mut first = true;
            for (field, v) in s.schema().fields.iter().zip(s.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&field.name);
                out.push('=');
                push_value(out, v, Some(&field.schema));
            }
            out.push('}');
        }
    }
}

fn push_display(out: &mut String, v: impl fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

/// Renders a logical-type value; false when `schema` is not a logical type this value fits.
fn render_logical(out: &mut String, value: &Value, schema: &SchemaRef) -> bool {
    const DAY_MS: i64 = 86_400_000;
    let Some(name) = schema.name.as_deref() else {
        return false;
    };
    match (name, value) {
        (logical::DECIMAL, Value::Bytes(bytes)) => {
            let (Ok(scale), Ok(unscaled)) = (
                logical::decimal_scale(schema),
                logical::decimal_unscaled(bytes),
            ) else {
                return false;
            };
            push_big_decimal(out, unscaled, scale);
            true
        }
        (logical::DATE, Value::Int32(days)) => {
            java_date(out, i64::from(*days) * DAY_MS);
            true
        }
        (logical::TIME, Value::Int32(ms)) => {
            java_date(out, i64::from(*ms));
            true
        }
        (logical::TIMESTAMP, Value::Int64(ms)) => {
            java_date(out, *ms);
            true
        }
        _ => false,
    }
}

/// `java.util.Date.toString` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
fn java_date(out: &mut String, epoch_ms: i64) {
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch_ms.div_euclid(86_400_000);
    let secs_of_day = epoch_ms.rem_euclid(86_400_000) / 1000;
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{weekday} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        MONTHS[(month - 1) as usize],
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Schema, Struct};

    fn show(value: &Value, schema: Option<&SchemaRef>) -> String {
        let mut out = String::new();
        push_value(&mut out, value, schema);
        out
    }

    #[test]
    fn primitives() {
        assert_eq!(show(&Value::Null, None), "null");
        assert_eq!(show(&Value::Boolean(true), None), "true");
        assert_eq!(show(&Value::Int8(-8), None), "-8");
        assert_eq!(show(&Value::Int32(42), None), "42");
        assert_eq!(show(&Value::Int64(-9_000_000_000), None), "-9000000000");
        assert_eq!(show(&"text".into(), None), "text");
        assert_eq!(show(&Value::Bytes(b"hi!".to_vec()), None), "aGkh");
    }

    #[test]
    fn floats_like_java() {
        for (v, text) in [
            (1.5, "1.5"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.001, "0.001"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (1.0e10, "1.0E10"),
            (1.5e-5, "1.5E-5"),
            (-2.5e20, "-2.5E20"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(show(&Value::Float64(v), None), text, "{v}");
        }
        assert_eq!(show(&Value::Float32(0.1), None), "0.1");
        assert_eq!(show(&Value::Float32(3.0e9), None), "3.0E9");
    }

    #[test]
    fn containers_and_structs() {
        let list = Value::Array(vec![Value::Int32(1), Value::Null, "x".into()]);
        assert_eq!(show(&list, None), "[1, null, x]");
        assert_eq!(show(&Value::Array(vec![]), None), "[]");
        let map = Value::Map(vec![
            ("a".into(), Value::Int32(1)),
            ("b".into(), Value::Array(vec![Value::Boolean(false)])),
        ]);
        assert_eq!(show(&map, None), "{a=1, b=[false]}");
        assert_eq!(show(&Value::Map(vec![]), None), "{}");

        let inner = Schema::struct_([("n", Schema::int32())]).into_ref();
        let schema = Schema::struct_([
            ("name", Schema::optional_string()),
            ("age", Schema::optional_int32()),
            ("skipped", Schema::optional_string()),
            ("inner", inner.clone()),
        ])
        .into_ref();
        let mut nested = Struct::new(inner).unwrap();
        nested.put("n", Value::Int32(7)).unwrap();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("name", "Ann").unwrap();
        s.put("age", Value::Int32(30)).unwrap();
        s.put("inner", Value::Struct(nested)).unwrap();
        assert_eq!(
            show(&Value::Struct(s), Some(&schema)),
            "Struct{name=Ann,age=30,inner=Struct{n=7}}"
        );
    }

    #[test]
    fn logical_types() {
        let dec = logical::decimal(2).into_ref();
        let value = logical::decimal_value("-1.94", 2).unwrap();
        assert_eq!(show(&value, Some(&dec)), "-1.94");
        let tiny = logical::decimal(10).into_ref();
        assert_eq!(show(&Value::Bytes(vec![1]), Some(&tiny)), "1E-10");
        let small = logical::decimal(3).into_ref();
        assert_eq!(show(&Value::Bytes(vec![5]), Some(&small)), "0.005");
        let negative_scale = logical::decimal(-2).into_ref();
        assert_eq!(
            show(&Value::Bytes(vec![0x7b]), Some(&negative_scale)),
            "1.23E+4"
        );

        let date = logical::date().into_ref();
        assert_eq!(
            show(&Value::Int32(0), Some(&date)),
            "Thu Jan 01 00:00:00 UTC 1970"
        );
        assert_eq!(
            show(&Value::Int32(19_782), Some(&date)),
            "Thu Feb 29 00:00:00 UTC 2024"
        );
        let time = logical::time().into_ref();
        assert_eq!(
            show(&Value::Int32(37_230_000), Some(&time)),
            "Thu Jan 01 10:20:30 UTC 1970"
        );
        let ts = logical::timestamp().into_ref();
        assert_eq!(
            show(&Value::Int64(1_700_000_000_123), Some(&ts)),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(
            show(&Value::Int64(-1), Some(&ts)),
            "Wed Dec 31 23:59:59 UTC 1969"
        );
        // Without a schema the base value is printed.
        assert_eq!(show(&Value::Int64(5), None), "5");
    }

    #[test]
    fn dates() {
        let mut s = String::new();
        push_iso_date(&mut s, 0);
        s.push(' ');
        push_iso_date(&mut s, 19_723);
        s.push(' ');
        push_iso_date(&mut s, -1);
        s.push(' ');
        push_iso_time(&mut s, 45_296_789);
        s.push(' ');
        push_iso_timestamp(&mut s, 1_704_164_645_123);
        s.push(' ');
        push_iso_timestamp(&mut s, -1);
        assert_eq!(
            s,
            "1970-01-01 2024-01-01 1969-12-31 12:34:56.789Z 2024-01-02T03:04:05.123Z \
             1969-12-31T23:59:59.999Z"
        );
        assert_eq!(parse_iso_date("2024-01-01"), Some(19_723));
        assert_eq!(parse_iso_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_iso_date("2023-02-29"), None);
        assert_eq!(parse_iso_date("2024-13-01"), None);
        assert_eq!(parse_iso_time("12:34:56.789Z"), Some(45_296_789));
        assert_eq!(parse_iso_time("24:00:00.000Z"), None);
        assert_eq!(
            parse_iso_timestamp("2024-01-02T03:04:05.123Z"),
            Some(1_704_164_645_123)
        );
        assert_eq!(parse_iso_timestamp("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(parse_iso_timestamp("2024-01-02 03:04:05.123Z"), None);
        for days in [-800_000i64, -1, 0, 59, 60, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
