//! What the source and sink connectors declare alike: the connection keys of their
//! `config_def`.

use tributary_connector_api::config::{
    ConfigKey, ConfigType, Default as ConfigDefault, Importance,
};
use tributary_connector_api::ConfigDef;

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
