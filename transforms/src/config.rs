//! Config helpers shared by the transformations and predicates: key builders and parsing that
//! names the offending key, over the connector API's [`ConfigDef`].

pub use tributary_connector_api::config::java_trim;
use tributary_connector_api::config::{Config, ConfigError, Default};
use tributary_connector_api::{ConfigDef, ConfigKey, ConfigType, Importance, Props};

/// `replace.null.with.default` (KIP-1040): a null field whose schema has a default becomes the
/// default (true) or stays null (false).
pub const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// A key with no group (SMT keys are grouped by the connector config that embeds them).
pub fn key(
    name: &str,
    type_: ConfigType,
    default: Default,
    importance: Importance,
    doc: &str,
) -> ConfigKey {
    ConfigKey::new(name, type_, default, importance, doc)
}

/// A required key.
pub fn required(name: &str, type_: ConfigType, importance: Importance, doc: &str) -> ConfigKey {
    key(name, type_, Default::Required, importance, doc)
}

/// A key with a default written as the user would write it.
pub fn with_default(
    name: &str,
    type_: ConfigType,
    default: &str,
    importance: Importance,
    doc: &str,
) -> ConfigKey {
    key(
        name,
        type_,
        Default::Value(default.to_owned()),
        importance,
        doc,
    )
}

/// An optional key whose default is null.
pub fn optional(name: &str, type_: ConfigType, importance: Importance, doc: &str) -> ConfigKey {
    key(name, type_, Default::Null, importance, doc)
}

/// The `replace.null.with.default` key (BOOLEAN, default true).
pub fn replace_null_with_default() -> ConfigKey {
    with_default(
        REPLACE_NULL_WITH_DEFAULT,
        ConfigType::Boolean,
        "true",
        Importance::Medium,
        "Whether to replace fields that have a default value and that are null to the default value. \
         When set to true, the default value is used, otherwise null is used.",
    )
}

/// Parses `props` against `def`: types, validators and required keys checked, defaults applied.
pub fn parse(def: &ConfigDef, props: &Props) -> Result<Config, ConfigError> {
    def.parse(props)
}

/// `Invalid value <value> for configuration <key>: <why>`, naming the key.
pub fn invalid(key: &str, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: format!("Invalid value {value} for configuration {key}: {why}"),
    }
}

/// Compiles a regular expression that must match a whole string (Java's `Matcher.matches`).
pub fn whole_regex(key: &str, pattern: &str) -> Result<regex::Regex, ConfigError> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| invalid(key, pattern, e))
}

/// A LIST value as Kafka's config parser splits it: the whole value trimmed, then split at
/// commas with the blanks around them; empty entries are kept (`a,,b` has three) and an empty
/// value is an empty list.
pub fn java_list(raw: &str) -> Vec<String> {
    let whole = java_trim(raw);
    if whole.is_empty() {
        return Vec::new();
    }
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r');
    whole
        .split(',')
        .map(|part| part.trim_matches(blank).to_owned())
        .collect()
}
