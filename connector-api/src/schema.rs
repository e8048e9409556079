//! Connect schemas: the type system shared by converters, transforms and connectors.
//!
//! A [`Schema`] is immutable once built and shared behind an [`Arc`] ([`SchemaRef`]).
//! Logical types (Decimal, Date, Time, Timestamp) are named schemas over a base type,
//! exactly as in Kafka Connect; see [`crate::logical`].

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// A shared, immutable schema.
pub type SchemaRef = Arc<Schema>;

/// The Connect base types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// The lower-case name Kafka Connect uses (`int8` … `struct`; floats are `float32`/`float64`).
    pub fn name(self) -> &'static str {
        match self {
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::Float32 => "float32",
            Type::Float64 => "float64",
            Type::Boolean => "boolean",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        }
    }

    /// True for the types that are neither containers nor structs.
    pub fn is_primitive(self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }
}

/// One field of a struct schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub index: usize,
    #[serde(with = "crate::abi::intern::schema_ref")]
    pub schema: SchemaRef,
}

/// A Connect schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub type_: Type,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    pub parameters: Option<BTreeMap<String, String>>,
    /// Struct fields, in order.
    pub fields: Vec<Field>,
    /// Map key schema.
    #[serde(default, with = "crate::abi::intern::opt_schema_ref")]
    pub key_schema: Option<SchemaRef>,
    /// Map value schema, or array item schema.
    #[serde(default, with = "crate::abi::intern::opt_schema_ref")]
    pub value_schema: Option<SchemaRef>,
}

macro_rules! shared {
    ($fn_name:ident, $opt_name:ident, $ty:expr) => {
        #[doc = concat!("The shared required `", stringify!($fn_name), "` schema.")]
        pub fn $fn_name() -> SchemaRef {
            static S: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new($ty)));
            S.clone()
        }
        #[doc = concat!("The shared optional `", stringify!($fn_name), "` schema.")]
        pub fn $opt_name() -> SchemaRef {
            static S: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new($ty).optional()));
            S.clone()
        }
    };
}

impl Schema {
    /// A required schema of a primitive type with no metadata.
    pub fn new(type_: Type) -> Schema {
        Schema {
            type_,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: None,
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    /// An array schema.
    pub fn array(items: SchemaRef) -> Schema {
        Schema {
            value_schema: Some(items),
            ..Schema::new(Type::Array)
        }
    }

    /// A map schema.
    pub fn map(keys: SchemaRef, values: SchemaRef) -> Schema {
        Schema {
            key_schema: Some(keys),
            value_schema: Some(values),
            ..Schema::new(Type::Map)
        }
    }

    /// A struct schema with the given fields, in order.
    pub fn struct_<N: Into<String>>(fields: impl IntoIterator<Item = (N, SchemaRef)>) -> Schema {
        let fields = fields
            .into_iter()
            .enumerate()
            .map(|(index, (name, schema))| Field {
                name: name.into(),
                index,
                schema,
            })
            .collect();
        Schema {
            fields,
            ..Schema::new(Type::Struct)
        }
    }

    pub fn optional(mut self) -> Schema {
        self.optional = true;
        self
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Schema {
        self.name = Some(name.into());
        self
    }

    pub fn with_version(mut self, version: i32) -> Schema {
        self.version = Some(version);
        self
    }

    pub fn with_doc(mut self, doc: impl Into<String>) -> Schema {
        self.doc = Some(doc.into());
        self
    }

    pub fn with_parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Schema {
        self.parameters
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn with_default(mut self, default: Value) -> Schema {
        self.default = Some(default);
        self
    }

    /// Wraps the schema in an [`Arc`].
    pub fn into_ref(self) -> SchemaRef {
        Arc::new(self)
    }

    /// The field with this name, for struct schemas.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    shared!(int8, optional_int8, Type::Int8);
    shared!(int16, optional_int16, Type::Int16);
    shared!(int32, optional_int32, Type::Int32);
    shared!(int64, optional_int64, Type::Int64);
    shared!(float32, optional_float32, Type::Float32);
    shared!(float64, optional_float64, Type::Float64);
    shared!(boolean, optional_boolean, Type::Boolean);
    shared!(string, optional_string, Type::String);
    shared!(bytes, optional_bytes, Type::Bytes);
}
