//! Java-compatible text for Connect values: `Double.toString`, `Float.toString`,
//! `BigDecimal.toString`, and proleptic Gregorian day arithmetic. Shared by converters and
//! connectors (e.g. a sink that prints values as Java's `String.valueOf` would).

use std::fmt::Write as _;

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

/// Appends `v` as Java's `Double.toString` (JDK 19+, shortest repr) renders it:
/// `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `-Infinity`.
pub fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    } else {
        let abs = v.abs();
        let (mut digits, mut exp) = sci_parts(&format!("{abs:e}"));
        if digits.len() == 1 {
            // Java prefers the closest two-digit decimal over a one-digit one (4.9E-324).
            (digits, exp) = sci_parts(&format!("{abs:.1e}"));
            if digits.ends_with('0') {
                digits.truncate(1);
            }
        }
        push_java_layout(out, v < 0.0, &digits, exp, (1e-3..1e7).contains(&abs));
    }
}

/// Appends `v` as Java's `Float.toString` renders it.
pub fn push_f32(out: &mut String, v: f32) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    } else {
        let abs = v.abs();
        let (mut digits, mut exp) = sci_parts(&format!("{abs:e}"));
        if digits.len() == 1 {
            (digits, exp) = sci_parts(&format!("{abs:.1e}"));
            if digits.ends_with('0') {
                digits.truncate(1);
            }
        }
        push_java_layout(out, v < 0.0, &digits, exp, (1e-3..1e7).contains(&abs));
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
