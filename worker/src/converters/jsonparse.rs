//! A small JSON reader for the JSON converter. It keeps number text exactly (so NUMERIC
//! decimals and wide integers lose nothing), borrows strings that need no unescaping, and can
//! validate a value without building it (the envelope's `schema`, looked up by its raw text).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use tributary_connector_api::Value;

/// Nesting limit, as Jackson's default (the same limit the plugin boundary has).
pub(crate) use tributary_connector_api::nesting::MAX_DEPTH;

/// A parsed JSON value.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    #[default]
    Null,
    Bool(bool),
    Num(Num<'a>),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    /// Members in document order; keys may repeat (the last one wins when looked up).
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// The JSON type name, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Num(n) if n.integral => "an integer",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }
}

/// A JSON number: its exact text and whether it is written as an integer (no fraction or
/// exponent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Num<'a> {
    pub(crate) text: &'a str,
    pub(crate) integral: bool,
}

/// The top level of a document read for an envelope.
pub(crate) enum Envelope<'a> {
    /// Empty or whitespace-only input.
    Empty,
    /// An object with exactly `schema` and `payload`: the raw text of the schema and the payload.
    Found { schema: &'a str, payload: Json<'a> },
    /// Valid JSON that is not an envelope; the text says what was found.
    Other(String),
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

fn source(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid JSON: not UTF-8 text (bad byte at offset {})",
            e.valid_up_to()
        )
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Parses a whole document; `None` for empty or whitespace-only input.
pub(crate) fn parse(bytes: &[u8]) -> Result<Option<Json<'_>>, String> {
    let mut p = Parser::new(source(bytes)?);
    p.ws();
    if p.pos == p.b.len() {
        return Ok(None);
    }
    let value = p.value::<Tree>()?;
    p.end()?;
    Ok(Some(value))
}

/// Parses a whole document straight into a schemaless Connect value: integers → Int64 (an
/// error if wider than 64 bits), other numbers → Float64, objects → maps with string keys
/// (a repeated key keeps its first position and last value), arrays → arrays. Empty or
/// whitespace-only input is null.
pub(crate) fn parse_schemaless(bytes: &[u8]) -> Result<Value, String> {
    let mut p = Parser::new(source(bytes)?);
    p.ws();
    if p.pos == p.b.len() {
        return Ok(Value::Null);
    }
    let value = p.value::<Schemaless>()?;
    p.end()?;
    Ok(value)
}

