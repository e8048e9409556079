//! Connect values. Schemaless data uses the same [`Value`] with no schema.

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::schema::{SchemaRef, Type};

/// A Connect value. Logical types are carried in their base representation:
/// Decimal as big-endian two's-complement bytes of the unscaled value, Date as `Int32` days
/// since the epoch, Time as `Int32` milliseconds since midnight, Timestamp as `Int64`
/// milliseconds since the epoch (see [`crate::logical`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum Value {
    #[default]
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(#[serde(deserialize_with = "crate::nesting::nested")] Vec<Value>),
    /// Entries in insertion order; keys are strings for schemaless data.
    Map(#[serde(deserialize_with = "crate::nesting::nested")] Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The base type this value carries, `None` for null.
    pub fn type_(&self) -> Option<Type> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => Type::Boolean,
            Value::Int8(_) => Type::Int8,
            Value::Int16(_) => Type::Int16,
            Value::Int32(_) => Type::Int32,
            Value::Int64(_) => Type::Int64,
            Value::Float32(_) => Type::Float32,
            Value::Float64(_) => Type::Float64,
            Value::String(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::Array(_) => Type::Array,
            Value::Map(_) => Type::Map,
            Value::Struct(_) => Type::Struct,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Checks that this value conforms to `schema` (recursively).
    pub fn validate(&self, schema: &SchemaRef) -> Result<(), DataError> {
        validate(schema, self, "")
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

fn validate(schema: &SchemaRef, value: &Value, path: &str) -> Result<(), DataError> {
    let Some(actual) = value.type_() else {
        if schema.optional || schema.default.is_some() {
            return Ok(());
        }
        return Err(DataError::new(format!(
            "invalid value: null used for required field{}{}, schema type: {}",
            if path.is_empty() { "" } else { " " },
            path,
            schema.type_.name()
        )));
    };
    if actual != schema.type_ {
        return Err(DataError::new(format!(
            "invalid Java object for schema type {}{}: found {}",
            schema.type_.name().to_uppercase(),
            if path.is_empty() {
                String::new()
            } else {
                format!(" for field {path}")
            },
            actual.name()
        )));
    }
    match value {
        Value::Array(items) => {
            if let Some(item_schema) = &schema.value_schema {
                for item in items {
                    validate(item_schema, item, path)?;
                }
            }
        }
        Value::Map(entries) => {
            if let (Some(ks), Some(vs)) = (&schema.key_schema, &schema.value_schema) {
                for (k, v) in entries {
                    validate(ks, k, path)?;
                    validate(vs, v, path)?;
                }
            }
        }
        Value::Struct(s) => {
            if !std::sync::Arc::ptr_eq(&s.schema, schema) && *s.schema != **schema {
                return Err(DataError::new(format!(
                    "struct schemas do not match{}",
                    if path.is_empty() {
                        String::new()
                    } else {
                        format!(" for field {path}")
                    }
                )));
            }
            for field in &schema.fields {
                validate(&field.schema, &s.values[field.index], &field.name)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A struct value: field values in schema order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StructWire")]
pub struct Struct {
    #[serde(with = "crate::abi::intern::schema_ref")]
    schema: SchemaRef,
    values: Vec<Value>,
}

/// A struct as it arrives from the wire, checked before it becomes a [`Struct`]: a struct
/// schema whose fields are numbered in order, and one value per field (a forged message
/// cannot make a later field lookup index out of bounds).
#[derive(Deserialize)]
struct StructWire {
    #[serde(with = "crate::abi::intern::schema_ref")]
    schema: SchemaRef,
    #[serde(deserialize_with = "crate::nesting::nested")]
    values: Vec<Value>,
}

impl TryFrom<StructWire> for Struct {
    type Error = DataError;

    fn try_from(wire: StructWire) -> Result<Struct, DataError> {
        if let Some((i, f)) = wire
            .schema
            .fields
            .iter()
            .enumerate()
            .find(|(i, f)| f.index != *i)
        {
            return Err(DataError::new(format!(
                "field {} of a struct schema has index {} at position {i}",
                f.name, f.index
            )));
        }
        Struct::from_values(wire.schema, wire.values)
    }
}

impl Struct {
    /// A struct with every field null.
    pub fn new(schema: SchemaRef) -> Result<Struct, DataError> {
        if schema.type_ != Type::Struct {
            return Err(DataError::new(format!(
                "a struct needs a struct schema, not {}",
                schema.type_.name()
            )));
        }
        let values = vec![Value::Null; schema.fields.len()];
        Ok(Struct { schema, values })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Field values in schema order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The schema and the field values, in schema order.
    pub fn into_parts(self) -> (SchemaRef, Vec<Value>) {
        (self.schema, self.values)
    }

    /// A struct from values in schema order, checking only that there is one per field: the
    /// caller keeps them matching their field schemas (as [`Struct::put_index`]).
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Struct, DataError> {
        if schema.type_ != Type::Struct || values.len() != schema.fields.len() {
            return Err(DataError::new(format!(
                "a struct of {} fields got {} values",
                schema.fields.len(),
                values.len()
            )));
        }
        Ok(Struct { schema, values })
    }

    /// A struct from values in schema order, checked against the schema.
    pub fn from_parts(schema: SchemaRef, values: Vec<Value>) -> Result<Struct, DataError> {
        if schema.type_ != Type::Struct {
            return Err(DataError::new(format!(
                "a struct needs a struct schema, not {}",
                schema.type_.name()
            )));
        }
        if values.len() != schema.fields.len() {
            return Err(DataError::new(format!(
                "a struct of {} fields got {} values",
                schema.fields.len(),
                values.len()
            )));
        }
        let s = Struct { schema, values };
        s.validate()?;
        Ok(s)
    }

    /// Sets a field by name; the value must match the field's schema.
    pub fn put(&mut self, name: &str, value: impl Into<Value>) -> Result<&mut Struct, DataError> {
        let field = self
            .schema
            .field(name)
            .ok_or_else(|| DataError::new(format!("{name} is not a valid field name")))?;
        let value = value.into();
        validate(&field.schema, &value, name)?;
        let index = field.index;
        self.values[index] = value;
        Ok(self)
    }

    /// Sets a field by index without validation (converters that already checked the type).
    pub fn put_index(&mut self, index: usize, value: Value) {
        self.values[index] = value;
    }

    /// A field's value by name (`None` for an unknown name).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.field(name).map(|f| &self.values[f.index])
    }

    /// Checks every field against its schema.
    pub fn validate(&self) -> Result<(), DataError> {
        for field in &self.schema.fields {
            validate(&field.schema, &self.values[field.index], &field.name)?;
        }
        Ok(())
    }
}

/// A key or value borrowed where it lies: a string or bytes read in place from a record batch,
/// or any [`Value`]. Converters take this (see [`crate::converter::Converter::from_connect_ref`])
/// so that a string or bytes value need not be copied into a [`Value`] to be written. On the
/// wire it is encoded exactly as the [`Value`] it stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    String(&'a str),
    Bytes(&'a [u8]),
    Value(&'a Value),
}

impl<'a> ValueRef<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Null | ValueRef::Value(Value::Null))
    }

    /// The string, when it is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            ValueRef::String(s) => Some(s),
            ValueRef::Value(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::String(s) => Value::String(s.to_owned()),
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ValueRef::Value(v) => v.clone(),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> ValueRef<'a> {
        ValueRef::Value(v)
    }
}

impl Serialize for ValueRef<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        // Variant indexes and names of `Value` (checked by a test).
        match *self {
            ValueRef::Null => ser.serialize_unit_variant("Value", 0, "Null"),
            ValueRef::String(s) => ser.serialize_newtype_variant("Value", 8, "String", s),
            ValueRef::Bytes(b) => ser.serialize_newtype_variant("Value", 9, "Bytes", b),
            ValueRef::Value(v) => v.serialize(ser),
        }
    }
}

#[cfg(test)]
mod value_ref_tests {
    use super::*;

    #[test]
    fn value_ref_encodes_as_the_value_it_stands_for() {
        let cases = [
            (ValueRef::Null, Value::Null),
            (ValueRef::String("héllo"), Value::String("héllo".into())),
            (ValueRef::Bytes(&[0, 1, 255]), Value::Bytes(vec![0, 1, 255])),
        ];
        for (r, v) in cases {
            assert_eq!(
                postcard::to_allocvec(&r).unwrap(),
                postcard::to_allocvec(&v).unwrap()
            );
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
            assert_eq!(r.to_value(), v);
        }
    }
}
