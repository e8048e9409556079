//! Kafka Connect logical types: named schemas over a base type.

use crate::error::DataError;
use crate::schema::{Schema, SchemaRef, Type};
use crate::value::Value;

pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// The parameter holding a Decimal's scale.
pub const DECIMAL_SCALE: &str = "scale";

/// `Decimal` schema builder (bytes holding the unscaled big-endian two's-complement value).
pub fn decimal(scale: i32) -> Schema {
    Schema::new(Type::Bytes)
        .with_name(DECIMAL)
        .with_version(1)
        .with_parameter(DECIMAL_SCALE, scale.to_string())
}

/// `Date` schema builder (int32 days since the epoch).
pub fn date() -> Schema {
    Schema::new(Type::Int32).with_name(DATE).with_version(1)
}

/// `Time` schema builder (int32 milliseconds since midnight).
pub fn time() -> Schema {
    Schema::new(Type::Int32).with_name(TIME).with_version(1)
}

/// `Timestamp` schema builder (int64 milliseconds since the epoch).
pub fn timestamp() -> Schema {
    Schema::new(Type::Int64)
        .with_name(TIMESTAMP)
        .with_version(1)
}

/// The scale of a Decimal schema.
pub fn decimal_scale(schema: &SchemaRef) -> Result<i32, DataError> {
    schema
        .parameters
        .as_ref()
        .and_then(|p| p.get(DECIMAL_SCALE))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DataError::new("Invalid Decimal schema: scale parameter not found."))
}

/// The unscaled value of a Decimal as an `i128` (big-endian two's complement, up to 16 bytes).
pub fn decimal_unscaled(bytes: &[u8]) -> Result<i128, DataError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if bytes.len() > 16 {
        return Err(DataError::new(
            "Decimal values wider than 128 bits are not supported",
        ));
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(buf))
}

/// The minimal big-endian two's-complement encoding of an unscaled value (as Java's
/// `BigInteger.toByteArray`).
pub fn decimal_bytes(unscaled: i128) -> Vec<u8> {
    let full = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (full[start], full[start + 1]);
        let redundant = (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    full[start..].to_vec()
}

/// Renders a Decimal as plain decimal text (`1.94`, `-0.05`, `120`).
pub fn decimal_to_string(bytes: &[u8], scale: i32) -> Result<String, DataError> {
    let unscaled = decimal_unscaled(bytes)?;
    if scale <= 0 {
        let mut s = unscaled.to_string();
        if unscaled != 0 {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return Ok(s);
    }
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    Ok(format!(
        "{}{}.{}",
        if negative { "-" } else { "" },
        int_part,
        frac_part
    ))
}

/// Parses decimal text (`1.94`, `-3`, `2.5e1`) into the unscaled bytes for `scale`.
/// Fails if the text has more fractional digits than the scale allows.
pub fn decimal_from_str(text: &str, scale: i32) -> Result<Vec<u8>, DataError> {
    let bad = || DataError::new(format!("invalid decimal: {text}"));
    let text = text.trim();
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (text, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part
        .chars()
        .chain(frac_part.chars())
        .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let digits = format!("{int_part}{frac_part}");
    // value = digits * 10^(exp - frac_len); unscaled = value * 10^scale. In i64, so that no
    // scale or exponent, however absurd, overflows the shift.
    let shift = i64::from(scale) + i64::from(exp) - frac_part.len() as i64;
    let mut unscaled: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| bad())?
    };
    // Zero at any scale is zero, without 2^31 steps for an absurd one. Otherwise at most 39
    // steps run either way: an i128 holds under 10^39.
    if unscaled == 0 {
        return Ok(decimal_bytes(0));
    }
    if shift >= 0 {
        for _ in 0..shift {
            unscaled = unscaled.checked_mul(10).ok_or_else(bad)?;
        }
    } else {
        for _ in 0..(-shift) {
            if unscaled % 10 != 0 {
                return Err(DataError::new(format!(
                    "decimal {text} has more digits than scale {scale} allows"
                )));
            }
            unscaled /= 10;
        }
    }
    if negative {
        unscaled = -unscaled;
    }
    Ok(decimal_bytes(unscaled))
}

/// True when `schema` is the named logical type.
pub fn is(schema: &SchemaRef, logical_name: &str) -> bool {
    schema.name.as_deref() == Some(logical_name)
}

/// A Decimal value from decimal text, for connector authors.
pub fn decimal_value(text: &str, scale: i32) -> Result<Value, DataError> {
    decimal_from_str(text, scale).map(Value::Bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_scales_and_exponents_fail_or_finish_at_once() {
        // Before: `scale + exp` overflowed (a panic), and zero at scale 2^31-1 looped 2^31 times.
        for (text, scale) in [
            ("0", i32::MAX),
            ("0.000", i32::MIN),
            ("1", i32::MAX),
            ("1", i32::MIN),
            ("12.5", i32::MAX),
            ("1e2147483647", i32::MAX),
            ("1e-2147483648", i32::MIN),
        ] {
            let _ = decimal_from_str(text, scale);
        }
        assert_eq!(decimal_from_str("0", i32::MAX).unwrap(), decimal_bytes(0));
        assert!(decimal_from_str("1", i32::MAX).is_err());
        assert!(decimal_from_str("1", i32::MIN).is_err());
        assert!(decimal_from_str("1e2147483647", i32::MAX).is_err());
    }

    #[test]
    fn decimal_bytes_match_java_biginteger() {
        assert_eq!(decimal_bytes(194), vec![0x00, 0xC2]);
        assert_eq!(decimal_bytes(0), vec![0x00]);
        assert_eq!(decimal_bytes(-1), vec![0xFF]);
        assert_eq!(decimal_bytes(127), vec![0x7F]);
        assert_eq!(decimal_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_bytes(-129), vec![0xFF, 0x7F]);
    }

    #[test]
    fn decimal_text_round_trip() {
        for (text, scale, shown) in [
            ("1.94", 2, "1.94"),
            ("-0.05", 2, "-0.05"),
            ("3", 2, "3.00"),
            ("12e1", 0, "120"),
        ] {
            let bytes = decimal_from_str(text, scale).unwrap();
            assert_eq!(decimal_to_string(&bytes, scale).unwrap(), shown);
        }
        assert!(decimal_from_str("1.234", 2).is_err());
        assert!(decimal_from_str("abc", 2).is_err());
    }
}
