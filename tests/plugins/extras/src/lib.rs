//! Test fixture plugin: a key/value converter and a single-message transformation, loaded from
//! `plugin.path` like connectors, to check that third-party components work end to end.
//!
//! * `com.example.UpperCaseConverter` writes string values upper-cased (and reads bytes as a
//!   string as they are), with a `prefix` setting put in front of every written value.
//! * `com.example.AppendSuffix` appends its `suffix` setting to string values.
//! * `com.example.Utf8Converter` does what the built-in StringConverter does (for the bench).
//! * `com.example.PrefixConfigProvider` resolves each key to its `prefix` parameter + the key.

use std::collections::{BTreeMap, BTreeSet};

use tributary_connector_api::component::{
    ConfigProviderClass, ConverterClass, PluginClass, TransformationClass,
};
use tributary_connector_api::config::{ConfigError, ConfigKey, ConfigType, Default, Importance};
use tributary_connector_api::converter::Connected;
use tributary_connector_api::transform::{ConnectRecord, Outcome, TransformError};
use tributary_connector_api::{
    ConfigDef, ConfigProvider, Converter, ConverterError, Props, Schema, SchemaRef, Transformation,
    Value,
};

/// Bytes as an optional string, as both fixture converters read them.
fn read_string(bytes: Option<&[u8]>) -> Result<Connected, ConverterError> {
    match bytes {
        None => Ok((Some(Schema::optional_string()), Value::Null)),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => Ok((Some(Schema::optional_string()), Value::String(s.to_owned()))),
            Err(e) => Err(ConverterError::Deserialize(e.to_string())),
        },
    }
}

pub struct UpperCaseConverter {
    prefix: String,
}

impl PluginClass for UpperCaseConverter {
    const CLASS: &'static str = "com.example.UpperCaseConverter";

    fn version() -> String {
        "1.0.0".to_owned()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new(
            "prefix",
            ConfigType::String,
            Default::Value(String::new()),
            Importance::Low,
            "Put in front of every value written.",
        ))
    }
}

impl ConverterClass for UpperCaseConverter {
    fn configure(config: &Props, _is_key: bool) -> Result<Self, ConverterError> {
        let prefix = config.get("prefix").cloned().unwrap_or_default();
        if prefix.len() > 64 {
            return Err(ConverterError::config("prefix", "at most 64 bytes"));
        }
        Ok(UpperCaseConverter { prefix })
    }
}

impl Converter for UpperCaseConverter {
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(
                format!("{}{}", self.prefix, s.to_uppercase()).into_bytes(),
            )),
            other => Err(ConverterError::Serialize(format!(
                "UpperCaseConverter writes strings only, not {other:?}"
            ))),
        }
    }

    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Connected, ConverterError> {
        read_string(bytes)
    }
}

/// Strings as UTF-8 bytes, as Kafka's StringConverter writes them: the same work as the
/// built-in, to measure what crossing the plugin boundary costs a converter.
pub struct Utf8Converter;

impl PluginClass for Utf8Converter {
    const CLASS: &'static str = "com.example.Utf8Converter";

    fn config_def() -> ConfigDef {
        ConfigDef::new()
    }
}

impl ConverterClass for Utf8Converter {
    fn configure(_: &Props, _: bool) -> Result<Self, ConverterError> {
        Ok(Utf8Converter)
    }
}

impl Converter for Utf8Converter {
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
            other => Err(ConverterError::Serialize(format!(
                "Utf8Converter writes strings only, not {other:?}"
            ))),
        }
    }

    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Connected, ConverterError> {
        read_string(bytes)
    }
}

pub struct AppendSuffix {
    suffix: String,
}

impl PluginClass for AppendSuffix {
    const CLASS: &'static str = "com.example.AppendSuffix";

    fn version() -> String {
        "1.0.0".to_owned()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new(
            "suffix",
            ConfigType::String,
            Default::Required,
            Importance::High,
            "Appended to every string value.",
        ))
    }
}

impl TransformationClass for AppendSuffix {
    fn configure(config: &Props) -> Result<Self, ConfigError> {
        match config.get("suffix") {
            Some(suffix) => Ok(AppendSuffix {
                suffix: suffix.clone(),
            }),
            None => Err(ConfigError {
                key: "suffix".to_owned(),
                message: "Missing required configuration \"suffix\" which has no default value."
                    .to_owned(),
            }),
        }
    }
}

impl Transformation for AppendSuffix {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let (_, value) = record.value_mut();
        if let Value::String(s) = value {
            s.push_str(&self.suffix);
        }
        Ok(Outcome::Keep)
    }
}

/// A config provider whose value for each key is its `prefix` parameter followed by the key.
pub struct PrefixConfigProvider {
    prefix: String,
}

impl PluginClass for PrefixConfigProvider {
    const CLASS: &'static str = "com.example.PrefixConfigProvider";

    fn config_def() -> ConfigDef {
        ConfigDef::new()
    }
}

impl ConfigProviderClass for PrefixConfigProvider {
    fn configure(params: &Props) -> Result<Self, String> {
        Ok(PrefixConfigProvider {
            prefix: params.get("prefix").cloned().unwrap_or_default(),
        })
    }
}

impl ConfigProvider for PrefixConfigProvider {
    fn get(
        &self,
        _path: &str,
        keys: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, String>, String> {
        Ok(keys
            .iter()
            .map(|k| (k.clone(), format!("{}{k}", self.prefix)))
            .collect())
    }
}

tributary_connector_api::export_plugin!(
    sources: [],
    sinks: [],
    converters: [UpperCaseConverter, Utf8Converter],
    transformations: [AppendSuffix],
    config_providers: [PrefixConfigProvider],
);
