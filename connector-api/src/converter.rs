//! Converters (Kafka Connect's `Converter` and `HeaderConverter`): Connect data (schema +
//! value) ⇄ the bytes stored in Kafka.
//!
//! The built-ins live in the worker; a plugin library exports its own with
//! [`crate::export_plugin!`]. A converter converts one record at a time, and a batch at a time
//! through [`Converter::from_connect_batch`] / [`Converter::to_connect_batch`]: the defaults
//! loop over the records; the worker calls a plugin converter once per batch, so a plugin
//! converter costs one boundary crossing per batch, not per record.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{SchemaRef, Value, ValueRef};

/// A converter failure.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum ConverterError {
    /// A config value is invalid; `key` is the converter's own key (no `value.converter.` prefix).
    #[error("invalid value for converter configuration {key}: {message}")]
    Config { key: String, message: String },
    /// No converter has this class name or alias.
    #[error(
        "no converter class or alias matches '{0}' (built-ins: JsonConverter, StringConverter, \
         ByteArrayConverter, LongConverter, IntegerConverter, ShortConverter, FloatConverter, \
         DoubleConverter, BooleanConverter, SimpleHeaderConverter)"
    )]
    UnknownClass(String),
    /// Connect data could not be written (value does not match its schema, unsupported value…).
    #[error("failed to convert Connect data to bytes: {0}")]
    Serialize(String),
    /// Bytes could not be read as Connect data.
    #[error("failed to convert bytes to Connect data: {0}")]
    Deserialize(String),
}

impl ConverterError {
    /// A [`ConverterError::Config`] about the converter's own key `key`.
    pub fn config(key: &str, message: impl Into<String>) -> ConverterError {
        ConverterError::Config {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// One record's key or value to write: its topic, schema and value.
#[derive(Debug, Clone, Copy)]
pub struct ConnectData<'a> {
    pub topic: &'a str,
    pub schema: Option<&'a SchemaRef>,
    pub value: ValueRef<'a>,
}

/// One record's key or value bytes to read (`None` = null).
#[derive(Debug, Clone, Copy)]
pub struct RawData<'a> {
    pub topic: &'a str,
    pub bytes: Option<&'a [u8]>,
}

/// What [`Converter::to_connect`] returns.
pub type Connected = (Option<SchemaRef>, Value);

/// Converts record keys or values. Built once per task and slot (key or value) from its
/// config (Kafka's `configure(configs, isKey)`).
pub trait Converter: Send + Sync {
    /// Connect data → bytes (`None` = null bytes, i.e. a tombstone).
    #[allow(clippy::wrong_self_convention)] // Kafka's name (`fromConnectData`)
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError>;

    /// Bytes (`None` = null) → Connect data.
    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<Connected, ConverterError>;

    /// [`Converter::from_connect`] for a value borrowed where it lies (e.g. a string read in
    /// place from a plugin's record batch). The bytes may borrow the value's own: a converter
    /// that writes a string or bytes value as it is (the StringConverter in UTF-8, the
    /// ByteArrayConverter) overrides this to copy nothing. The default makes the value owned
    /// when it is not and calls [`Converter::from_connect`].
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_ref<'a>(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: ValueRef<'a>,
    ) -> Result<Option<Cow<'a, [u8]>>, ConverterError> {
        from_connect_owned(self, topic, schema, value)
    }

    /// [`Converter::from_connect_ref`] for each record of a batch, results in order.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_batch<'a>(
        &self,
        batch: &[ConnectData<'a>],
    ) -> Vec<Result<Option<Cow<'a, [u8]>>, ConverterError>> {
        batch
            .iter()
            .map(|d| self.from_connect_ref(d.topic, d.schema, d.value))
            .collect()
    }

    /// [`Converter::to_connect`] for each record of a batch, results in order.
    fn to_connect_batch(&self, batch: &[RawData<'_>]) -> Vec<Result<Connected, ConverterError>> {
        batch
            .iter()
            .map(|d| self.to_connect(d.topic, d.bytes))
            .collect()
    }
}

/// [`Converter::from_connect`] of a borrowed value, made owned first when it is not a
/// [`Value`]: the default [`Converter::from_connect_ref`], and the fallback of converters that
/// override it for the values they write as they are.
pub fn from_connect_owned<'a, C: Converter + ?Sized>(
    converter: &C,
    topic: &str,
    schema: Option<&SchemaRef>,
    value: ValueRef<'a>,
) -> Result<Option<Cow<'a, [u8]>>, ConverterError> {
    let bytes = match value {
        ValueRef::Value(v) => converter.from_connect(topic, schema, v)?,
        other => converter.from_connect(topic, schema, &other.to_value())?,
    };
    Ok(bytes.map(Cow::Owned))
}

/// Converts record header values.
pub trait HeaderConverter: Send + Sync {
    /// Connect header value → bytes (`None` = null).
    #[allow(clippy::wrong_self_convention)] // Kafka's name (`fromConnectHeader`)
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError>;

    /// Header bytes (`None` = null) → Connect data.
    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Connected, ConverterError>;
}

/// Every value converter also converts headers, the same way (as in Kafka, where the built-in
/// converters implement `HeaderConverter` by delegating to themselves).
impl<C: Converter> HeaderConverter for C {
    fn from_connect_header(
        &self,
        topic: &str,
        _key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        self.from_connect(topic, schema, value)
    }

    fn to_connect_header(
        &self,
        topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Connected, ConverterError> {
        self.to_connect(topic, bytes)
    }
}
