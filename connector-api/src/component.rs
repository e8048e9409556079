//! What a plugin library declares about each class it exports besides connectors: its class
//! name, version, config keys, and how to build a configured instance. The worker's built-ins
//! are described the same way in its registries.

use crate::config::{ConfigDef, ConfigError};
use crate::converter::{Converter, ConverterError, HeaderConverter};
use crate::provider::ConfigProvider;
use crate::record::Props;
use crate::transform::{Predicate, Transformation};

/// The kinds of classes a plugin may export next to connectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ComponentKind {
    Converter,
    HeaderConverter,
    Transformation,
    Predicate,
    ConfigProvider,
}

impl ComponentKind {
    /// The `type` shown by `GET /connector-plugins?connectorsOnly=false`.
    pub fn plugin_type(self) -> &'static str {
        match self {
            ComponentKind::Converter => "converter",
            ComponentKind::HeaderConverter => "header_converter",
            ComponentKind::Transformation => "transformation",
            ComponentKind::Predicate => "predicate",
            ComponentKind::ConfigProvider => "config_provider",
        }
    }

    /// The suffix an alias of `class` may drop (connect-compat §4.2): a header converter
    /// drops `HeaderConverter` (`Simple`), or `Converter` if that is how its name ends (`Json`).
    pub fn alias_suffix(self, class: &str) -> &'static str {
        match self {
            ComponentKind::HeaderConverter if !class.ends_with("HeaderConverter") => "Converter",
            ComponentKind::Converter => "Converter",
            ComponentKind::HeaderConverter => "HeaderConverter",
            ComponentKind::Transformation => "Transformation",
            ComponentKind::Predicate => "Predicate",
            ComponentKind::ConfigProvider => "ConfigProvider",
        }
    }
}

/// Name, version and keys of an exported class.
pub trait PluginClass: Sized + Send + 'static {
    /// Fully-qualified, Java-style class name.
    const CLASS: &'static str;

    /// The version shown by `/connector-plugins`.
    fn version() -> String {
        "undefined".to_owned()
    }

    /// The class's own config keys (no `value.converter.` / `transforms.<alias>.` prefix).
    fn config_def() -> ConfigDef;
}

/// A key/value converter class a plugin exports.
pub trait ConverterClass: PluginClass + Converter {
    /// Builds the converter from its own config (Kafka's `configure(configs, isKey)`).
    fn configure(config: &Props, is_key: bool) -> Result<Self, ConverterError>;
}

/// A header converter class a plugin exports.
pub trait HeaderConverterClass: PluginClass + HeaderConverter {
    fn configure(config: &Props) -> Result<Self, ConverterError>;
}

/// A transformation class a plugin exports.
pub trait TransformationClass: PluginClass + Transformation {
    fn configure(config: &Props) -> Result<Self, ConfigError>;
}

/// A predicate class a plugin exports.
pub trait PredicateClass: PluginClass + Predicate {
    fn configure(config: &Props) -> Result<Self, ConfigError>;
}

/// A config provider class a plugin exports.
pub trait ConfigProviderClass: PluginClass + ConfigProvider {
    /// Builds the provider from its `config.providers.<name>.param.*` keys.
    fn configure(params: &Props) -> Result<Self, String>;
}
