//! Config definitions: one declaration per key drives defaults, validation, typed access and
//! the REST `ConfigKeyInfo` / validate output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::Props;

/// The type of a config value (REST `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Importance {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Width {
    None,
    Short,
    Medium,
    Long,
}

/// A key's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Default {
    /// No default: the key is required.
    Required,
    /// The default is null (the key is optional and unset).
    Null,
    /// A default, written as the user would write it.
    Value(String),
}

/// Checks a key's value beyond its type. Plain data, so a plugin's manifest can carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Validator {
    /// Not null and not empty.
    NonEmptyString,
    /// Numeric value `>= min`.
    AtLeast(f64),
    /// Numeric value within `min..=max`.
    Between(f64, f64),
    /// One of the listed strings (case-insensitive when the flag is set).
    OneOf(Vec<String>, bool),
    /// A list with at least one element.
    NonEmptyList,
    /// A regular expression that compiles.
    Regex,
}

/// One declared config key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigKey {
    pub name: String,
    pub type_: ConfigType,
    pub default: Default,
    pub validator: Option<Validator>,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order: i32,
    pub width: Width,
    pub display_name: String,
    pub dependents: Vec<String>,
}

impl ConfigKey {
    /// A key with the given type and default; other attributes via the builder methods.
    pub fn new(
        name: impl Into<String>,
        type_: ConfigType,
        default: Default,
        importance: Importance,
        documentation: impl Into<String>,
    ) -> ConfigKey {
        let name = name.into();
        ConfigKey {
            display_name: name.clone(),
            name,
            type_,
            default,
            validator: None,
            importance,
            documentation: documentation.into(),
            group: None,
            order: -1,
            width: Width::None,
            dependents: Vec::new(),
        }
    }

    pub fn validator(mut self, v: Validator) -> ConfigKey {
        self.validator = Some(v);
        self
    }

    pub fn group(mut self, group: impl Into<String>, order: i32) -> ConfigKey {
        self.group = Some(group.into());
        self.order = order;
        self
    }

    pub fn width(mut self, width: Width) -> ConfigKey {
        self.width = width;
        self
    }

    pub fn display_name(mut self, name: impl Into<String>) -> ConfigKey {
        self.display_name = name.into();
        self
    }

    /// The REST `ConfigKeyInfo` of this key.
    pub fn info(&self) -> ConfigKeyInfo {
        let default_value = match (&self.default, self.type_) {
            (Default::Required | Default::Null, _) => None,
            (Default::Value(_), ConfigType::Password) => Some("[hidden]".to_owned()),
            (Default::Value(v), _) => Some(v.clone()),
        };
        ConfigKeyInfo {
            name: self.name.clone(),
            type_: self.type_,
            required: self.default == Default::Required,
            default_value,
            importance: self.importance,
            documentation: self.documentation.clone(),
            group: self.group.clone(),
            order: self.order,
            width: self.width,
            display_name: self.display_name.clone(),
            dependents: self.dependents.clone(),
        }
    }

