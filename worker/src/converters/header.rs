//! `org.apache.kafka.connect.storage.SimpleHeaderConverter` (spec §5.2), Kafka's default header
//! converter: header values as UTF-8 text.
//!
//! Write: strings as they are; numbers and booleans as text (floats as Java prints them:
//! `1.5`, `1.0E10`); bytes as base64; Decimal as Java's `BigDecimal.toString`; Date
//! `yyyy-MM-dd`, Time `HH:mm:ss.SSS'Z'`, Timestamp `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (UTC); arrays
//! `[a,b]`, maps `{k:v}` and structs `{"field":v}`, where nested strings and bytes are quoted
//! (with `\` and `"` escaped by a backslash) and other values are not. Null is null bytes.
//!
//! Read infers the narrowest type, as Kafka's `Values.parseString`:
//! `null` → null; `true`/`false` → BOOLEAN; whole numbers from -10^19 to 10^19 → INT8, INT16,
//! INT32 or INT64 (so `1.0` reads as INT8 1, as in Kafka); other numbers → FLOAT32 when the
//! float32 value prints back as the same number, else FLOAT64 (Kafka picks FLOAT32 for any
//! fraction within float range, losing digits, so `3.141592653589793` reads as FLOAT64 here but
//! FLOAT32 in Kafka); whole numbers too wide for INT64 → Decimal with scale 0; the three
//! date/time layouts above → Date/Time/Timestamp; `[…]` / `{…}` that parse completely → ARRAY /
//! MAP, with an element (key, value) schema when all non-null elements share one type (numbers
//! are widened to a common type; the element schema is optional if an element is null) and no
//! schema otherwise; anything else → STRING with the original text. Bytes that are not UTF-8 →
//! BYTES with the raw bytes.
//!
//! Further differences from Kafka (all on text Kafka would mis-read): text with trailing
//! garbage (`1,2`) is a string, not INT8 1; quoted strings inside lists are unescaped; lists
//! with nulls keep a schema instead of becoming strings; dates are strict (`2024-02-30` is a
//! string) and proleptic Gregorian; a Timestamp at midnight is written as a timestamp (Kafka
//! picks the layout from the value, writing it as a date).

use std::collections::BTreeMap;

use tributary_connector_api::logical::{self, DATE, DECIMAL, TIME, TIMESTAMP};
use tributary_connector_api::{Schema, SchemaRef, Type, Value};

use crate::converters::jsonparse::MAX_DEPTH;
use crate::converters::text;
use crate::converters::{ConfigReader, ConverterError, HeaderConverter};

/// Kafka's SimpleHeaderConverter.
#[derive(Debug, Clone, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    pub fn new(config: &BTreeMap<String, String>) -> Result<SimpleHeaderConverter, ConverterError> {
        let mut reader = ConfigReader::new(config);
        reader.converter_type();
        reader.finish()?;
        Ok(SimpleHeaderConverter)
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        if value.is_null() {
            return Ok(None);
        }
        if let Some(schema) = schema {
            value.validate(schema).map_err(|e| {
                ConverterError::Serialize(format!(
                    "header '{key}' on topic '{topic}' does not match its schema: {}",
                    e.message
                ))
            })?;
        }
        if let Value::String(s) = value {
            return Ok(Some(s.as_bytes().to_vec()));
        }
        let mut out = String::new();
        append(&mut out, schema, value, false);
        Ok(Some(out.into_bytes()))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value), ConverterError> {
        let Some(bytes) = bytes else {
            return Ok((None, Value::Null));
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(parse_text(text)),
            Err(_) => Ok((Some(Schema::bytes()), Value::Bytes(bytes.to_vec()))),
        }
    }
}

fn logical_name(schema: Option<&SchemaRef>) -> Option<&str> {
    schema.and_then(|s| s.name.as_deref())
}

