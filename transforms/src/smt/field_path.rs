//! Field paths of KIP-821 (Kafka 3.8+): the `field.syntax.version` key and the paths it
//! selects (Java's `FieldSyntaxVersion` and `SingleFieldPath`).
//!
//! * `V1` (the default): the configured text is the name of one top-level field, dots and
//!   backticks included.
//! * `V2`: the text is a dotted path into nested structs (with a schema) or maps (without).
//!   A step wrapped in backticks may contain dots: `` `a.b`.c `` is the field `c` inside the
//!   field `a.b`. Inside such a step a backtick that is followed by a dot and preceded by a
//!   backslash stands for a literal backtick; any other backtick that is not followed by a dot
//!   (or the end of the text) is kept as it is. An opening backtick without a matching closing
//!   one is a config error. Empty steps are kept (`a..b` has three steps, the middle one `""`).
//!
//! This module also carries the two Struct rules of Java's Connect API that the path lookups
//! and several transformations need: reading a field with or without its schema default
//! ([`struct_get`]) and the null check of `Struct.put` ([`check_put`]).

use tributary_connector_api::config::{Config, ConfigError, Validator};
use tributary_connector_api::{
    ConfigKey, ConfigType, Field, Importance, Schema, Struct, Type, Value,
};

use crate::config;
use crate::error::TransformError;
use crate::schema_util::{map_get, require_map, require_struct};

/// The config key that selects the path syntax.
pub const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

/// The purpose named in errors about a nested step that is not a struct or map.
const NESTED_PURPOSE: &str = "nested field access";

/// How a configured field name is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FieldSyntaxVersion {
    /// The whole text is one top-level field name.
    #[default]
    V1,
    /// Dotted paths into nested data, backticks quoting steps that contain dots.
    V2,
}

impl FieldSyntaxVersion {
    /// `V1` or `V2`, as written in the config.
    pub fn name(self) -> &'static str {
        match self {
            FieldSyntaxVersion::V1 => "V1",
            FieldSyntaxVersion::V2 => "V2",
        }
    }

    /// Reads a config value: `V1` or `V2` in any letter case, surrounding blanks ignored.
    pub fn parse(text: &str) -> Option<FieldSyntaxVersion> {
        let text = text.trim();
        [FieldSyntaxVersion::V1, FieldSyntaxVersion::V2]
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(text))
    }

    /// The `field.syntax.version` key (STRING, default `V1`, one of `V1`/`V2` ignoring case),
    /// to append to a transformation's config definition.
    pub fn config_key() -> ConfigKey {
        config::with_default(
            FIELD_SYNTAX_VERSION,
            ConfigType::String,
            FieldSyntaxVersion::V1.name(),
            Importance::High,
            "The syntax of field names. With V1 a field name can only refer to a field at the \
             top level of the struct or map. With V2 nested fields are reached with dots \
             between the names of the enclosing fields, and a name that itself contains dots \
             is wrapped in backticks: to read the field baz inside a field called \"foo.bar\", \
             write \"`foo.bar`.baz\".",
        )
        .validator(Validator::OneOf(
            vec!["V1".to_owned(), "V2".to_owned()],
            true,
        ))
    }

    /// The version a parsed config selects.
    pub fn from_config(cfg: &Config) -> Result<FieldSyntaxVersion, ConfigError> {
        let raw = cfg
            .get(FIELD_SYNTAX_VERSION)
            .unwrap_or(FieldSyntaxVersion::V1.name());
        FieldSyntaxVersion::parse(raw).ok_or_else(|| {
            config::invalid(
                FIELD_SYNTAX_VERSION,
                raw,
                "Unrecognized field syntax version",
            )
        })
    }
}

impl std::fmt::Display for FieldSyntaxVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A path of one or more field names (steps) into a Struct or a schemaless map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleFieldPath {
    version: FieldSyntaxVersion,
    steps: Vec<String>,
}

impl SingleFieldPath {
    /// Parses `text` with the given syntax. `key` is the config key the text came from; an
    /// unclosed backtick (V2) is a config error naming it.
    pub fn parse(
        key: &str,
        text: &str,
        version: FieldSyntaxVersion,
    ) -> Result<SingleFieldPath, ConfigError> {
        let steps = match version {
            FieldSyntaxVersion::V1 => vec![text.to_owned()],
            FieldSyntaxVersion::V2 => parse_v2(text).map_err(|why| ConfigError {
                key: key.to_owned(),
                message: why,
            })?,
        };
        Ok(SingleFieldPath { version, steps })
    }