/// What the parser builds from each JSON element.
trait Build<'a> {
    type Out;
    type Key;
    fn null() -> Self::Out;
    fn boolean(b: bool) -> Self::Out;
    fn number(n: Num<'a>) -> Result<Self::Out, String>;
    fn string(s: Cow<'a, str>) -> Self::Out;
    fn key(s: Cow<'a, str>) -> Self::Key;
    fn array(items: Vec<Self::Out>) -> Self::Out;
    fn object(members: Vec<(Self::Key, Self::Out)>) -> Self::Out;
}

/// Builds a [`Json`] tree.
struct Tree;

impl<'a> Build<'a> for Tree {
    type Out = Json<'a>;
    type Key = Cow<'a, str>;
    fn null() -> Json<'a> {
        Json::Null
    }
    fn boolean(b: bool) -> Json<'a> {
        Json::Bool(b)
    }
    fn number(n: Num<'a>) -> Result<Json<'a>, String> {
        Ok(Json::Num(n))
    }
    fn string(s: Cow<'a, str>) -> Json<'a> {
        Json::Str(s)
    }
    fn key(s: Cow<'a, str>) -> Cow<'a, str> {
        s
    }
    fn array(items: Vec<Json<'a>>) -> Json<'a> {
        Json::Arr(items)
    }
    fn object(members: Vec<(Cow<'a, str>, Json<'a>)>) -> Json<'a> {
        Json::Obj(members)
    }
}

/// Only checks the syntax (nothing is allocated: `Vec<()>` never allocates).
struct Skip;

impl<'a> Build<'a> for Skip {
    type Out = ();
    type Key = ();
    fn null() {}
    fn boolean(_: bool) {}
    fn number(_: Num<'a>) -> Result<(), String> {
        Ok(())
    }
    fn string(_: Cow<'a, str>) {}
    fn key(_: Cow<'a, str>) {}
    fn array(_: Vec<()>) {}
    fn object(_: Vec<((), ())>) {}
}

/// Builds a schemaless Connect value.
struct Schemaless;

impl<'a> Build<'a> for Schemaless {
    type Out = Value;
    type Key = Value;
    fn null() -> Value {
        Value::Null
    }
    fn boolean(b: bool) -> Value {
        Value::Boolean(b)
    }
    fn number(n: Num<'a>) -> Result<Value, String> {
        if n.integral {
            n.text
                .parse()
                .map(Value::Int64)
                .map_err(|_| format!("integer {} does not fit in 64 bits (int64)", n.text))
        } else {
            n.text
                .parse()
                .map(Value::Float64)
                .map_err(|_| format!("invalid number {}", n.text))
        }
    }
    fn string(s: Cow<'a, str>) -> Value {
        Value::String(s.into_owned())
    }
    fn key(s: Cow<'a, str>) -> Value {
        Value::String(s.into_owned())
    }
    fn array(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
    fn object(members: Vec<(Value, Value)>) -> Value {
        Value::Map(dedup_by_key(members, |k| k.as_str().unwrap_or_default()))
    }
}

/// Merges repeated keys as Jackson does: the first position, the last value.
pub(crate) fn dedup_by_key<K, V>(members: Vec<(K, V)>, name: impl Fn(&K) -> &str) -> Vec<(K, V)> {
    let n = members.len();
    let has_dup = if n < 2 {
        false
    } else if n <= 16 {
        (1..n).any(|i| {
            let key = name(&members[i].0);
            members[..i].iter().any(|(k, _)| name(k) == key)
        })
    } else {
        let mut seen = HashSet::with_capacity(n);
        !members.iter().all(|(k, _)| seen.insert(name(k)))
    };
    if !has_dup {
        return members;
    }
    let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
    let mut out: Vec<(K, V)> = Vec::with_capacity(n);
    for (k, v) in members {
        match index.get(name(&k)) {
            Some(&i) => out[i].1 = v,
            None => {
                index.insert(name(&k).to_owned(), out.len());
                out.push((k, v));
            }
        }
    }
    out
}

/// Parses a whole document that should be a `{"schema": …, "payload": …}` envelope. The schema
/// is only validated, not built; its raw text is returned. `known_schema` is the text of an
/// object seen (and validated) before: when the schema starts with exactly that text it is
/// taken without scanning it again (an object's text ends at its closing brace, so an equal
/// prefix is the whole value).
pub(crate) fn parse_envelope<'a>(
    bytes: &'a [u8],
    known_schema: Option<&str>,
) -> Result<Envelope<'a>, String> {
    let known_schema = known_schema.filter(|k| k.starts_with('{') && k.ends_with('}'));
    let mut p = Parser::new(source(bytes)?);
    p.ws();
    let Some(&first) = p.b.get(p.pos) else {
        return Ok(Envelope::Empty);
    };
    if first != b'{' {
        let found = p.value::<Tree>()?;
        p.end()?;
        return Ok(Envelope::Other(found.kind().to_owned()));
    }
    p.pos += 1;
    p.depth = 1;
    let mut schema = None;
    let mut payload = None;
    let mut others: Vec<String> = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.pos += 1;
    } else {
        loop {
            p.ws();
            if p.peek() != Some(b'"') {
                return Err(p.err("expected a field name"));
            }
            let key = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            match key.as_ref() {
                "schema" => {
                    let start = p.pos;
                    match known_schema {
                        Some(known) if p.src[start..].starts_with(known) => p.pos += known.len(),
                        _ => p.value::<Skip>()?,
                    }
                    schema = Some(&p.src[start..p.pos]);
                }
                "payload" => payload = Some(p.value::<Tree>()?),
                other => {
                    if !others.iter().any(|o| o == other) {
                        others.push(other.to_owned());
                    }
                    p.value::<Skip>()?;
                }
            }
            p.ws();
            match p.next_byte() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(p.err_back("expected ',' or '}' in object")),
            }
        }
    }
    p.end()?;
    Ok(match (schema, payload, others.is_empty()) {
        (Some(schema), Some(payload), true) => Envelope::Found { schema, payload },
        (schema, payload, _) => {
            let mut missing = Vec::new();
            if schema.is_none() {
                missing.push("\"schema\"");
            }
            if payload.is_none() {
                missing.push("\"payload\"");
            }
            let mut what = String::from("an object");
            if !missing.is_empty() {
                what.push_str(&format!(" without {}", missing.join(" and ")));
            }
            if !others.is_empty() {
                let shown: Vec<String> = others.iter().take(5).map(|o| format!("{o:?}")).collect();
                what.push_str(&format!(
                    "{} with other fields ({}{})",
                    if missing.is_empty() { "" } else { " and" },
                    shown.join(", "),
                    if others.len() > 5 { ", …" } else { "" }
                ));
            }
            Envelope::Other(what)
        }
    })
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn err(&self, what: &str) -> String {
        format!("invalid JSON at offset {}: {what}", self.pos)
    }

    fn err_back(&self, what: &str) -> String {
        format!(
            "invalid JSON at offset {}: {what}",
            self.pos.saturating_sub(1)
        )
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let c = self.b.get(self.pos).copied();
        self.pos += 1;
        c
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn end(&mut self) -> Result<(), String> {
        self.ws();
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(self.err("unexpected data after the JSON value"))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("unexpected character"))
        }
    }

    /// Parses one value into what `B` builds.
    fn value<B: Build<'a>>(&mut self) -> Result<B::Out, String> {
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object::<B>(),
            Some(b'[') => self.array::<B>(),
            Some(b'"') => Ok(B::string(self.string()?)),
            Some(b't') => self.literal("true").map(|()| B::boolean(true)),
            Some(b'f') => self.literal("false").map(|()| B::boolean(false)),
            Some(b'n') => self.literal("null").map(|()| B::null()),
            Some(b'-' | b'0'..=b'9') => {
                let at = self.pos;
                let n = self.number()?;
                B::number(n).map_err(|e| format!("{e} (at offset {at})"))
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(self.err(&format!("nesting deeper than {MAX_DEPTH} levels")))
        } else {
            Ok(())
        }
    }

    fn array<B: Build<'a>>(&mut self) -> Result<B::Out, String> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                items.push(self.value::<B>()?);
                self.ws();
                match self.next_byte() {
                    Some(b',') => continue,
                    Some(b']') => break,
                    _ => return Err(self.err_back("expected ',' or ']' in array")),
                }
            }
        }
        self.depth -= 1;
        Ok(B::array(items))
    }

    fn object<B: Build<'a>>(&mut self) -> Result<B::Out, String> {
        self.enter()?;
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.err("expected a field name"));
                }
                let key = B::key(self.string()?);
                self.ws();
                self.expect(b':')?;
                self.ws();
                let value = self.value::<B>()?;
                members.push((key, value));
                self.ws();
                match self.next_byte() {
                    Some(b',') => continue,
                    Some(b'}') => break,
                    _ => return Err(self.err_back("expected ',' or '}' in object")),
                }
            }
        }
        self.depth -= 1;
        Ok(B::object(members))
    }

    fn number(&mut self) -> Result<Num<'a>, String> {
        let start = self.pos;
        let mut integral = true;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            integral = false;
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("invalid number: expected a digit after '.'"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            integral = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("invalid number: expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(Num {
            text: &self.src[start..self.pos],
            integral,
        })
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let part = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let mut n = 0u32;
        for &c in part {
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid \\u escape"))?;
            n = n * 16 + d;
        }
        self.pos += 4;
        Ok(n)
    }

    /// A string literal; `pos` is at the opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>, String> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.b.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    let s = &self.src[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => return Err(self.err("unescaped control character in string")),
                Some(_) => self.pos += 1,
            }
        }
        let mut owned = String::with_capacity(self.pos - start + 16);
        owned.push_str(&self.src[start..self.pos]);
        loop {
            match self.b.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(e) = self.next_byte() else {
                        return Err(self.err("unterminated string"));
                    };
                    match e {
                        b'"' => owned.push('"'),
                        b'\\' => owned.push('\\'),
                        b'/' => owned.push('/'),
                        b'b' => owned.push('\u{8}'),
                        b'f' => owned.push('\u{c}'),
                        b'n' => owned.push('\n'),
                        b'r' => owned.push('\r'),
                        b't' => owned.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = match hi {
                                0xD800..=0xDBFF => {
                                    if !self.b[self.pos..].starts_with(b"\\u") {
                                        return Err(self.err("unpaired surrogate in \\u escape"));
                                    }
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return Err(self.err("unpaired surrogate in \\u escape"));
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                }
                                0xDC00..=0xDFFF => {
                                    return Err(self.err("unpaired surrogate in \\u escape"))
                                }
                                _ => hi,
                            };
                            owned.push(
                                char::from_u32(cp).ok_or_else(|| self.err("invalid \\u escape"))?,
                            );
                        }
                        _ => return Err(self.err_back("invalid escape in string")),
                    }
                }
                Some(0..=0x1f) => return Err(self.err("unescaped control character in string")),
                Some(_) => {
                    let run = self.pos;
                    while let Some(&c) = self.b.get(self.pos) {
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    owned.push_str(&self.src[run..self.pos]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Json<'_> {
        parse(s.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn parses_values() {
        assert_eq!(
            p(r#" {"a": [1, -2.5e3, true, null], "b\n": "x\u00e9\ud83d\ude00"} "#),
            Json::Obj(vec![
                (
                    Cow::Borrowed("a"),
                    Json::Arr(vec![
                        Json::Num(Num {
                            text: "1",
                            integral: true
                        }),
                        Json::Num(Num {
                            text: "-2.5e3",
                            integral: false
                        }),
                        Json::Bool(true),
                        Json::Null,
                    ])
                ),
                (Cow::Owned("b\n".into()), Json::Str("xé😀".into())),
            ])
        );
        assert!(parse(b"  ").unwrap().is_none());
        assert!(parse(b"\xEF\xBB\xBF1").unwrap().is_some());
    }

    #[test]
    fn rejects_bad_json() {
        for bad in [
            "{",
            "[1,]",
            "01",
            "1.",
            "-",
            "\"a",
            "\"\\x\"",
            "\"\\ud800\"",
            "tru",
            "{\"a\" 1}",
            "[1] 2",
            "\"\u{1}\"",
            "{1:2}",
            "nul",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse(b"\xff").unwrap_err().contains("UTF-8"));
        let err = parse(b"[1, 2 3]").unwrap_err();
        assert!(err.contains("offset 6"), "{err}");
    }

    #[test]
    fn nesting_limit() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(deep.as_bytes()).is_ok());
        let too_deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(too_deep.as_bytes()).unwrap_err().contains("nesting"));
    }

    #[test]
    fn envelopes() {
        match parse_envelope(br#"{"payload": 5, "schema": {"type": "int32"} }"#, None).unwrap() {
            Envelope::Found { schema, payload } => {
                assert_eq!(schema, r#"{"type": "int32"}"#);
                assert_eq!(
                    payload,
                    Json::Num(Num {
                        text: "5",
                        integral: true
                    })
                );
            }
            _ => panic!(),
        }
        let what = |s: &str| match parse_envelope(s.as_bytes(), None).unwrap() {
            Envelope::Other(w) => w,
            _ => panic!("{s}"),
        };
        assert_eq!(what("[1]"), "an array");
        assert_eq!(
            what(r#"{"a":1}"#),
            r#"an object without "schema" and "payload" and with other fields ("a")"#
        );
        assert_eq!(
            what(r#"{"schema":null,"payload":1,"x":2}"#),
            r#"an object with other fields ("x")"#
        );
        assert!(matches!(
            parse_envelope(b"", None).unwrap(),
            Envelope::Empty
        ));
        assert!(parse_envelope(br#"{"schema":{"type":},"payload":1}"#, None).is_err());
        // A known schema text is taken as is; a different one is still checked.
        let known = Some(r#"{"type":"int8"}"#);
        match parse_envelope(br#"{"schema":{"type":"int8"},"payload":1}"#, known).unwrap() {
            Envelope::Found { schema, .. } => assert_eq!(schema, r#"{"type":"int8"}"#),
            _ => panic!(),
        }
        assert!(parse_envelope(br#"{"schema":{"type":"int8"}},"payload":1}"#, known).is_err());
        assert!(parse_envelope(br#"{"schema":{"type":"int8",},"payload":1}"#, known).is_err());
    }
}
