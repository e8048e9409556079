//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`: keeps, drops and renames
//! the fields of a Struct (with a schema) or the entries of a Map (schemaless) key or value.
//!
//! A field is kept unless it is listed in `exclude`, and, when `include` is not empty, only if
//! it is listed there (`exclude` wins). Both lists name the input fields. The kept fields are
//! then renamed by `renames` (`old:new` pairs). With a schema the output struct schema keeps the
//! input's field order, name, version, doc and parameters. A null key / value (a tombstone)
//! passes through unchanged. The `blacklist` / `whitelist` aliases were removed in Kafka 4.0
//! and are not read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{
    ConfigDef, ConfigType, Importance, Props, Schema, SchemaRef, Struct, Value,
};

use crate::config::{self, java_list};
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{
    check_put, require_map, require_struct, struct_schema, type_name, with_default, SchemaCache,
};

/// The class that rewrites the record key.
pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.ReplaceField$Key";
/// The class that rewrites the record value.
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";

const EXCLUDE: &str = "exclude";
const INCLUDE: &str = "include";
const RENAMES: &str = "renames";

const PURPOSE: &str = "field replacement";

/// The `$Key` and `$Value` variants.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, ReplaceField::create).to_vec()
}

fn config_def() -> ConfigDef {
    let list = |name: &str, doc: &str| {
        config::with_default(name, ConfigType::List, "", Importance::Medium, doc)
    };
    ConfigDef::new()
        .define(list(
            EXCLUDE,
            "Fields to drop. Takes precedence over the fields to include.",
        ))
        .define(list(
            INCLUDE,
            "Fields to keep. When set, every other field is dropped.",
        ))
        .define(list(
            RENAMES,
            "Field renames, as colon-separated pairs such as <code>foo:bar,abc:xyz</code>.",
        ))
        .define(config::replace_null_with_default())
}

/// The `renames` pairs, in order. A pair is split like Java's `String.split(":")` (trailing
/// empty parts dropped) and must then have exactly two parts.
fn parse_renames(list: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    list.iter()
        .map(|mapping| {
            let mut parts: Vec<&str> = mapping.split(':').collect();
            while parts.last() == Some(&"") {
                parts.pop();
            }
            match parts[..] {
                [old, new] => Ok((old.to_owned(), new.to_owned())),
                _ => Err(config::invalid(
                    RENAMES,
                    &format!("[{}]", list.join(", ")),
                    format!("Invalid rename mapping: {mapping}"),
                )),
            }
        })
        .collect()
}

/// Which fields survive and what they are called.
struct Rules {
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: HashMap<String, String>,
    /// New name to old name, to find the input field an output field reads.
    reverse: HashMap<String, String>,
}

impl Rules {
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }

    fn reverse_renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.reverse.get(name).map_or(name, String::as_str)
    }

    /// The kept input fields, renamed, in input order.
    fn updated_schema(&self, input: &SchemaRef) -> Result<SchemaRef, TransformError> {
        struct_schema(
            input,
            input
                .fields
                .iter()
                .filter(|f| self.keeps(&f.name))
                .map(|f| (self.renamed(&f.name).to_owned(), f.schema.clone())),
        )
    }

    /// For each output field, the position of the input field it reads: the one whose name the
    /// output name maps back to (Java looks the value up by `reverse_renamed(output name)`).
    fn sources(&self, input: &Schema, output: &Schema) -> Result<Vec<usize>, TransformError> {
        let by_name: HashMap<&str, usize> = input
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect();
        output
            .fields
            .iter()
            .map(|f| {
                let source = self.reverse_renamed(&f.name);
                by_name.get(source).copied().ok_or_else(|| {
                    TransformError::new(format!("{source} is not a valid field name"))
                })
            })
            .collect()
    }
}

/// The derived schema last used, with the input position each of its fields reads.
struct Plan {
    /// Held here, so the pointer cannot be reused by another schema while the plan lives.
    output: SchemaRef,
    sources: Vec<usize>,
}