/// Appends a value's header text; `embedded` inside lists, maps and structs.
fn append(out: &mut String, schema: Option<&SchemaRef>, value: &Value, embedded: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => text::push_int(out, i64::from(*v)),
        Value::Int16(v) => text::push_int(out, i64::from(*v)),
        Value::Int32(v) => match logical_name(schema) {
            Some(DATE) => text::push_date(out, i64::from(*v)),
            Some(TIME) => text::push_time(out, i64::from(*v)),
            _ => text::push_int(out, i64::from(*v)),
        },
        Value::Int64(v) => match logical_name(schema) {
            Some(TIMESTAMP) => text::push_timestamp(out, *v),
            _ => text::push_int(out, *v),
        },
        Value::Float32(v) => text::push_java_f32(out, *v),
        Value::Float64(v) => text::push_java_f64(out, *v),
        Value::String(s) => {
            if embedded {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Value::Bytes(b) => {
            let decimal = match (schema, logical_name(schema)) {
                (Some(s), Some(DECIMAL)) => logical::decimal_scale(s)
                    .ok()
                    .zip(logical::decimal_unscaled(b).ok()),
                _ => None,
            };
            match decimal {
                Some((scale, unscaled)) => text::push_java_big_decimal(out, unscaled, scale),
                None if embedded => {
                    out.push('"');
                    text::push_base64(out, b);
                    out.push('"');
                }
                None => text::push_base64(out, b),
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_ref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, item_schema, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_ref());
            let value_schema = schema.and_then(|s| s.value_schema.as_ref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, key_schema, k, true);
                out.push(':');
                append(out, value_schema, v, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, field) in s.schema().fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, None, &Value::String(field.name.clone()), true);
                out.push(':');
                let v = s.values().get(field.index).unwrap_or(&Value::Null);
                // Like Kafka's `Struct.get`: a null field shows its default.
                let v = match (&field.schema.default, v) {
                    (Some(default), Value::Null) => default,
                    _ => v,
                };
                append(out, Some(&field.schema), v, true);
            }
            out.push('}');
        }
    }
}

type Parsed = (Option<SchemaRef>, Value);

/// Infers the schema and value of a header's text.
pub(crate) fn parse_text(text: &str) -> Parsed {
    let string = || (Some(Schema::string()), Value::String(text.to_owned()));
    if text.is_empty() {
        return string();
    }
    let trimmed = text.trim();
    match trimmed {
        "" => return string(),
        "null" => return (None, Value::Null),
        "true" => return (Some(Schema::boolean()), Value::Boolean(true)),
        "false" => return (Some(Schema::boolean()), Value::Boolean(false)),
        _ => {}
    }
    if trimmed.starts_with(['[', '{']) {
        let mut p = Embedded::new(trimmed);
        if let Ok(parsed) = p.element() {
            p.ws();
            if p.pos == p.b.len() {
                return parsed;
            }
        }
        return string();
    }
    let first = trimmed.as_bytes()[0];
    if first.is_ascii_digit() {
        let unescaped;
        let candidate = if trimmed.contains("\\:") {
            unescaped = trimmed.replace("\\:", ":");
            unescaped.as_str()
        } else {
            trimmed
        };
        if let Some(parsed) = parse_temporal(candidate) {
            return parsed;
        }
    }
    if first.is_ascii_digit() || first == b'+' || first == b'-' {
        if let Some(parsed) = parse_number(trimmed) {
            return parsed;
        }
    }
    string()
}

fn parse_temporal(s: &str) -> Option<Parsed> {
    match s.len() {
        10 => text::parse_date(s).and_then(|days| {
            let days = i32::try_from(days).ok()?;
            Some((Some(logical::date().into_ref()), Value::Int32(days)))
        }),
        13 => text::parse_time(s)
            .map(|ms| (Some(logical::time().into_ref()), Value::Int32(ms as i32))),
        24 => text::parse_timestamp(s)
            .map(|ms| (Some(logical::timestamp().into_ref()), Value::Int64(ms))),
        _ => None,
    }
}

