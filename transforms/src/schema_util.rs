//! Schema and value helpers shared by the transformations (Java's `SchemaUtil`,
//! `Requirements` and the per-transformation schema caches).

use std::collections::HashSet;
use std::sync::Arc;

use tributary_connector_api::{Field, Schema, SchemaRef, Struct, Type, Value};

use crate::error::TransformError;
use crate::record::ConnectRecord;

/// A new schema of `type_` carrying `source`'s name, version, doc and parameters (Java's
/// `SchemaUtil.copySchemaBasics`); optionality and default are the caller's to set.
pub fn copy_basics(source: &Schema, type_: Type) -> Schema {
    Schema {
        name: source.name.clone(),
        version: source.version,
        doc: source.doc.clone(),
        parameters: source.parameters.clone(),
        ..Schema::new(type_)
    }
}

/// A field's value as Java's `Struct.get` reads it when `replace_null_with_default` (a null
/// whose schema has a default reads as the default), else as `getWithoutDefault`.
pub fn with_default<'a>(
    value: &'a Value,
    schema: &'a Schema,
    replace_null_with_default: bool,
) -> &'a Value {
    match (&schema.default, value) {
        (Some(default), Value::Null) if replace_null_with_default => default,
        _ => value,
    }
}

/// The check Java's `Struct.put` makes before anything else: a null only in an optional field
/// (a default does not count). `field` names the field in the error.
pub fn check_put(field: &str, schema: &Schema, value: &Value) -> Result<(), TransformError> {
    if value.is_null() && !schema.optional {
        return Err(TransformError::new(format!(
            "Invalid value: null used for required field: \"{field}\", schema type: {}",
            schema.type_.name().to_uppercase()
        )));
    }
    Ok(())
}

/// A required struct schema with `basis`'s name, version, doc and parameters and these fields;
/// field names must be non-empty and unique (as Java's `SchemaBuilder` demands).
pub fn struct_schema(
    basis: &Schema,
    fields: impl IntoIterator<Item = (String, SchemaRef)>,
) -> Result<SchemaRef, TransformError> {
    let mut out = copy_basics(basis, Type::Struct);
    let mut seen = HashSet::new();
    for (index, (name, schema)) in fields.into_iter().enumerate() {
        if name.is_empty() {
            return Err(TransformError::new(
                "A struct field name cannot be null or empty.",
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(TransformError::new(format!(
                "Cannot create field because of field name duplication {name}"
            )));
        }
        out.fields.push(Field {
            name,
            index,
            schema,
        });
    }
    Ok(Arc::new(out))
}

/// The type name shown in "found: …" errors (`null` for a null value).
pub fn type_name(value: &Value) -> &'static str {
    value.type_().map(Type::name).unwrap_or("null")
}

/// The value as a struct, or `Only Struct objects supported for [<purpose>], found: <type>`.
pub fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct, TransformError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::new(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            type_name(other)
        ))),
    }
}

/// The value as a schemaless map, or `Only Map objects supported in absence of schema for
/// [<purpose>], found: <type>`.
pub fn require_map<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<&'a Vec<(Value, Value)>, TransformError> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            type_name(other)
        ))),
    }
}

/// Fails unless `record` is a sink record (`Only SinkRecord supported for [<purpose>]`).
pub fn require_sink(record: &dyn ConnectRecord, purpose: &str) -> Result<(), TransformError> {
    if record.is_sink() {
        Ok(())
    } else {
        Err(TransformError::new(format!(
            "Only SinkRecord supported for [{purpose}], found: SourceRecord"
        )))
    }
}

/// The entry of a schemaless map whose key is the string `name`.
pub fn map_get<'a>(entries: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

/// Remembers the schemas a transformation derived, so records sharing a schema share the
/// derived one (Java keeps a 16-entry LRU cache per transformation). Lookup is by pointer,
/// then by equality.
#[derive(Debug, Default)]
pub struct SchemaCache {
    entries: Vec<(SchemaRef, SchemaRef)>,
}

const CACHE_SIZE: usize = 16;

impl SchemaCache {
    pub fn new() -> SchemaCache {
        SchemaCache::default()
    }

    /// The derived schema for `input`, built by `build` on a miss.
    pub fn get_or_try_insert(
        &mut self,
        input: &SchemaRef,
        build: impl FnOnce(&SchemaRef) -> Result<SchemaRef, TransformError>,
    ) -> Result<SchemaRef, TransformError> {
        if let Some(i) = self
            .entries
            .iter()
            .position(|(k, _)| Arc::ptr_eq(k, input))
            .or_else(|| self.entries.iter().position(|(k, _)| **k == **input))
        {
            // Most recently used last; keyed by the newest pointer, so the records that follow
            // (sharing it) hit without a comparison.
            let (_, out) = self.entries.remove(i);
            self.entries.push((input.clone(), out.clone()));
            return Ok(out);
        }
        let out = build(input)?;
        if self.entries.len() >= CACHE_SIZE {
            self.entries.remove(0);
        }
        self.entries.push((input.clone(), out.clone()));
        Ok(out)
    }
}