    /// Parses and checks a raw value (after defaults). Returns the error text on failure.
    fn check(&self, raw: Option<&str>) -> Result<(), String> {
        let Some(raw) = raw else {
            return match (&self.default, &self.validator) {
                (Default::Required, _) => Err(format!(
                    "Missing required configuration \"{}\" which has no default value.",
                    self.name
                )),
                // As Kafka's `NonEmptyString`: an unset optional value passes.
                _ => Ok(()),
            };
        };
        let invalid = |why: &str| {
            Err(format!(
                "Invalid value {raw} for configuration {}: {why}",
                self.name
            ))
        };
        let trimmed = raw.trim();
        let number: Option<f64> = match self.type_ {
            ConfigType::Int | ConfigType::Short | ConfigType::Long => {
                let parsed = match self.type_ {
                    ConfigType::Int => trimmed.parse::<i32>().map(f64::from).ok(),
                    ConfigType::Short => trimmed.parse::<i16>().map(f64::from).ok(),
                    _ => trimmed.parse::<i64>().map(|v| v as f64).ok(),
                };
                match parsed {
                    Some(v) => Some(v),
                    None => {
                        let what = match self.type_ {
                            ConfigType::Int => "Not a number of type INT",
                            ConfigType::Short => "Not a number of type SHORT",
                            _ => "Not a number of type LONG",
                        };
                        return invalid(what);
                    }
                }
            }
            ConfigType::Double => match trimmed.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => return invalid("Not a number of type DOUBLE"),
            },
            ConfigType::Boolean => {
                if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                    return invalid("Expected value to be either true or false");
                }
                None
            }
            _ => None,
        };
        match &self.validator {
            None => Ok(()),
            Some(Validator::NonEmptyString) if raw.is_empty() => {
                invalid("String must be non-empty")
            }
            Some(Validator::NonEmptyString) => Ok(()),
            Some(Validator::AtLeast(min)) => match number {
                Some(v) if v < *min => invalid(&format!("Value must be at least {min}")),
                _ => Ok(()),
            },
            Some(Validator::Between(min, max)) => match number {
                Some(v) if v < *min || v > *max => invalid(&format!(
                    "Value must be no less than {min} and no more than {max}"
                )),
                _ => Ok(()),
            },
            Some(Validator::OneOf(allowed, case_insensitive)) => {
                let ok = allowed.iter().any(|a| {
                    if *case_insensitive {
                        a.eq_ignore_ascii_case(trimmed)
                    } else {
                        a == trimmed
                    }
                });
                if ok {
                    Ok(())
                } else {
                    invalid(&format!("String must be one of: {}", allowed.join(", ")))
                }
            }
            Some(Validator::NonEmptyList) => {
                if split_list(raw).is_empty() {
                    invalid("Empty list")
                } else {
                    Ok(())
                }
            }
            Some(Validator::Regex) => match regex::Regex::new(raw) {
                Ok(_) => Ok(()),
                Err(e) => invalid(&format!("Invalid regex: {e}")),
            },
        }
    }
}

/// Java's `String.trim()`: strips the characters up to U+0020 from both ends.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Splits a comma-separated LIST value, trimming entries and dropping empty ones.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// REST `ConfigKeyInfo`, field names exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigKeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: ConfigType,
    pub required: bool,
    pub default_value: Option<String>,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order: i32,
    pub width: Width,
    pub display_name: String,
    pub dependents: Vec<String>,
}

/// REST `ConfigValueInfo`: the result of validating one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigValueInfo {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// A set of declared keys, in declaration order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfigDef {
    pub keys: Vec<ConfigKey>,
}

impl ConfigDef {
    pub fn new() -> ConfigDef {
        ConfigDef { keys: Vec::new() }
    }

    /// Adds a key (builder style).
    pub fn define(mut self, key: ConfigKey) -> ConfigDef {
        self.keys.push(key);
        self
    }

    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Validates every declared key against `props`, one [`ConfigValueInfo`] per key.
    /// Password values are never echoed back.
    pub fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        self.keys
            .iter()
            .map(|key| {
                let raw = self.raw(key, props);
                let errors = match key.check(raw.as_deref()) {
                    Ok(()) => Vec::new(),
                    Err(e) => vec![e],
                };
                let value = match key.type_ {
                    ConfigType::Password => raw.map(|_| "[hidden]".to_owned()),
                    _ => raw,
                };
                ConfigValueInfo {
                    name: key.name.clone(),
                    value,
                    recommended_values: Vec::new(),
                    errors,
                    visible: true,
                }
            })
            .collect()
    }

    /// [`ConfigDef::validate`], with the error of the component's own reading of `props`
    /// (if any) on the key it names.
    pub fn validate_parsed<T>(
        &self,
        props: &Props,
        parsed: Result<T, ConfigError>,
    ) -> Vec<ConfigValueInfo> {
        let mut values = self.validate(props);
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

    /// Parses `props`: every declared key checked, defaults applied. Errors name their key.
    pub fn parse(&self, props: &Props) -> Result<Config, ConfigError> {
        let mut values = BTreeMap::new();
        for key in &self.keys {
            let raw = self.raw(key, props);
            key.check(raw.as_deref()).map_err(|message| ConfigError {
                key: key.name.clone(),
                message,
            })?;
            values.insert(key.name.clone(), raw);
        }
        Ok(Config { values })
    }

    /// The value of `key` in `props` (else its default). STRING and CLASS values are trimmed
    /// as Kafka's config parser trims them.
    fn raw(&self, key: &ConfigKey, props: &Props) -> Option<String> {
        let value = match props.get(&key.name) {
            Some(v) => v.clone(),
            None => match &key.default {
                Default::Value(v) => v.clone(),
                _ => return None,
            },
        };
        Some(match key.type_ {
            ConfigType::String | ConfigType::Class => java_trim(&value).to_owned(),
            _ => value,
        })
    }

    /// The REST `ConfigKeyInfo` list.
    pub fn infos(&self) -> Vec<ConfigKeyInfo> {
        self.keys.iter().map(ConfigKey::info).collect()
    }
}