    /// The syntax the path was read with.
    pub fn version(&self) -> FieldSyntaxVersion {
        self.version
    }

    /// The field names, outermost first. A V2 path parsed from `""` has none.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// True when every step is the empty name (or there are none).
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(String::is_empty)
    }

    /// The steps before the last one, and the last one. Java fails on a path without steps
    /// (only V2 `""` has none) as soon as it is used.
    fn split(&self) -> Result<(&[String], &str), TransformError> {
        match self.steps.split_last() {
            Some((last, parents)) => Ok((parents, last)),
            None => Err(TransformError::new(
                "The field path is empty: it names no field",
            )),
        }
    }

    /// The field at this path in a struct schema, `None` if some step does not exist. Looking
    /// up a step in a schema that is not a struct is an error, as in Java.
    pub fn field_from<'a>(&self, schema: &'a Schema) -> Result<Option<&'a Field>, TransformError> {
        let (parents, last) = self.split()?;
        let mut current = schema;
        for step in parents {
            match struct_schema_field(current, step)? {
                Some(field) => current = &field.schema,
                None => return Ok(None),
            }
        }
        struct_schema_field(current, last)
    }

    /// The value at this path in a struct; `None` when a step names no field or a struct on
    /// the way is null (Java returns null for both, as for a null value at the end). A null
    /// struct on the way reads its schema default, if any; the last step reads its default
    /// only when `with_default` is set (`replace.null.with.default`).
    pub fn value_from_struct<'a>(
        &self,
        value: &'a Struct,
        with_default: bool,
    ) -> Result<Option<&'a Value>, TransformError> {
        let (parents, last) = self.split()?;
        let mut current = value;
        for step in parents {
            let Some(sub) = struct_get(current, step, true) else {
                return Ok(None);
            };
            if sub.is_null() {
                return Ok(None);
            }
            current = require_struct(sub, NESTED_PURPOSE)?;
        }
        Ok(struct_get(current, last, with_default))
    }

    /// The value at this path in a schemaless map (string keys), `None` if some step does not
    /// exist or a map on the way is null. A step on the way that holds neither a map nor null
    /// is an error, as in Java.
    pub fn value_from_map<'a>(
        &self,
        entries: &'a [(Value, Value)],
    ) -> Result<Option<&'a Value>, TransformError> {
        let (parents, last) = self.split()?;
        let mut current = entries;
        for step in parents {
            match map_get(current, step) {
                None | Some(Value::Null) => return Ok(None),
                Some(sub) => current = require_map(sub, NESTED_PURPOSE)?,
            }
        }
        Ok(map_get(current, last))
    }
}

impl std::fmt::Display for SingleFieldPath {
    /// The steps joined by dots (without the backtick quoting).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.steps.join("."))
    }
}

/// A field of a struct schema by name; looking into any other schema fails like Java's
/// `Schema.field`.
fn struct_schema_field<'a>(
    schema: &'a Schema,
    name: &str,
) -> Result<Option<&'a Field>, TransformError> {
    if schema.type_ != Type::Struct {
        return Err(TransformError::new(
            "Cannot look up fields on non-struct type",
        ));
    }
    Ok(schema.field(name))
}

/// The value of the field `name` of `value` (Java's `Struct.get` when `with_default`, else
/// `Struct.getWithoutDefault`): a null field whose schema has a default reads as the default.
/// `None` when the struct has no such field.
pub fn struct_get<'a>(value: &'a Struct, name: &str, with_default: bool) -> Option<&'a Value> {
    let field = value.schema().field(name)?;
    let raw = value.values().get(field.index)?;
    if with_default && raw.is_null() {
        if let Some(default) = field.schema.default.as_ref().filter(|d| !d.is_null()) {
            return Some(default);
        }
    }
    Some(raw)
}

const BACKTICK: u8 = b'`';
const DOT: u8 = b'.';
const BACKSLASH: u8 = b'\\';