/// Filters and renames fields.
pub struct ReplaceField {
    side: Side,
    rules: Rules,
    replace_null_with_default: bool,
    cache: SchemaCache,
    plan: Option<Plan>,
}

impl ReplaceField {
    pub(crate) fn create(
        side: Side,
        props: &Props,
    ) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let pairs = parse_renames(&java_list(cfg.get(RENAMES).unwrap_or_default()))?;
        // Later pairs for the same old (or new) name win.
        let mut renames = HashMap::new();
        let mut reverse = HashMap::new();
        for (old, new) in &pairs {
            renames.insert(old.clone(), new.clone());
        }
        for (old, new) in &pairs {
            if renames.get(old) == Some(new) {
                reverse.insert(new.clone(), old.clone());
            }
        }
        let rules = Rules {
            exclude: java_list(cfg.get(EXCLUDE).unwrap_or_default())
                .into_iter()
                .collect(),
            include: java_list(cfg.get(INCLUDE).unwrap_or_default())
                .into_iter()
                .collect(),
            renames,
            reverse,
        };
        Ok(Box::new(ReplaceField {
            side,
            rules,
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
            cache: SchemaCache::new(),
            plan: None,
        }))
    }

    fn apply_schemaless(&self, record: &mut dyn ConnectRecord) -> Result<(), TransformError> {
        let rules = &self.rules;
        let entries = require_map(record.data(self.side).1, PURPOSE)?;
        // Java reads every key as a string (a null key passes the filter only without an
        // include list, and is never renamed).
        if let Some((k, _)) = entries
            .iter()
            .find(|(k, _)| !matches!(k, Value::String(_) | Value::Null))
        {
            return Err(TransformError::new(format!(
                "Only string keys supported for [{PURPOSE}], found: {}",
                type_name(k)
            )));
        }

        let (_, slot) = record.data_mut(self.side);
        let Value::Map(entries) = std::mem::take(slot) else {
            return Err(TransformError::new(
                "the map value changed under the transformation",
            ));
        };
        let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match k {
                Value::String(name) if rules.keeps(&name) => {
                    let name = match rules.renames.get(&name) {
                        Some(new) => new.clone(),
                        None => name,
                    };
                    // A rename can land on a name already present: the later entry then
                    // replaces it. (Maps are small: a scan beats hashing.)
                    let existing = if rules.renames.is_empty() {
                        None
                    } else {
                        out.iter()
                            .position(|(k, _)| k.as_str() == Some(name.as_str()))
                    };
                    match existing {
                        Some(i) => out[i].1 = v,
                        None => out.push((Value::String(name), v)),
                    }
                }
                Value::Null if rules.include.is_empty() => out.push((Value::Null, v)),
                _ => {}
            }
        }
        *slot = Value::Map(out);
        Ok(())
    }

    fn apply_with_schema(&mut self, record: &mut dyn ConnectRecord) -> Result<(), TransformError> {
        let side = self.side;
        let rules = &self.rules;
        let input = require_struct(record.data(side).1, PURPOSE)?;
        let in_schema = input.schema();
        let out_schema = self
            .cache
            .get_or_try_insert(in_schema, |s| rules.updated_schema(s))?;
        // The cache gives one output schema per distinct input schema, so the output pointer
        // identifies the input layout the plan was made for.
        let fresh = !self
            .plan
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(&p.output, &out_schema));
        if fresh {
            self.plan = Some(Plan {
                sources: rules.sources(in_schema, &out_schema)?,
                output: out_schema.clone(),
            });
        }
        let sources: &[usize] = self
            .plan
            .as_ref()
            .map(|p| p.sources.as_slice())
            .unwrap_or_default();
        for (field, &source) in out_schema.fields.iter().zip(sources) {
            let value = with_default(
                &input.values()[source],
                &in_schema.fields[source].schema,
                self.replace_null_with_default,
            );
            check_put(&field.name, &field.schema, value)?;
            value.validate(&field.schema)?;
        }

        // Every check passed: rewrite. Distinct output names read distinct input fields, so
        // each value moves once.
        let (schema_slot, value_slot) = record.data_mut(side);
        let Value::Struct(input) = std::mem::take(value_slot) else {
            return Err(TransformError::new(
                "the struct value changed under the transformation",
            ));
        };
        let (in_schema, mut values) = input.into_parts();
        let moved: Vec<Value> = sources
            .iter()
            .map(|&source| {
                let v = std::mem::take(&mut values[source]);
                match (&v, &in_schema.fields[source].schema.default) {
                    (Value::Null, Some(default)) if self.replace_null_with_default => {
                        default.clone()
                    }
                    _ => v,
                }
            })
            .collect();
        let out = Struct::from_values(out_schema.clone(), moved)?;
        *schema_slot = Some(out_schema);
        *value_slot = Value::Struct(out);
        Ok(())
    }
}