/// Parses Java `BigDecimal` syntax (`[+-]digits[.digits][e[+-]digits]`) and picks the
/// narrowest type (see the module docs).
fn parse_number(tok: &str) -> Option<Parsed> {
    let b = tok.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &tok[int_start..i];
    let mut frac_digits = "";
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &tok[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let exp_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = tok[start..i].trim_start_matches('0');
        if start == i || digits.len() > 9 {
            return None;
        }
        exp = digits.parse().unwrap_or(0);
        if exp_negative {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    // value = all_digits × 10^-scale, as Java's BigDecimal.
    let scale = frac_digits.len() as i64 - exp;
    let scale = i32::try_from(scale).ok()?;
    let all_digits = format!("{int_digits}{frac_digits}");
    let significant = all_digits.trim_start_matches('0');
    if significant.is_empty() {
        return Some((Some(Schema::int8()), Value::Int8(0)));
    }
    let stripped = significant.trim_end_matches('0');
    let trailing = (significant.len() - stripped.len()) as i64;
    // value = stripped × 10^e, with |value| in [10^magnitude, 10^(magnitude+1))
    let e = trailing - i64::from(scale);
    let magnitude = stripped.len() as i64 - 1 + e;
    let above_1e19 = magnitude > 19 || (magnitude == 19 && stripped != "1");
    if e >= 0 && magnitude >= 0 && !above_1e19 {
        let mut v: i128 = stripped.parse().ok()?;
        for _ in 0..e {
            v *= 10;
        }
        if negative {
            v = -v;
        }
        if let Ok(v) = i64::try_from(v) {
            return Some(if let Ok(v) = i8::try_from(v) {
                (Some(Schema::int8()), Value::Int8(v))
            } else if let Ok(v) = i16::try_from(v) {
                (Some(Schema::int16()), Value::Int16(v))
            } else if let Ok(v) = i32::try_from(v) {
                (Some(Schema::int32()), Value::Int32(v))
            } else {
                (Some(Schema::int64()), Value::Int64(v))
            });
        }
    }
    if scale != 0 {
        let f64v: f64 = tok.parse().ok()?;
        let f32v: f32 = tok.parse().ok()?;
        if f32v.is_finite() && f32v.to_string().parse::<f64>().ok() == Some(f64v) {
            return Some((Some(Schema::float32()), Value::Float32(f32v)));
        }
        if f64v.is_finite() {
            return Some((Some(Schema::float64()), Value::Float64(f64v)));
        }
    }
    let mut unscaled: i128 = significant.parse().ok()?;
    if negative {
        unscaled = -unscaled;
    }
    Some((
        Some(logical::decimal(scale).into_ref()),
        Value::Bytes(logical::decimal_bytes(unscaled)),
    ))
}

/// The common schema of a list's elements (or a map's keys or values).
enum Common {
    /// Only nulls so far.
    Empty,
    Schema(SchemaRef),
    Incompatible,
}

fn numeric_rank(schema: &Schema) -> Option<u8> {
    if schema.name.is_some() {
        return None;
    }
    Some(match schema.type_ {
        Type::Int8 => 0,
        Type::Int16 => 1,
        Type::Int32 => 2,
        Type::Int64 => 3,
        Type::Float32 => 4,
        Type::Float64 => 5,
        _ => return None,
    })
}

struct Merger {
    common: Common,
    has_null: bool,
}

impl Merger {
    fn new() -> Merger {
        Merger {
            common: Common::Empty,
            has_null: false,
        }
    }

    fn add(&mut self, schema: Option<&SchemaRef>, value: &Value) {
        if value.is_null() {
            self.has_null = true;
            return;
        }
        let Some(schema) = schema else {
            self.common = Common::Incompatible;
            return;
        };
        self.common = match std::mem::replace(&mut self.common, Common::Empty) {
            Common::Empty => Common::Schema(schema.clone()),
            Common::Incompatible => Common::Incompatible,
            Common::Schema(prev) => {
                if prev == *schema {
                    Common::Schema(prev)
                } else {
                    match (numeric_rank(&prev), numeric_rank(schema)) {
                        (Some(a), Some(b)) => {
                            Common::Schema(if a >= b { prev } else { schema.clone() })
                        }
                        _ => Common::Incompatible,
                    }
                }
            }
        };
    }

    /// The element schema (optional when a null was seen), if all elements share one.
    fn schema(&self) -> Option<SchemaRef> {
        match &self.common {
            Common::Schema(s) if self.has_null && !s.optional => {
                Some(Schema::clone(s).optional().into_ref())
            }
            Common::Schema(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Converts a number to a wider numeric type.
fn widen(value: Value, to: Type) -> Value {
    let (int, float) = match value {
        Value::Int8(v) => (i64::from(v), f64::from(v)),
        Value::Int16(v) => (i64::from(v), f64::from(v)),
        Value::Int32(v) => (i64::from(v), f64::from(v)),
        Value::Int64(v) => (v, v as f64),
        Value::Float32(v) if to == Type::Float64 => return Value::Float64(f64::from(v)),
        other => return other,
    };
    match to {
        Type::Int16 => Value::Int16(int as i16),
        Type::Int32 => Value::Int32(int as i32),
        Type::Int64 => Value::Int64(int),
        Type::Float32 => Value::Float32(float as f32),
        Type::Float64 => Value::Float64(float),
        _ => Value::Int64(int),
    }
}

fn align(value: Value, schema: &Schema) -> Value {
    match value.type_() {
        Some(t) if t != schema.type_ => widen(value, schema.type_),
        _ => value,
    }
}

/// Parser for values nested in lists and maps.
struct Embedded<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Embedded<'a> {
    fn new(s: &'a str) -> Embedded<'a> {
        Embedded {
            s,
            b: s.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn element(&mut self) -> Result<Parsed, ()> {
        self.ws();
        match self.peek() {
            None => Err(()),
            Some(b'"') => self.quoted(),
            Some(b'[') => self.nested(Self::list),
            Some(b'{') => self.nested(Self::map),
            Some(_) => self.token(),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Parsed, ()>) -> Result<Parsed, ()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(());
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn quoted(&mut self) -> Result<Parsed, ()> {
        self.pos += 1;
        let mut content = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(()),
                Some(b'"') => {
                    content.push_str(&self.s[run..self.pos]);
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    content.push_str(&self.s[run..self.pos]);
                    self.pos += 1;
                    let c = self.s[self.pos..].chars().next().ok_or(())?;
                    content.push(c);
                    self.pos += c.len_utf8();
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
        if content.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            if let Some(parsed) = parse_temporal(&content) {
                return Ok(parsed);
            }
        }
        Ok((Some(Schema::string()), Value::String(content)))
    }

    fn is_delimiter(c: u8) -> bool {
        matches!(c, b',' | b']' | b'}' | b':' | b'[' | b'{' | b'"')
    }

    fn token(&mut self) -> Result<Parsed, ()> {
        let rest = &self.s[self.pos..];
        if rest.as_bytes()[0].is_ascii_digit() {
            // Times and timestamps contain ':' and so are matched before splitting.
            for len in [24, 13] {
                if let Some(candidate) = rest.get(..len) {
                    let ends = rest
                        .as_bytes()
                        .get(len)
                        .is_none_or(|&c| Self::is_delimiter(c) || c.is_ascii_whitespace());
                    if ends {
                        if let Some(parsed) = parse_temporal(candidate) {
                            self.pos += len;
                            return Ok(parsed);
                        }
                    }
                }
            }
        }
        let start = self.pos;
        while self.pos < self.b.len() && !Self::is_delimiter(self.b[self.pos]) {
            self.pos += 1;
        }
        let tok = self.s[start..self.pos].trim();
        match tok {
            "" => Err(()),
            "null" => Ok((None, Value::Null)),
            "true" => Ok((Some(Schema::boolean()), Value::Boolean(true))),
            "false" => Ok((Some(Schema::boolean()), Value::Boolean(false))),
            _ => {
                let first = tok.as_bytes()[0];
                if first.is_ascii_digit() {
                    if let Some(parsed) = parse_temporal(tok) {
                        return Ok(parsed);
                    }
                }
                if first.is_ascii_digit() || first == b'+' || first == b'-' {
                    return parse_number(tok).ok_or(());
                }
                Err(())
            }
        }
    }

    fn list(&mut self) -> Result<Parsed, ()> {
        self.pos += 1;
        let mut items: Vec<Value> = Vec::new();
        let mut merger = Merger::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                let (schema, value) = self.element()?;
                merger.add(schema.as_ref(), &value);
                items.push(value);
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(()),
                }
            }
        }
        Ok(match merger.schema() {
            Some(item_schema) => {
                let items = items.into_iter().map(|v| align(v, &item_schema)).collect();
                (
                    Some(Schema::array(item_schema).into_ref()),
                    Value::Array(items),
                )
            }
            None => (None, Value::Array(items)),
        })
    }

    fn map(&mut self) -> Result<Parsed, ()> {
        self.pos += 1;
        let mut entries: Vec<(Value, Value)> = Vec::new();
        let mut keys = Merger::new();
        let mut values = Merger::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                let (key_schema, key) = self.element()?;
                if key.is_null() {
                    return Err(());
                }
                self.ws();
                if self.peek() != Some(b':') {
                    return Err(());
                }
                self.pos += 1;
                let (value_schema, value) = self.element()?;
                keys.add(key_schema.as_ref(), &key);
                values.add(value_schema.as_ref(), &value);
                entries.push((key, value));
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(()),
                }
            }
        }
        Ok(match (keys.schema(), values.schema()) {
            (Some(ks), Some(vs)) => {
                let entries = entries
                    .into_iter()
                    .map(|(k, v)| (align(k, &ks), align(v, &vs)))
                    .collect();
                (Some(Schema::map(ks, vs).into_ref()), Value::Map(entries))
            }
            _ => (None, Value::Map(entries)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_connector_api::Struct;

    fn write(schema: Option<&SchemaRef>, value: &Value) -> Option<String> {
        SimpleHeaderConverter
            .from_connect_header("t", "h", schema, value)
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    }

    fn read(text: &str) -> Parsed {
        SimpleHeaderConverter
            .to_connect_header("t", "h", Some(text.as_bytes()))
            .unwrap()
    }

    fn s(schema: Schema) -> Option<SchemaRef> {
        Some(schema.into_ref())
    }

    #[test]
    fn writes_text() {
        assert_eq!(write(None, &Value::Null), None);
        assert_eq!(write(Some(&Schema::optional_string()), &Value::Null), None);
        assert_eq!(write(None, &Value::from("a \"b\"")).unwrap(), "a \"b\"");
        assert_eq!(write(None, &Value::Int8(-1)).unwrap(), "-1");
        assert_eq!(
            write(None, &Value::Int64(5_000_000_000)).unwrap(),
            "5000000000"
        );
        assert_eq!(write(None, &Value::Float32(1.5)).unwrap(), "1.5");
        assert_eq!(write(None, &Value::Float64(1e-5)).unwrap(), "1.0E-5");
        assert_eq!(write(None, &Value::Boolean(false)).unwrap(), "false");
        assert_eq!(write(None, &Value::Bytes(vec![0, 0xC2])).unwrap(), "AMI=");
        let dec = logical::decimal(2).into_ref();
        assert_eq!(
            write(Some(&dec), &Value::Bytes(vec![0, 0xC2])).unwrap(),
            "1.94"
        );
        let date = logical::date().into_ref();
        assert_eq!(
            write(Some(&date), &Value::Int32(19_723)).unwrap(),
            "2024-01-01"
        );
        let time = logical::time().into_ref();
        assert_eq!(
            write(Some(&time), &Value::Int32(45_296_789)).unwrap(),
            "12:34:56.789Z"
        );
        let ts = logical::timestamp().into_ref();
        assert_eq!(
            write(Some(&ts), &Value::Int64(1_704_067_200_000)).unwrap(),
            "2024-01-01T00:00:00.000Z"
        );
        assert_eq!(
            write(
                None,
                &Value::Array(vec![
                    Value::from("a"),
                    Value::from("b\"\\"),
                    Value::Null,
                    Value::Int32(3)
                ])
            )
            .unwrap(),
            r#"["a","b\"\\",null,3]"#
        );
        assert_eq!(
            write(
                None,
                &Value::Map(vec![
                    (Value::from("k"), Value::Int64(1)),
                    (Value::Int8(2), Value::Bytes(vec![1])),
                ])
            )
            .unwrap(),
            r#"{"k":1,2:"AQ=="}"#
        );
        let schema = Schema::struct_([
            ("id", Schema::int64()),
            ("name", Schema::optional_string()),
            (
                "n",
                Schema::new(Type::Int32)
                    .optional()
                    .with_default(Value::Int32(9))
                    .into_ref(),
            ),
            ("when", logical::date().into_ref()),
        ])
        .into_ref();
        let mut st = Struct::new(schema.clone()).unwrap();
        st.put("id", Value::Int64(7)).unwrap();
        st.put("name", Value::from("x")).unwrap();
        st.put("when", Value::Int32(0)).unwrap();
        assert_eq!(
            write(Some(&schema), &Value::Struct(st)).unwrap(),
            r#"{"id":7,"name":"x","n":9,"when":1970-01-01}"#
        );
        let err = SimpleHeaderConverter
            .from_connect_header("t", "h", Some(&Schema::int32()), &Value::from("x"))
            .unwrap_err();
        assert!(err.to_string().contains("header 'h'"), "{err}");
    }

    #[test]
    fn reads_scalars_with_narrowest_type() {
        assert_eq!(
            SimpleHeaderConverter
                .to_connect_header("t", "h", None)
                .unwrap(),
            (None, Value::Null)
        );
        assert_eq!(read("null"), (None, Value::Null));
        assert_eq!(read(""), (s(Schema::new(Type::String)), Value::from("")));
        assert_eq!(
            read("true"),
            (s(Schema::new(Type::Boolean)), Value::Boolean(true))
        );
        assert_eq!(
            read(" false "),
            (s(Schema::new(Type::Boolean)), Value::Boolean(false))
        );
        assert_eq!(read("42"), (s(Schema::new(Type::Int8)), Value::Int8(42)));
        assert_eq!(
            read("-129"),
            (s(Schema::new(Type::Int16)), Value::Int16(-129))
        );
        assert_eq!(
            read("70000"),
            (s(Schema::new(Type::Int32)), Value::Int32(70_000))
        );
        assert_eq!(
            read("5000000000"),
            (s(Schema::new(Type::Int64)), Value::Int64(5_000_000_000))
        );
        assert_eq!(read("+7"), (s(Schema::new(Type::Int8)), Value::Int8(7)));
        assert_eq!(read("1.0"), (s(Schema::new(Type::Int8)), Value::Int8(1)));
        assert_eq!(
            read("1e5"),
            (s(Schema::new(Type::Int32)), Value::Int32(100_000))
        );
        assert_eq!(read("0.000"), (s(Schema::new(Type::Int8)), Value::Int8(0)));
        assert_eq!(
            read("1.5"),
            (s(Schema::new(Type::Float32)), Value::Float32(1.5))
        );
        assert_eq!(
            read("0.1"),
            (s(Schema::new(Type::Float32)), Value::Float32(0.1))
        );
        assert_eq!(
            read("3.141592653589793"),
            (
                s(Schema::new(Type::Float64)),
                Value::Float64(std::f64::consts::PI)
            )
        );
        assert_eq!(
            read("1.0E-5"),
            (s(Schema::new(Type::Float32)), Value::Float32(1e-5))
        );
        assert_eq!(
            read("12345678901234567890"),
            (
                s(logical::decimal(0)),
                Value::Bytes(logical::decimal_bytes(12_345_678_901_234_567_890))
            )
        );
        // A huge exponent must not be expanded.
        let (schema, _) = read("407127e212797209");
        assert_eq!(schema.unwrap().name.as_deref(), Some(logical::DECIMAL));
        assert_eq!(
            read("2024-01-01"),
            (s(logical::date()), Value::Int32(19_723))
        );
        assert_eq!(
            read("12:34:56.789Z"),
            (s(logical::time()), Value::Int32(45_296_789))
        );
        assert_eq!(
            read("2024-01-02T03:04:05.123Z"),
            (s(logical::timestamp()), Value::Int64(1_704_164_645_123))
        );
        for text in [
            "hello world",
            "1,2",
            "2024-02-30",
            "12abc",
            "-",
            "+.",
            "NaN",
            "true}",
            "[1,2",
            "{bad",
            "[1,]",
            "{\"a\"}",
            "1e",
        ] {
            assert_eq!(
                read(text),
                (s(Schema::new(Type::String)), Value::from(text)),
                "{text}"
            );
        }
        assert_eq!(
            SimpleHeaderConverter
                .to_connect_header("t", "h", Some(b"\xff\x00"))
                .unwrap(),
            (s(Schema::new(Type::Bytes)), Value::Bytes(vec![0xff, 0]))
        );
    }

    #[test]
    fn reads_lists_and_maps() {
        assert_eq!(
            read("[1, 2, 3]"),
            (
                s(Schema::array(Schema::int8())),
                Value::Array(vec![Value::Int8(1), Value::Int8(2), Value::Int8(3)])
            )
        );
        assert_eq!(
            read("[1,300,1.5]"),
            (
                s(Schema::array(Schema::float32())),
                Value::Array(vec![
                    Value::Float32(1.0),
                    Value::Float32(300.0),
                    Value::Float32(1.5)
                ])
            )
        );
        assert_eq!(
            read("[1,null]"),
            (
                s(Schema::array(Schema::optional_int8())),
                Value::Array(vec![Value::Int8(1), Value::Null])
            )
        );
        assert_eq!(
            read("[1,\"a\"]"),
            (None, Value::Array(vec![Value::Int8(1), Value::from("a")]))
        );
        assert_eq!(read("[]"), (None, Value::Array(vec![])));
        assert_eq!(
            read(r#"["a\"b","c"]"#),
            (
                s(Schema::array(Schema::string())),
                Value::Array(vec![Value::from("a\"b"), Value::from("c")])
            )
        );
        assert_eq!(
            read(r#"{"a":1,"b":70000}"#),
            (
                s(Schema::map(Schema::string(), Schema::int32())),
                Value::Map(vec![
                    (Value::from("a"), Value::Int32(1)),
                    (Value::from("b"), Value::Int32(70_000)),
                ])
            )
        );
        assert_eq!(
            read(r#"{"a":[true],"b":[false,true]}"#),
            (
                s(Schema::map(
                    Schema::string(),
                    Schema::array(Schema::boolean()).into_ref()
                )),
                Value::Map(vec![
                    (Value::from("a"), Value::Array(vec![Value::Boolean(true)])),
                    (
                        Value::from("b"),
                        Value::Array(vec![Value::Boolean(false), Value::Boolean(true)])
                    ),
                ])
            )
        );
        assert_eq!(
            read(r#"{"a":1,"b":"x"}"#),
            (
                None,
                Value::Map(vec![
                    (Value::from("a"), Value::Int8(1)),
                    (Value::from("b"), Value::from("x"))
                ])
            )
        );
        assert_eq!(
            read("[2024-01-02T03:04:05.123Z,12:00:00.000Z]"),
            (
                None,
                Value::Array(vec![
                    Value::Int64(1_704_164_645_123),
                    Value::Int32(43_200_000)
                ])
            )
        );
        assert_eq!(
            read("{12:00:00.000Z:1}"),
            (
                s(Schema::map(logical::time().into_ref(), Schema::int8())),
                Value::Map(vec![(Value::Int32(43_200_000), Value::Int8(1))])
            )
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let depth = MAX_DEPTH;
        let deep = "[".repeat(depth) + &"]".repeat(depth);
        let (schema, value) = read(&deep);
        assert_eq!(schema, None);
        assert_eq!(write(None, &value).unwrap(), deep);
        let too_deep = "[".repeat(depth + 1) + &"]".repeat(depth + 1);
        assert_eq!(read(&too_deep).1, Value::String(too_deep.clone()));
    }

    #[test]
    fn round_trips() {
        let list = Schema::array(Schema::int32()).into_ref();
        let map = Schema::map(Schema::string(), Schema::string()).into_ref();
        let dates = Schema::array(logical::date().into_ref()).into_ref();
        let cases: Vec<(SchemaRef, Value)> = vec![
            (
                Schema::string(),
                Value::from("plain text, with: delimiters"),
            ),
            (Schema::boolean(), Value::Boolean(true)),
            (Schema::int32(), Value::Int32(123_456)),
            (Schema::int64(), Value::Int64(-9_000_000_000)),
            (Schema::float64(), Value::Float64(0.1 + 0.2)),
            (Schema::float32(), Value::Float32(0.25)),
            (logical::date().into_ref(), Value::Int32(-365)),
            (logical::time().into_ref(), Value::Int32(1)),
            (
                logical::timestamp().into_ref(),
                Value::Int64(1_704_164_645_123),
            ),
            (
                list,
                Value::Array(vec![Value::Int32(100_000), Value::Int32(-100_000)]),
            ),
            (
                map,
                Value::Map(vec![(Value::from("k"), Value::from("v \"q\""))]),
            ),
            (
                dates,
                Value::Array(vec![Value::Int32(0), Value::Int32(19_723)]),
            ),
        ];
        for (schema, value) in cases {
            let text = write(Some(&schema), &value).unwrap();
            assert_eq!(read(&text), (Some(schema), value), "{text}");
        }
    }
}