/// Splits a V2 path into its steps (see the module doc for the rules).
fn parse_v2(path: &str) -> Result<Vec<String>, String> {
    let bytes = path.as_bytes();
    let len = bytes.len();
    let find = |byte: u8, from: usize| {
        bytes[from..]
            .iter()
            .position(|b| *b == byte)
            .map(|i| i + from)
    };
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < len {
        if bytes[idx] != BACKTICK {
            // A plain step runs to the next dot (or the end).
            match find(DOT, idx) {
                Some(dot) => {
                    steps.push(path[idx..dot].to_owned());
                    idx = dot + 1;
                }
                None => {
                    steps.push(path[idx..].to_owned());
                    idx = len;
                }
            }
            continue;
        }
        // A quoted step: find the backtick that closes it, i.e. one at the end of the text or
        // followed by a dot, and not escaped by a backslash.
        let opened_at = idx;
        idx += 1;
        let mut start = idx;
        let mut step = String::new();
        loop {
            let Some(tick) = find(BACKTICK, idx) else {
                return Err(incomplete_backtick(path, opened_at));
            };
            idx = tick;
            let escaped = bytes[idx - 1] == BACKSLASH;
            if idx + 1 >= len {
                if escaped {
                    return Err(incomplete_backtick(path, opened_at));
                }
                step.push_str(&path[start..idx]);
                steps.push(step);
                idx += 1;
                break;
            }
            if bytes[idx + 1] != DOT {
                // Part of the name; keep looking.
                idx += 1;
                continue;
            }
            if escaped {
                // `\`` before a dot: a literal backtick (the backslash dropped).
                step.push_str(&path[start..idx - 1]);
                step.push('`');
                idx += 1;
                start = idx;
                continue;
            }
            step.push_str(&path[start..idx]);
            steps.push(step);
            idx += 2; // past the closing backtick and its dot
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

fn incomplete_backtick(path: &str, at: usize) -> String {
    // Java reports the position in UTF-16 code units.
    let position = path[..at].encode_utf16().count();
    format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before \
         backtick at position {position} to escape it"
    )
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{ConfigDef, SchemaRef};

    use super::*;
    use crate::schema_util::check_put;
    use crate::smt::testing::{map, props, strukt};

    fn v2(text: &str) -> Vec<String> {
        SingleFieldPath::parse("field", text, FieldSyntaxVersion::V2)
            .unwrap()
            .steps()
            .to_vec()
    }

    fn v2_err(text: &str) -> ConfigError {
        SingleFieldPath::parse("field", text, FieldSyntaxVersion::V2).unwrap_err()
    }

    fn path(text: &str) -> SingleFieldPath {
        SingleFieldPath::parse("field", text, FieldSyntaxVersion::V2).unwrap()
    }

    #[test]
    fn v1_is_one_step_whatever_the_text() {
        for text in ["a.b.c", "x`y`", "p.`q.r`", "", "."] {
            let p = SingleFieldPath::parse("field", text, FieldSyntaxVersion::V1).unwrap();
            assert_eq!(p.steps(), [text.to_owned()]);
            assert_eq!(p.version(), FieldSyntaxVersion::V1);
        }
    }

    #[test]
    fn v2_splits_on_dots_and_keeps_empty_steps() {
        assert_eq!(v2("plain"), ["plain"]);
        assert_eq!(v2("a.b.c"), ["a", "b", "c"]);
        assert_eq!(v2(".."), ["", "", ""]);
        assert_eq!(v2("a.."), ["a", "", ""]);
        assert_eq!(v2(".b."), ["", "b", ""]);
        assert_eq!(v2("..c"), ["", "", "c"]);
        assert!(v2("").is_empty());
        assert!(path("").is_empty());
        assert!(path("..").is_empty());
        assert!(!path(".x").is_empty());
    }

    #[test]
    fn v2_backticks_quote_steps_with_dots() {
        assert_eq!(v2("`a.b.c`"), ["a.b.c"]);
        assert_eq!(v2("a.`b.c`"), ["a", "b.c"]);
        assert_eq!(v2("`a.b`.c"), ["a.b", "c"]);
        assert_eq!(v2("a.`b`.c"), ["a", "b", "c"]);
        assert_eq!(v2("`a.b`."), ["a.b", ""]);
        // Backticks inside a plain step are part of the name.
        assert_eq!(v2("a`b`c"), ["a`b`c"]);
        assert_eq!(v2("a.b`c.d"), ["a", "b`c", "d"]);
    }

    #[test]
    fn v2_backticks_that_do_not_close_a_step_are_kept() {
        assert_eq!(v2("a.``b.c`"), ["a", "`b.c"]);
        assert_eq!(v2("a.`b.c``"), ["a", "b.c`"]);
        assert_eq!(v2("a.`b`x.c`"), ["a", "b`x.c"]);
        assert_eq!(v2("a.``b``.c"), ["a", "`b`", "c"]);
        assert_eq!(v2("``a.b.c``"), ["`a.b.c`"]);
    }

    #[test]
    fn v2_backslash_escapes_a_closing_backtick() {
        assert_eq!(v2("a.`b\\`.c`"), ["a", "b`.c"]);
        assert_eq!(v2("a.`b.`c`"), ["a", "b.`c"]);
        assert_eq!(v2("a.`b\\`.`c`"), ["a", "b`.`c"]);
        assert_eq!(v2("a.`b\\\\`.\\`c`"), ["a", "b\\`.\\`c"]);
        // Non-ASCII names are sliced on character boundaries.
        assert_eq!(v2("`é.ü`.ß"), ["é.ü", "ß"]);
    }

    #[test]
    fn v2_unclosed_backtick_is_a_config_error() {
        for (text, position) in [
            ("`a.b.c", 0),
            ("a.`b.c", 2),
            ("ab.cd.`ef", 6),
            ("ab.cd.`ef\\`", 6),
            ("éé.`x", 3),
        ] {
            let err = v2_err(text);
            assert_eq!(err.key, "field");
            assert_eq!(
                err.message,
                format!(
                    "Incomplete backtick pair in path: [{text}], consider adding a backslash \
                     before backtick at position {position} to escape it"
                )
            );
        }
    }

    fn version_of(value: Option<&str>) -> Result<FieldSyntaxVersion, ConfigError> {
        let def = ConfigDef::new().define(FieldSyntaxVersion::config_key());
        let pairs: Vec<(&str, &str)> = value
            .map(|v| vec![(FIELD_SYNTAX_VERSION, v)])
            .unwrap_or_default();
        let cfg = config::parse(&def, &props(&pairs))?;
        FieldSyntaxVersion::from_config(&cfg)
    }

    #[test]
    fn syntax_version_config() {
        let key = FieldSyntaxVersion::config_key();
        assert_eq!(key.name, "field.syntax.version");
        assert_eq!(key.type_, ConfigType::String);
        assert_eq!(key.info().default_value.as_deref(), Some("V1"));
        assert_eq!(key.importance, Importance::High);

        assert_eq!(version_of(None), Ok(FieldSyntaxVersion::V1));
        for (text, version) in [
            ("v1", FieldSyntaxVersion::V1),
            ("V1", FieldSyntaxVersion::V1),
            ("v2", FieldSyntaxVersion::V2),
            ("V2", FieldSyntaxVersion::V2),
            (" v2 ", FieldSyntaxVersion::V2),
        ] {
            assert_eq!(version_of(Some(text)), Ok(version), "{text}");
        }
        for text in ["v3", "V 1", "v", "V 2", "2", "1", ""] {
            let err = version_of(Some(text)).unwrap_err();
            assert_eq!(err.key, FIELD_SYNTAX_VERSION, "{text}");
        }
    }

    /// `{outer: {n: int32, inner: optional {s: string}}}` with n = 7 and inner null.
    fn nested() -> (SchemaRef, SchemaRef, Value) {
        let inner = Schema::struct_([("s", Schema::string())])
            .optional()
            .into_ref();
        let outer = Schema::struct_([("n", Schema::int32()), ("inner", inner)]).into_ref();
        let root = Schema::struct_([("outer", outer.clone())]).into_ref();
        let value = strukt(
            &root,
            vec![(
                "outer",
                strukt(&outer, vec![("n", Value::Int32(7)), ("inner", Value::Null)]),
            )],
        );
        (root, outer, value)
    }

    #[test]
    fn finds_fields_in_schemas() {
        let (root, outer, _) = nested();
        let found = path("outer.n").field_from(&root).unwrap().unwrap();
        assert_eq!(found.name, "n");
        assert_eq!(found.schema, Schema::int32());
        let found = path("outer").field_from(&root).unwrap().unwrap();
        assert_eq!(found.schema, outer);
        for missing in ["no.where", "outer.none", "none", "outer.inner.none"] {
            assert_eq!(path(missing).field_from(&root).unwrap(), None, "{missing}");
        }
        // Stepping into a field that is not a struct fails, as in Java.
        assert!(path("outer.n.x").field_from(&root).is_err());
        assert!(path("a").field_from(&Schema::int32()).is_err());
        assert!(path("").field_from(&root).is_err());
    }

    #[test]
    fn finds_values_in_structs() {
        let (_, _, value) = nested();
        let Value::Struct(s) = &value else { panic!() };
        let get = |p: &str| path(p).value_from_struct(s, true).unwrap().cloned();
        assert_eq!(get("outer.n"), Some(Value::Int32(7)));
        assert_eq!(get("outer.inner"), Some(Value::Null));
        for missing in ["no.where", "outer.none", "none", "outer.inner.s"] {
            assert_eq!(get(missing), None, "{missing}");
        }
        assert!(path("").value_from_struct(s, true).is_err());
    }

    #[test]
    fn struct_defaults_on_the_way_and_at_the_end() {
        let leaf = Schema::new(Type::Int32)
            .optional()
            .with_default(Value::Int32(42))
            .into_ref();
        let mid = Schema::struct_([("leaf", leaf)]).optional().into_ref();
        let mid_default = strukt(&mid, vec![("leaf", Value::Int32(5))]);
        let mid_with_default = Schema::struct_([("leaf", mid.fields[0].schema.clone())])
            .optional()
            .with_default(mid_default.clone())
            .into_ref();
        // A struct whose `mid` field is null but has a default struct.
        let root = Schema::struct_([("mid", mid_with_default), ("plain", mid.clone())]).into_ref();
        let Value::Struct(s) = strukt(
            &root,
            vec![("plain", strukt(&mid, vec![("leaf", Value::Null)]))],
        ) else {
            panic!()
        };
        // The missing `mid` reads its default on the way, whatever the flag.
        for flag in [true, false] {
            let mid_path = path("mid.leaf");
            let got = mid_path.value_from_struct(&s, flag).unwrap().cloned();
            // The default struct is over `mid`'s schema (equal fields), with leaf = 5.
            assert_eq!(got, Some(Value::Int32(5)), "{flag}");
        }
        // The last step reads its default only with the flag.
        let p = path("plain.leaf");
        assert_eq!(
            p.value_from_struct(&s, true).unwrap(),
            Some(&Value::Int32(42))
        );
        assert_eq!(p.value_from_struct(&s, false).unwrap(), Some(&Value::Null));
    }

    #[test]
    fn finds_values_in_maps() {
        let value = map(vec![(
            "outer",
            map(vec![("n", Value::Int32(7)), ("nil", Value::Null)]),
        )]);
        let Value::Map(m) = &value else { panic!() };
        let get = |p: &str| path(p).value_from_map(m).unwrap().cloned();
        assert_eq!(get("outer.n"), Some(Value::Int32(7)));
        assert_eq!(get("outer.nil"), Some(Value::Null));
        for missing in ["no.where", "outer.none", "none", "outer.nil.x"] {
            assert_eq!(get(missing), None, "{missing}");
        }
        // A step on the way that is not a map fails.
        let err = path("outer.n.x").value_from_map(m).unwrap_err();
        assert!(err.message.contains("nested field access"), "{err}");
        assert!(path("").value_from_map(m).is_err());
        // V1 reads the whole text as one key.
        let dotted = map(vec![("a.b", Value::Int32(1))]);
        let Value::Map(d) = &dotted else { panic!() };
        let v1 = SingleFieldPath::parse("field", "a.b", FieldSyntaxVersion::V1).unwrap();
        assert_eq!(v1.value_from_map(d).unwrap(), Some(&Value::Int32(1)));
        assert_eq!(path("a.b").value_from_map(d).unwrap(), None);
        assert_eq!(
            path("`a.b`").value_from_map(d).unwrap(),
            Some(&Value::Int32(1))
        );
    }

    #[test]
    fn struct_get_and_check_put_follow_java() {
        let with_default = Schema::new(Type::Int32)
            .with_default(Value::Int32(3))
            .into_ref();
        let schema = Schema::struct_([("d", with_default.clone())]).into_ref();
        let Value::Struct(s) = strukt(&schema, vec![]) else {
            panic!()
        };
        assert_eq!(struct_get(&s, "d", true), Some(&Value::Int32(3)));
        assert_eq!(struct_get(&s, "d", false), Some(&Value::Null));
        assert_eq!(struct_get(&s, "x", true), None);
        // Required with a default: Java's put still refuses null.
        assert!(check_put("d", &with_default, &Value::Null).is_err());
        assert!(check_put("d", &Schema::optional_int32(), &Value::Null).is_ok());
        assert!(check_put("d", &with_default, &Value::Int32(1)).is_ok());
    }
}