/// A config value failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct ConfigError {
    /// The offending key.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl From<ConfigError> for crate::error::ConnectError {
    /// Kafka's wording for a bad value, naming the key (the value itself is left out: it
    /// may be a secret).
    fn from(e: ConfigError) -> crate::error::ConnectError {
        crate::error::ConnectError::new(format!(
            "Invalid value for configuration {}: {}",
            e.key, e.message
        ))
    }
}

/// Parsed config: every declared key present (null when unset without default), already
/// checked by [`ConfigDef::parse`], so the typed getters do not fail on declared keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    values: BTreeMap<String, Option<String>>,
}

impl Config {
    /// The raw (string) value; `None` when unset with a null default or undeclared.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.as_deref())
    }

    pub fn get_string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    pub fn get_i32(&self, name: &str) -> Option<i32> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.get(name)
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    pub fn get_list(&self, name: &str) -> Vec<String> {
        self.get(name).map(split_list).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(
                    "topic",
                    ConfigType::String,
                    Default::Required,
                    Importance::High,
                    "t",
                )
                .validator(Validator::NonEmptyString),
            )
            .define(
                ConfigKey::new(
                    "batch.size",
                    ConfigType::Int,
                    Default::Value("2000".into()),
                    Importance::Low,
                    "b",
                )
                .validator(Validator::AtLeast(1.0)),
            )
            .define(ConfigKey::new(
                "file",
                ConfigType::String,
                Default::Null,
                Importance::High,
                "f",
            ))
    }

    #[test]
    fn a_components_own_parse_error_lands_on_its_key() {
        let mut props = Props::new();
        props.insert("topic".into(), "t".into());
        let parsed: Result<(), ConfigError> = Err(ConfigError::new("file", "no such file"));
        let values = def().validate_parsed(&props, parsed);
        let file = values.iter().find(|v| v.name == "file").unwrap();
        assert_eq!(file.errors, ["no such file"]);
        assert!(values
            .iter()
            .filter(|v| v.name != "file")
            .all(|v| v.errors.is_empty()));
        // A key the definition does not declare is added.
        let values = def().validate_parsed(&props, Err::<(), _>(ConfigError::new("x.y", "bad")));
        assert_eq!(
            values.last().map(|v| (v.name.as_str(), v.errors.clone())),
            Some(("x.y", vec!["bad".to_owned()]))
        );
        assert_eq!(
            def().validate_parsed(&props, Ok(())),
            def().validate(&props)
        );
        let e: crate::error::ConnectError = ConfigError::new("file", "no such file").into();
        assert_eq!(
            e.message,
            "Invalid value for configuration file: no such file"
        );
    }

    #[test]
    fn parse_applies_defaults_and_names_the_bad_key() {
        let mut props = Props::new();
        props.insert("topic".into(), "t1".into());
        let cfg = def().parse(&props).unwrap();
        assert_eq!(cfg.get_i32("batch.size"), Some(2000));
        assert_eq!(cfg.get("file"), None);

        props.insert("batch.size".into(), "zero".into());
        let err = def().parse(&props).unwrap_err();
        assert_eq!(err.key, "batch.size");
        props.insert("batch.size".into(), "0".into());
        assert_eq!(def().parse(&props).unwrap_err().key, "batch.size");

        let err = def().parse(&Props::new()).unwrap_err();
        assert_eq!(err.key, "topic");

        // STRING values are trimmed, as Kafka's parser does.
        props.insert("batch.size".into(), "10".into());
        props.insert("topic".into(), " t1\t".into());
        assert_eq!(def().parse(&props).unwrap().get("topic"), Some("t1"));
        props.insert("topic".into(), "  ".into());
        assert_eq!(
            def().parse(&props).unwrap_err().key,
            "topic",
            "blank is empty"
        );
    }

    #[test]
    fn key_info_renders_rest_shape() {
        let json = serde_json::to_value(def().keys[1].info()).unwrap();
        assert_eq!(json["type"], "INT");
        assert_eq!(json["required"], false);
        assert_eq!(json["default_value"], "2000");
        assert_eq!(json["importance"], "LOW");
        assert_eq!(json["width"], "NONE");
        let json = serde_json::to_value(def().keys[0].info()).unwrap();
        assert_eq!(json["required"], true);
        assert!(json["default_value"].is_null());
    }
}
