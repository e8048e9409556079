//! The text form of Connect values in Kafka's `Values` class: what `SimpleHeaderConverter`
//! writes and reads, and how `InsertHeader` parses its literal.
//!
//! Write ([`push_text`]): strings as they are; numbers and booleans as text (floats as Java prints them:
//! `1.5`, `1.0E10`); bytes as base64; Decimal as Java's `BigDecimal.toString`; Date
//! `yyyy-MM-dd`, Time `HH:mm:ss.SSS'Z'`, Timestamp `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (UTC); arrays
//! `[a,b]`, maps `{k:v}` and structs `{"field":v}`, where nested strings and bytes are quoted
//! (with `\` and `"` escaped by a backslash) and other values are not. Null is null bytes.
//!
//! Read ([`parse_text`]) infers the narrowest type, as Kafka's `Values.parseString`:
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

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::java_text;
use crate::logical::{self, DATE, DECIMAL, TIME, TIMESTAMP};
use crate::schema::{Schema, SchemaRef, Type};
use crate::value::Value;

/// Lists and maps nested deeper than this are read as plain strings.
pub use crate::nesting::MAX_DEPTH;

/// Appends the text of a value (a top-level string as it is; null as `null`).
pub fn push_text(out: &mut String, schema: Option<&SchemaRef>, value: &Value) {
    append(out, schema, value, false);
}

fn push_int(out: &mut String, n: i64) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

fn logical_name(schema: Option<&SchemaRef>) -> Option<&str> {
    schema.and_then(|s| s.name.as_deref())
}

/// Appends a value's text; `embedded` inside lists, maps and structs.
fn append(out: &mut String, schema: Option<&SchemaRef>, value: &Value, embedded: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => push_int(out, i64::from(*v)),
        Value::Int16(v) => push_int(out, i64::from(*v)),
        Value::Int32(v) => match logical_name(schema) {
            Some(DATE) => java_text::push_iso_date(out, i64::from(*v)),
            Some(TIME) => java_text::push_iso_time(out, i64::from(*v)),
            _ => push_int(out, i64::from(*v)),
        },
        Value::Int64(v) => match logical_name(schema) {
            Some(TIMESTAMP) => java_text::push_iso_timestamp(out, *v),
            _ => push_int(out, *v),
        },
        Value::Float32(v) => java_text::push_f32(out, *v),
        Value::Float64(v) => java_text::push_f64(out, *v),
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
                Some((scale, unscaled)) => java_text::push_big_decimal(out, unscaled, scale),
                None if embedded => {
                    out.push('"');
                    STANDARD.encode_string(b, out);
                    out.push('"');
                }
                None => STANDARD.encode_string(b, out),
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

/// A schema (`None` for null) and value read from text.
pub type Parsed = (Option<SchemaRef>, Value);

/// Infers the schema and value of a header's text.
pub fn parse_text(text: &str) -> Parsed {
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
        10 => java_text::parse_iso_date(s).and_then(|days| {
            let days = i32::try_from(days).ok()?;
            Some((Some(logical::date().into_ref()), Value::Int32(days)))
        }),
        13 => java_text::parse_iso_time(s)
            .map(|ms| (Some(logical::time().into_ref()), Value::Int32(ms as i32))),
        24 => java_text::parse_iso_timestamp(s)
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
