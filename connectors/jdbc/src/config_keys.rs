//! What the source and sink connectors declare alike: the connection keys of their
//! `config_def`, and validation that adds a parse error to the key it names.

use tributary_connector_api::config::{
    ConfigKey, ConfigType, Default as ConfigDefault, Importance,
};
use tributary_connector_api::{ConfigDef, ConfigValueInfo, Props};

use crate::ConfigError;

/// A key of a JDBC connector's config.
pub fn key(name: &str, type_: ConfigType, default: ConfigDefault, doc: &str) -> ConfigKey {
    ConfigKey::new(name, type_, default, Importance::High, doc)
}

/// A default value.
pub fn value(v: &str) -> ConfigDefault {
    ConfigDefault::Value(v.to_owned())
}

/// The connection keys both connectors have.
pub fn connection(def: ConfigDef) -> ConfigDef {
    def.define(key(
        "connection.url",
        ConfigType::String,
        ConfigDefault::Required,
        "JDBC URL: jdbc:postgresql://…, jdbc:mysql://…, jdbc:mariadb://… or jdbc:sqlite:<path>.",
    ))
    .define(key(
        "connection.user",
        ConfigType::String,
        ConfigDefault::Null,
        "Database user.",
    ))
    .define(key(
        "connection.password",
        ConfigType::Password,
        ConfigDefault::Null,
        "Database password.",
    ))
    .define(key(
        "connection.attempts",
        ConfigType::Int,
        value("3"),
        "Tries to connect.",
    ))
    .define(key(
        "connection.backoff.ms",
        ConfigType::Long,
        value("10000"),
        "Wait between connection tries.",
    ))
    .define(key(
        "dialect.name",
        ConfigType::String,
        value(""),
        "Force a dialect.",
    ))
}

/// The definition's validation, with `parsed`'s error (if any) on the key it names.
pub fn validate<T>(
    def: &ConfigDef,
    props: &Props,
    parsed: Result<T, ConfigError>,
) -> Vec<ConfigValueInfo> {
    let mut values = def.validate(props);
    if let Err(e) = parsed {
        match values.iter_mut().find(|v| v.name == e.key) {
            Some(v) => v.errors.push(e.message),
            None => values.push(ConfigValueInfo {
                name: e.key,
                value: None,
                recommended_values: Vec::new(),
                errors: vec![e.message],
                visible: true,
            }),
        }
    }
    values
}