impl Transformation for ReplaceField {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        match record.data(self.side) {
            (_, Value::Null) => {}
            (None, _) => self.apply_schemaless(record)?,
            (Some(_), _) => self.apply_with_schema(record)?,
        }
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::Type;

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, strukt, transform};

    fn four_fields() -> SchemaRef {
        Schema::struct_([
            ("dont", Schema::string()),
            ("abc", Schema::int32()),
            ("foo", Schema::boolean()),
            ("etc", Schema::string()),
        ])
        .into_ref()
    }

    fn four_values(schema: &SchemaRef) -> Value {
        strukt(
            schema,
            vec![
                ("dont", "whatever".into()),
                ("abc", Value::Int32(42)),
                ("foo", Value::Boolean(true)),
                ("etc", "etc".into()),
            ],
        )
    }

    fn four_map() -> Value {
        map(vec![
            ("dont", "whatever".into()),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", "etc".into()),
        ])
    }

    /// Applies the value variant to a schemaless map.
    fn on_map(pairs: &[(&str, &str)], value: Value) -> Value {
        let mut t = transform(VALUE_CLASS, pairs);
        let mut r = sink("t", None, Value::Null, None, value);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value_schema, None);
        r.value
    }

    /// Applies the value variant to a struct; returns the output schema and value.
    fn on_struct(pairs: &[(&str, &str)], schema: &SchemaRef, value: Value) -> (SchemaRef, Value) {
        let mut t = transform(VALUE_CLASS, pairs);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value);
        apply(t.as_mut(), &mut r);
        (r.value_schema.unwrap(), r.value)
    }

    #[test]
    fn schemaless_exclude_and_rename() {
        let out = on_map(
            &[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")],
            four_map(),
        );
        assert_eq!(
            out,
            map(vec![
                ("xyz", Value::Int32(42)),
                ("bar", Value::Boolean(true)),
                ("etc", "etc".into()),
            ])
        );
    }

    #[test]
    fn with_schema_include_and_rename() {
        let schema = four_fields();
        let mut t = transform(
            VALUE_CLASS,
            &[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")],
        );
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            four_values(&schema),
        );
        apply(t.as_mut(), &mut r);
        let out = r.value_schema.clone().unwrap();
        let expected = Schema::struct_([("xyz", Schema::int32()), ("bar", Schema::boolean())]);
        assert_eq!(*out, expected);
        assert_eq!(
            r.value,
            strukt(
                &out,
                vec![("xyz", Value::Int32(42)), ("bar", Value::Boolean(true))]
            )
        );
        // Cached per input schema.
        let mut r2 = sink(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            four_values(&schema),
        );
        apply(t.as_mut(), &mut r2);
        assert!(Arc::ptr_eq(r2.value_schema.as_ref().unwrap(), &out));
        assert_eq!(r2.value, r.value);
    }

    #[test]
    fn schema_basics_are_kept_and_the_output_is_required() {
        let schema = Schema::struct_([("b", Schema::int8()), ("a", Schema::optional_string())])
            .with_name("com.example.Thing")
            .with_version(3)
            .with_doc("things")
            .with_parameter("k", "v")
            .optional()
            .into_ref();
        let value = strukt(&schema, vec![("b", Value::Int8(1)), ("a", "x".into())]);
        let (out, v) = on_struct(&[("renames", "a:z")], &schema, value);
        let expected = Schema::struct_([("b", Schema::int8()), ("z", Schema::optional_string())])
            .with_name("com.example.Thing")
            .with_version(3)
            .with_doc("things")
            .with_parameter("k", "v");
        assert_eq!(*out, expected);
        assert_eq!(
            v,
            strukt(&out, vec![("b", Value::Int8(1)), ("z", "x".into())])
        );
    }

    #[test]
    fn exclude_wins_over_include_and_lists_name_input_fields() {
        let pairs = [("include", "abc,foo,etc"), ("exclude", "foo")];
        assert_eq!(
            on_map(&pairs, four_map()),
            map(vec![("abc", Value::Int32(42)), ("etc", "etc".into())])
        );
        let schema = four_fields();
        let (out, _) = on_struct(&pairs, &schema, four_values(&schema));
        let names: Vec<_> = out.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["abc", "etc"]);

        // Renames apply after the filter, which sees the old names.
        let pairs = [("include", "xyz,etc"), ("renames", "abc:xyz")];
        assert_eq!(on_map(&pairs, four_map()), map(vec![("etc", "etc".into())]));
        let pairs = [("include", " abc , etc "), ("renames", "abc:xyz")];
        let (out, v) = on_struct(&pairs, &schema, four_values(&schema));
        assert_eq!(
            v,
            strukt(&out, vec![("xyz", Value::Int32(42)), ("etc", "etc".into())])
        );
    }

    #[test]
    fn no_config_changes_nothing_but_rebuilds_the_struct() {
        let schema = four_fields();
        let (out, v) = on_struct(&[], &schema, four_values(&schema));
        assert_eq!(*out, *schema);
        assert_eq!(v, four_values(&schema));
        assert_eq!(on_map(&[], four_map()), four_map());
    }

    #[test]
    fn removed_aliases_are_ignored() {
        let pairs = [("blacklist", "dont"), ("whitelist", "abc")];
        assert_eq!(on_map(&pairs, four_map()), four_map());
    }

    #[test]
    fn tombstones_pass_through() {
        let schema = four_fields();
        let pairs = [("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")];
        let mut t = transform(VALUE_CLASS, &pairs);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), Value::Null);
        apply(t.as_mut(), &mut r);
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &schema));
        assert_eq!(r.value, Value::Null);
        let mut r = sink("t", None, Value::Null, None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!((r.value_schema, r.value), (None, Value::Null));

        let mut t = transform(KEY_CLASS, &pairs);
        let mut r = sink("t", None, Value::Null, None, four_map());
        apply(t.as_mut(), &mut r);
        assert_eq!((r.key_schema, r.key), (None, Value::Null));
        assert_eq!(r.value, four_map());
    }

    #[test]
    fn key_variant_rewrites_the_key_only() {
        let schema = four_fields();
        let mut t = transform(
            KEY_CLASS,
            &[("exclude", "dont,etc"), ("renames", "foo:bar")],
        );
        let mut r = sink(
            "t",
            Some(schema.clone()),
            four_values(&schema),
            Some(schema.clone()),
            four_values(&schema),
        );
        apply(t.as_mut(), &mut r);
        let key_schema = r.key_schema.clone().unwrap();
        assert_eq!(
            *key_schema,
            Schema::struct_([("abc", Schema::int32()), ("bar", Schema::boolean())])
        );
        assert_eq!(
            r.key,
            strukt(
                &key_schema,
                vec![("abc", Value::Int32(42)), ("bar", Value::Boolean(true))]
            )
        );
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &schema));
        assert_eq!(r.value, four_values(&schema));

        let mut r = sink("t", None, four_map(), None, four_map());
        apply(t.as_mut(), &mut r);
        assert_eq!(
            r.key,
            map(vec![
                ("abc", Value::Int32(42)),
                ("bar", Value::Boolean(true))
            ])
        );
        assert_eq!(r.value, four_map());
    }

    #[test]
    fn replace_null_with_default_on_value_and_key() {
        let with_default = Schema::new(Type::Int32)
            .optional()
            .with_default(Value::Int32(42))
            .into_ref();
        let schema = Schema::struct_([("abc", with_default.clone())]).into_ref();
        for (flag, expected) in [("true", Value::Int32(42)), ("false", Value::Null)] {
            let pairs = [
                ("include", "abc"),
                ("renames", "abc:optional_with_default"),
                ("replace.null.with.default", flag),
            ];
            for class in [KEY_CLASS, VALUE_CLASS] {
                let mut t = transform(class, &pairs);
                let data = || {
                    (
                        Some(schema.clone()),
                        strukt(&schema, vec![("abc", Value::Null)]),
                    )
                };
                let (ks, k) = data();
                let (vs, v) = data();
                let mut r = sink("t", ks, k, vs, v);
                apply(t.as_mut(), &mut r);
                let (out_schema, out) = if class == KEY_CLASS {
                    (r.key_schema.unwrap(), r.key)
                } else {
                    (r.value_schema.unwrap(), r.value)
                };
                assert_eq!(
                    *out_schema,
                    Schema::struct_([("optional_with_default", with_default.clone())])
                );
                let Value::Struct(s) = out else { panic!() };
                assert_eq!(
                    s.get("optional_with_default"),
                    Some(&expected),
                    "{class} flag {flag}"
                );
            }
        }

        // Without replacement, a null in a required field with a default is what Java's
        // `Struct.put` rejects.
        let required = Schema::new(Type::Int32)
            .with_default(Value::Int32(7))
            .into_ref();
        let schema = Schema::struct_([("r", required)]).into_ref();
        let (_, v) = on_struct(&[], &schema, strukt(&schema, vec![]));
        let Value::Struct(s) = v else { panic!() };
        assert_eq!(s.values(), &[Value::Int32(7)]);
        let mut t = transform(VALUE_CLASS, &[("replace.null.with.default", "false")]);
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![]),
        );
        assert!(t.apply(&mut r).is_err());
    }

    #[test]
    fn renames_follow_java_lookups() {
        let schema = Schema::struct_([("a", Schema::int32()), ("b", Schema::int32())]).into_ref();
        let value = || {
            strukt(
                &schema,
                vec![("a", Value::Int32(1)), ("b", Value::Int32(2))],
            )
        };
        // Swapping two names.
        let (out, v) = on_struct(&[("renames", "a:b,b:a")], &schema, value());
        assert_eq!(
            v,
            strukt(&out, vec![("b", Value::Int32(1)), ("a", Value::Int32(2))])
        );
        // Java fills an output field from the input named by its reverse rename, even when that
        // input field was excluded: `b` receives `a`'s value.
        let (out, v) = on_struct(&[("renames", "a:b"), ("exclude", "a")], &schema, value());
        assert_eq!(v, strukt(&out, vec![("b", Value::Int32(1))]));
        // Renaming onto a kept field is a duplicate.
        let mut t = transform(VALUE_CLASS, &[("renames", "a:b")]);
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), value());
        assert!(t
            .apply(&mut r)
            .unwrap_err()
            .message
            .contains("duplication b"));
        // A rename target present in the input without its source is looked up by the source.
        let only_b = Schema::struct_([("b", Schema::int32())]).into_ref();
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(only_b.clone()),
            strukt(&only_b, vec![("b", Value::Int32(2))]),
        );
        assert!(t
            .apply(&mut r)
            .unwrap_err()
            .message
            .contains("a is not a valid field name"));

        // Schemaless: a rename landing on an existing key replaces it.
        assert_eq!(
            on_map(
                &[("renames", "a:b")],
                map(vec![
                    ("a", Value::Int32(1)),
                    ("b", Value::Int32(2)),
                    ("c", Value::Int32(3))
                ])
            ),
            map(vec![("b", Value::Int32(2)), ("c", Value::Int32(3))])
        );
        // Java's `split(":")` drops trailing empty parts, so `x:y:` is the pair `x:y`.
        assert_eq!(
            on_map(&[("renames", "a:z:")], map(vec![("a", Value::Int32(1))])),
            map(vec![("z", Value::Int32(1))])
        );
    }

    #[test]
    fn data_errors() {
        let mut t = transform(VALUE_CLASS, &[("exclude", "a")]);
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(Schema::int32()),
            Value::Int32(1),
        );
        assert!(t
            .apply(&mut r)
            .unwrap_err()
            .message
            .contains("Only Struct objects supported for [field replacement]"));
        let mut r = sink("t", None, Value::Null, Some(four_fields()), four_map());
        assert!(t.apply(&mut r).is_err());
        let mut r = sink("t", None, Value::Null, None, "text".into());
        assert!(t
            .apply(&mut r)
            .unwrap_err()
            .message
            .contains("Only Map objects supported"));
        let mut r = sink(
            "t",
            None,
            Value::Null,
            None,
            Value::Map(vec![(Value::Int32(1), Value::Int32(2))]),
        );
        assert!(t.apply(&mut r).is_err());
        assert_eq!(
            r.value,
            Value::Map(vec![(Value::Int32(1), Value::Int32(2))]),
            "the record is left as it was"
        );
        // An empty field name cannot be a struct field (Java's schema builder refuses it).
        let mut t = transform(VALUE_CLASS, &[]);
        let unnamed = Schema::struct_([("", Schema::int32())]).into_ref();
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(unnamed.clone()),
            strukt(&unnamed, vec![]),
        );
        assert!(t.apply(&mut r).is_err());
        let schema = four_fields();
        // A value that does not match its field schema.
        let mut bad = Struct::new(schema.clone()).unwrap();
        bad.put_index(1, "not a number".into());
        let mut t = transform(VALUE_CLASS, &[]);
        let mut r = sink("t", None, Value::Null, Some(schema), Value::Struct(bad));
        assert!(t.apply(&mut r).is_err());
    }

    #[test]
    fn a_null_map_key_survives_only_without_include() {
        let value = || {
            Value::Map(vec![
                (Value::Null, Value::Int32(1)),
                ("a".into(), Value::Int32(2)),
            ])
        };
        assert_eq!(on_map(&[("exclude", "x")], value()), value());
        assert_eq!(
            on_map(&[("include", "a")], value()),
            map(vec![("a", Value::Int32(2))])
        );
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap().key;
        for bad in ["abc", "a:b:c", "a:b,,c:d", "a:", ":", "a::", ",", "a:b,c"] {
            assert_eq!(key(&[("renames", bad)]), "renames", "{bad:?}");
        }
        let err = build(VALUE_CLASS, &[("renames", "a:b, c")]).err().unwrap();
        assert!(
            err.message.contains("Invalid rename mapping: c"),
            "{}",
            err.message
        );
        assert_eq!(
            key(&[("replace.null.with.default", "yes")]),
            "replace.null.with.default"
        );
        for good in ["", "  ", "a:b", ":b", "a:b:", " a:b , c:d "] {
            assert!(build(KEY_CLASS, &[("renames", good)]).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn both_variants_are_registered() {
        for class in [KEY_CLASS, VALUE_CLASS] {
            let plugin = crate::find_transformation(class).unwrap();
            let def = (plugin.config_def)();
            let keys: Vec<_> = def.keys.iter().map(|k| k.name.as_str()).collect();
            assert_eq!(
                keys,
                ["exclude", "include", "renames", "replace.null.with.default"]
            );
            assert_eq!(def.key("renames").unwrap().type_, ConfigType::List);
            assert_eq!(
                def.key("renames").unwrap().info().default_value.as_deref(),
                Some("")
            );
        }
        assert_eq!(
            crate::find_transformation(KEY_CLASS).unwrap().side,
            Side::Key
        );
    }
}
