//! Text helpers shared by the converters: Java-compatible number rendering, ISO-8601 dates,
//! JSON string escaping and base64.

use std::fmt::Write as _;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Standard alphabet, padded on write, padding optional on read.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Appends the padded standard base64 of `bytes` (Java `Base64.getEncoder()`, Jackson binary).
pub(crate) fn push_base64(out: &mut String, bytes: &[u8]) {
    STANDARD.encode_string(bytes, out);
}

/// Decodes standard base64 (padding optional).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    LENIENT
        .decode(text)
        .map_err(|e| format!("invalid base64 text: {e}"))
}

/// Appends an integer in decimal.
pub(crate) fn push_int(out: &mut String, n: i64) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

pub(crate) use tributary_connector_api::java_text::{
    push_big_decimal as push_java_big_decimal, push_f32 as push_java_f32,
    push_f64 as push_java_f64, push_json_str,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(v: f64) -> String {
        let mut s = String::new();
        push_java_f64(&mut s, v);
        s
    }

    fn f32s(v: f32) -> String {
        let mut s = String::new();
        push_java_f32(&mut s, v);
        s
    }

    fn dec(unscaled: i128, scale: i32) -> String {
        let mut s = String::new();
        push_java_big_decimal(&mut s, unscaled, scale);
        s
    }

    #[test]
    fn java_double_to_string() {
        for (v, want) in [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.2345e10, "1.2345E10"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (2e23, "2.0E23"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(f64s(v), want, "{v:e}");
        }
    }

    #[test]
    fn java_float_to_string() {
        for (v, want) in [
            (1.0f32, "1.0"),
            (0.1, "0.1"),
            (3.4028235e38, "3.4028235E38"),
            (1.4e-45, "1.4E-45"),
            (12345.678, "12345.678"),
            (1.0e7, "1.0E7"),
        ] {
            assert_eq!(f32s(v), want);
        }
    }

    #[test]
    fn java_big_decimal_to_string() {
        assert_eq!(dec(194, 2), "1.94");
        assert_eq!(dec(-5, 2), "-0.05");
        assert_eq!(dec(7, 0), "7");
        assert_eq!(dec(194, -2), "1.94E+4");
        assert_eq!(dec(1, 6), "0.000001");
        assert_eq!(dec(1, 7), "1E-7");
        assert_eq!(dec(123, 10), "1.23E-8");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(0, -2), "0E+2");
    }

    #[test]
    fn json_escapes_like_jackson() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\n\t\u{1}\u{8}\u{c}\r/é\u{7f}");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\t\\u0001\\b\\f\\r/é\u{7f}\"");
    }

    #[test]
    fn base64_round_trip() {
        let mut s = String::new();
        push_base64(&mut s, &[0x00, 0xC2]);
        assert_eq!(s, "AMI=");
        assert_eq!(decode_base64("AMI=").unwrap(), vec![0x00, 0xC2]);
        assert_eq!(decode_base64("AMI").unwrap(), vec![0x00, 0xC2]);
        assert!(decode_base64("A*I=").is_err());
    }
}
