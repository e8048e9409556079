//! A connector's transformation chain, built from the `transforms=` / `predicates=` syntax of
//! its config (connect-compat §4.3), and the validation of those keys for the REST validate
//! output (Java's `ConnectorConfig.enrich`).

use std::collections::HashSet;

use tributary_connector_api::config::{split_list, ConfigError, Default};
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigKeyInfo, ConfigType, ConfigValueInfo, Importance, Props, Width,
};

use crate::error::TransformError;
use crate::plugin::{Outcome, Predicate, Transformation};
use crate::record::ConnectRecord;

pub const TRANSFORMS: &str = "transforms";
pub const PREDICATES: &str = "predicates";
/// The implicit per-transformation keys the framework consumes.
pub const PREDICATE: &str = "predicate";
pub const NEGATE: &str = "negate";

/// One transformation of the chain, with its optional predicate.
pub struct Stage {
    /// The transformation's class name (for error reports: `__connect.errors.class.name`).
    pub class: &'static str,
    transform: Box<dyn Transformation>,
    predicate: Option<Box<dyn Predicate>>,
    negate: bool,
}

impl Stage {
    /// Applies the transformation if the predicate (xor `negate`) allows it.
    pub fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        if let Some(p) = &self.predicate {
            if p.test(record) == self.negate {
                return Ok(Outcome::Keep);
            }
        }
        self.transform.apply(record)
    }
}

/// The configured transformations of one task, in order.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
}

/// The keys under `<kind>.<alias>.` with the prefix removed.
fn sub_props(props: &Props, prefix: &str) -> Props {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
        .collect()
}

fn aliases(props: &Props, key: &str) -> Result<Vec<String>, ConfigError> {
    let list = props.get(key).map(|v| split_list(v)).unwrap_or_default();
    let mut seen = HashSet::new();
    if let Some(dup) = list.iter().find(|a| !seen.insert(a.as_str())) {
        return Err(ConfigError {
            key: key.to_owned(),
            message: format!(
                "Invalid value [{}] for configuration {key}: Duplicate alias provided ({dup}).",
                list.join(", ")
            ),
        });
    }
    Ok(list)
}

fn missing(key: &str) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: format!("Missing required configuration \"{key}\" which has no default value."),
    }
}

fn not_found(key: &str, class: &str, kind: &str) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: format!(
            "Invalid value {class} for configuration {key}: Class {class} could not be found \
             (no built-in {kind} has that class name or alias)."
        ),
    }
}

/// Prefixes the key of an error a plugin reported about its own (unprefixed) key.
fn prefixed(prefix: &str, e: ConfigError) -> ConfigError {
    ConfigError {
        key: format!("{prefix}{}", e.key),
        message: e.message,
    }
}

/// A configured transformation of an external class, with its (interned) class name, or why
/// it could not be configured.
pub type ExternalTransformation = Result<(&'static str, Box<dyn Transformation>), String>;

/// Transformation and predicate classes beyond the built-ins (those of plugin libraries). A
/// name is looked up here only when no built-in has it.
pub trait ExternalClasses {
    /// A configured transformation of the class `name` names, with its full class name
    /// (interned: see [`intern_class`]); `None` if there is no such class.
    fn transformation(&self, name: &str, config: &Props) -> Option<ExternalTransformation>;
    /// A configured predicate of the class `name` names; `None` if there is no such class.
    fn predicate(&self, name: &str, config: &Props) -> Option<Result<Box<dyn Predicate>, String>>;
    /// The config definition of a transformation (`transform`) or predicate class.
    fn config_def(&self, transform: bool, name: &str) -> Option<ConfigDef>;
}

/// No classes beyond the built-ins.
pub struct BuiltInsOnly;

impl ExternalClasses for BuiltInsOnly {
    fn transformation(&self, _: &str, _: &Props) -> Option<ExternalTransformation> {
        None
    }

    fn predicate(&self, _: &str, _: &Props) -> Option<Result<Box<dyn Predicate>, String>> {
        None
    }

    fn config_def(&self, _: bool, _: &str) -> Option<ConfigDef> {
        None
    }
}

/// A class name that lives as long as the process, as the built-ins' do: each distinct name
/// is kept once (plugin libraries are never unloaded, so their class names are few and fixed).
pub fn intern_class(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<Option<HashSet<&'static str>>> = std::sync::Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The class named by `<prefix>type`, as (key, class).
fn type_of<'a>(props: &'a Props, prefix: &str) -> (String, Option<&'a str>) {
    let key = format!("{prefix}type");
    let class = props.get(&key).map(|s| s.trim()).filter(|s| !s.is_empty());
    (key, class)
}

fn build_predicate(
    props: &Props,
    alias: &str,
    external: &dyn ExternalClasses,
) -> Result<Box<dyn Predicate>, ConfigError> {
    let prefix = format!("{PREDICATES}.{alias}.");
    let (key, class) = type_of(props, &prefix);
    let class = class.ok_or_else(|| missing(&key))?;
    let mut sub = sub_props(props, &prefix);
    sub.remove("type");
    match crate::find_predicate(class) {
        Some(plugin) => plugin.build(&sub).map_err(|e| prefixed(&prefix, e)),
        None => match external.predicate(class, &sub) {
            Some(built) => built.map_err(|message| ConfigError { key, message }),
            None => Err(not_found(&key, class, "predicate")),
        },
    }
}

/// The predicate alias and negation of a transformation, checked against `predicates`.
fn predicate_of(
    props: &Props,
    prefix: &str,
    predicates: &[String],
) -> Result<Option<(String, bool)>, ConfigError> {
    let predicate_key = format!("{prefix}{PREDICATE}");
    let negate_key = format!("{prefix}{NEGATE}");
    let alias = props
        .get(&predicate_key)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let negate = match props.get(&negate_key).map(|s| s.trim()) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ConfigError {
                key: negate_key.clone(),
                message: format!(
                    "Invalid value {v} for configuration {negate_key}: Expected value to be either true or false"
                ),
            })
        }
    };
    match alias {
        None if props.contains_key(&negate_key) => Err(ConfigError {
            key: negate_key.clone(),
            message: format!(
                "Config '{negate_key}' was provided but there is no config '{predicate_key}' \
                 defining a predicate to be negated."
            ),
        }),
        None => Ok(None),
        Some(alias) if !predicates.contains(&alias) => Err(ConfigError {
            key: predicate_key.clone(),
            message: format!(
                "Invalid value {alias} for configuration {predicate_key}: the predicate alias \
                 '{alias}' is not listed in '{PREDICATES}'."
            ),
        }),
        Some(alias) => Ok(Some((alias, negate))),
    }
}

impl TransformChain {
    /// Builds the chain of a connector config from the built-in classes. Errors name the
    /// offending (full) key.
    pub fn from_props(props: &Props) -> Result<TransformChain, ConfigError> {
        Self::from_props_with(props, &BuiltInsOnly)
    }

    /// Builds the chain of a connector config from the built-in classes and `external` ones.
    pub fn from_props_with(
        props: &Props,
        external: &dyn ExternalClasses,
    ) -> Result<TransformChain, ConfigError> {
        let predicates = aliases(props, PREDICATES)?;
        let mut stages = Vec::new();
        for alias in aliases(props, TRANSFORMS)? {
            let prefix = format!("{TRANSFORMS}.{alias}.");
            let (key, class) = type_of(props, &prefix);
            let class = class.ok_or_else(|| missing(&key))?;
            let predicate = match predicate_of(props, &prefix, &predicates)? {
                Some((p, negate)) => Some((build_predicate(props, &p, external)?, negate)),
                None => None,
            };
            let mut sub = sub_props(props, &prefix);
            for implicit in ["type", PREDICATE, NEGATE] {
                sub.remove(implicit);
            }
            let (class, transform) = match crate::find_transformation(class) {
                Some(plugin) => (
                    plugin.class,
                    plugin.build(&sub).map_err(|e| prefixed(&prefix, e))?,
                ),
                None => match external.transformation(class, &sub) {
                    Some(built) => built.map_err(|message| ConfigError {
                        key: key.clone(),
                        message,
                    })?,
                    None => return Err(not_found(&key, class, "transformation")),
                },
            };
            let (predicate, negate) = match predicate {
                Some((p, n)) => (Some(p), n),
                None => (None, false),
            };
            stages.push(Stage {
                class,
                transform,
                predicate,
                negate,
            });
        }
        Ok(TransformChain { stages })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// The stages in order, for a caller that runs each under its own error handling.
    pub fn stages_mut(&mut self) -> &mut [Stage] {
        &mut self.stages
    }

    /// Runs every stage; a dropped record stops the chain. An error carries the failing
    /// stage's index.
    pub fn apply(
        &mut self,
        record: &mut dyn ConnectRecord,
    ) -> Result<Outcome, (usize, TransformError)> {
        for (i, stage) in self.stages.iter_mut().enumerate() {
            if stage.apply(record).map_err(|e| (i, e))? == Outcome::Drop {
                return Ok(Outcome::Drop);
            }
        }
        Ok(Outcome::Keep)
    }
}

/// The transformation and predicate keys of a connector config, for the REST validate output:
/// Java's enriched definition (`transforms.<alias>.type`, the implicit `predicate` / `negate`,
/// and each plugin's own keys under the alias prefix, grouped `Transforms: <alias>` /
/// `Predicates: <alias>`) with the values and errors found in `props`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainValidation {
    /// Enriched keys in Java's order, with their values.
    pub configs: Vec<(ConfigKeyInfo, ConfigValueInfo)>,
    /// The groups of those keys, in order.
    pub groups: Vec<String>,
    /// Errors of the framework keys `transforms` / `predicates` themselves: (key, message).
    pub errors: Vec<(String, String)>,
}

/// Java's `ConfigDef.sortedConfigs` order for ungrouped keys: required first, then by
/// importance, then by name.
fn java_order(keys: &mut [ConfigKey]) {
    let rank = |i: Importance| match i {
        Importance::High => 0,
        Importance::Medium => 1,
        Importance::Low => 2,
    };
    keys.sort_by(|a, b| {
        let required = |k: &ConfigKey| if k.default == Default::Required { 0 } else { 1 };
        (required(a), rank(a.importance), &a.name).cmp(&(required(b), rank(b.importance), &b.name))
    });
}

/// Validates one alias: its `type` key, then the embedded keys, then (when they all pass)
/// what the plugin's constructor checks.
fn validate_alias(
    out: &mut ChainValidation,
    props: &Props,
    kind: &str,
    alias: &str,
    predicates: &[String],
    external: &dyn ExternalClasses,
) {
    let is_transform = kind == TRANSFORMS;
    let (noun, group_name) = if is_transform {
        ("transformation", "Transforms")
    } else {
        ("predicate", "Predicates")
    };
    let prefix = format!("{kind}.{alias}.");
    let group = format!("{group_name}: {alias}");
    out.groups.push(group.clone());
    let (type_key, class) = type_of(props, &prefix);
    let type_info = ConfigKey::new(
        &type_key,
        ConfigType::Class,
        Default::Required,
        Importance::High,
        format!("Class for the '{alias}' {noun}."),
    )
    .group(group.clone(), 0)
    .width(Width::Long)
    .display_name(format!(
        "{} type for {alias}",
        if is_transform {
            "Transformation"
        } else {
            "Predicate"
        }
    ))
    .info();
    let recommended: Vec<String> = if is_transform {
        crate::transformations()
            .iter()
            .map(|p| p.class.to_owned())
            .collect()
    } else {
        crate::predicates()
            .iter()
            .map(|p| p.class.to_owned())
            .collect()
    };
    let mut type_value = ConfigValueInfo {
        name: type_key.clone(),
        value: props.get(&type_key).cloned(),
        recommended_values: recommended,
        errors: Vec::new(),
        visible: true,
    };
    let plugin_def = match class {
        None => {
            type_value.errors.push(missing(&type_key).message);
            None
        }
        Some(class) => {
            let def = if is_transform {
                crate::find_transformation(class).map(|p| (p.config_def)())
            } else {
                crate::find_predicate(class).map(|p| (p.config_def)())
            }
            .or_else(|| external.config_def(is_transform, class));
            if def.is_none() {
                type_value
                    .errors
                    .push(not_found(&type_key, class, noun).message);
            }
            def
        }
    };
    let implicit_error = if is_transform {
        predicate_of(props, &prefix, predicates).err()
    } else {
        None
    };
    out.configs.push((type_info, type_value));
    let Some(plugin_def) = plugin_def else {
        return;
    };

    let mut keys: Vec<ConfigKey> = Vec::new();
    if is_transform {
        keys.push(ConfigKey::new(
            PREDICATE,
            ConfigType::String,
            Default::Null,
            Importance::Medium,
            "The alias of a predicate used to determine whether to apply this transformation.",
        ));
        keys.push(ConfigKey::new(
            NEGATE,
            ConfigType::Boolean,
            Default::Value("false".into()),
            Importance::Medium,
            "Whether the configured predicate should be negated.",
        ));
    }
    let mut own: Vec<ConfigKey> = plugin_def
        .keys
        .into_iter()
        .filter(|k| !(is_transform && (k.name == PREDICATE || k.name == NEGATE)))
        .collect();
    java_order(&mut own);
    keys.extend(own);
    let mut embedded = ConfigDef::new();
    for (i, key) in keys.into_iter().enumerate() {
        let mut key = key;
        key.name = format!("{prefix}{}", key.name);
        key.group = Some(group.clone());
        key.order = i as i32 + 1;
        embedded = embedded.define(key);
    }
    let mut values = embedded.validate(props);
    let clean = values.iter().all(|v| v.errors.is_empty()) && implicit_error.is_none();
    if let Some(e) = implicit_error {
        if let Some(v) = values.iter_mut().find(|v| v.name == e.key) {
            v.errors.push(e.message);
        }
    }
    if clean {
        // The plugin's own checks beyond its declared types and validators.
        let mut sub = sub_props(props, &prefix);
        for implicit in ["type", PREDICATE, NEGATE] {
            sub.remove(implicit);
        }
        let external_error = |e: String| ConfigError {
            key: "type".to_owned(),
            message: e,
        };
        let built = match class {
            Some(c) if is_transform => match crate::find_transformation(c) {
                Some(p) => p.build(&sub).err(),
                None => external
                    .transformation(c, &sub)
                    .and_then(|r| r.err())
                    .map(external_error),
            },
            Some(c) => match crate::find_predicate(c) {
                Some(p) => p.build(&sub).err(),
                None => external
                    .predicate(c, &sub)
                    .and_then(|r| r.err())
                    .map(external_error),
            },
            None => None,
        };
        if let Some(e) = built {
            let full = format!("{prefix}{}", e.key);
            match values.iter_mut().find(|v| v.name == full) {
                Some(v) => v.errors.push(e.message),
                None => {
                    if let Some((_, v)) = out.configs.last_mut() {
                        v.errors.push(e.message);
                    }
                }
            }
        }
    }
    for (key, value) in embedded.keys.iter().zip(values) {
        out.configs.push((key.info(), value));
    }
}

/// Validates the `transforms` / `predicates` keys of a connector config and every alias they
/// list, with the built-in classes.
pub fn validate(props: &Props) -> ChainValidation {
    validate_with(props, &BuiltInsOnly)
}

/// [`validate`] with the built-in classes and `external` ones.
pub fn validate_with(props: &Props, external: &dyn ExternalClasses) -> ChainValidation {
    let mut out = ChainValidation::default();
    // A duplicate is reported once on its key; validation goes on with each alias once.
    let mut unique_aliases = |key: &str| {
        if let Err(e) = aliases(props, key) {
            out.errors.push((e.key, e.message));
        }
        let mut seen = HashSet::new();
        props
            .get(key)
            .map(|v| split_list(v))
            .unwrap_or_default()
            .into_iter()
            .filter(|a| seen.insert(a.clone()))
            .collect::<Vec<String>>()
    };
    let predicates = unique_aliases(PREDICATES);
    let transforms = unique_aliases(TRANSFORMS);
    for alias in &transforms {
        validate_alias(&mut out, props, TRANSFORMS, alias, &predicates, external);
    }
    for alias in &predicates {
        validate_alias(&mut out, props, PREDICATES, alias, &predicates, external);
    }
    out
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::Value;

    use super::*;
    use crate::smt::testing::{props, sink};

    #[test]
    fn no_transforms_is_an_empty_chain() {
        let chain = TransformChain::from_props(&props(&[("name", "c")])).unwrap();
        assert!(chain.is_empty());
        assert_eq!(validate(&props(&[])), ChainValidation::default());
    }

    #[test]
    fn chain_errors_name_the_key() {
        let err = |pairs: &[(&str, &str)]| TransformChain::from_props(&props(pairs)).err().unwrap();
        assert_eq!(err(&[("transforms", "a,b,a")]).key, "transforms");
        assert_eq!(err(&[("transforms", "a")]).key, "transforms.a.type");
        let e = err(&[("transforms", "a"), ("transforms.a.type", "Nope")]);
        assert_eq!(e.key, "transforms.a.type");
        assert!(e.message.contains("Nope"), "{}", e.message);
        let e = err(&[
            ("transforms", "a"),
            (
                "transforms.a.type",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ),
        ]);
        assert_eq!(
            e.key, "transforms.a.type",
            "a predicate is not a transformation"
        );
        let e = err(&[
            ("transforms", "a"),
            (
                "transforms.a.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.a.negate", "true"),
        ]);
        assert_eq!(e.key, "transforms.a.negate");
        let e = err(&[
            ("transforms", "a"),
            (
                "transforms.a.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.a.predicate", "p"),
        ]);
        assert_eq!(e.key, "transforms.a.predicate", "p is not in predicates");
        let e = err(&[
            ("transforms", "a"),
            (
                "transforms.a.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.a.predicate", "p"),
            ("predicates", "p"),
            ("predicates.p.type", "TopicNameMatches"),
        ]);
        assert_eq!(e.key, "predicates.p.pattern");
    }

    #[test]
    fn predicate_and_negate_gate_the_transformation() {
        let base = [
            ("transforms", "drop"),
            (
                "transforms.drop.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.drop.predicate", "isTomb"),
            ("predicates", "isTomb"),
            (
                "predicates.isTomb.type",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ),
        ];
        let mut chain = TransformChain::from_props(&props(&base)).unwrap();
        let mut tomb = sink("t", None, Value::Null, None, Value::Null);
        let mut live = sink("t", None, Value::Null, None, Value::from("v"));
        assert_eq!(chain.apply(&mut tomb).unwrap(), Outcome::Drop);
        assert_eq!(chain.apply(&mut live).unwrap(), Outcome::Keep);

        let mut negated: Vec<(&str, &str)> = base.to_vec();
        negated.push(("transforms.drop.negate", "true"));
        let mut chain = TransformChain::from_props(&props(&negated)).unwrap();
        assert_eq!(chain.apply(&mut tomb).unwrap(), Outcome::Keep);
        assert_eq!(chain.apply(&mut live).unwrap(), Outcome::Drop);
    }

    #[test]
    fn validation_embeds_plugin_keys_under_the_alias() {
        let v = validate(&props(&[
            ("transforms", "route"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "(.*)-raw"),
        ]));
        assert_eq!(v.groups, ["Transforms: route"]);
        let names: Vec<&str> = v.configs.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "transforms.route.type",
                "transforms.route.predicate",
                "transforms.route.negate",
                "transforms.route.regex",
                "transforms.route.replacement",
            ]
        );
        let errors: Vec<(&str, &Vec<String>)> = v
            .configs
            .iter()
            .filter(|(_, val)| !val.errors.is_empty())
            .map(|(k, val)| (k.name.as_str(), &val.errors))
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "transforms.route.replacement");
        assert!(
            errors[0].1[0].contains("transforms.route.replacement"),
            "{errors:?}"
        );
        assert_eq!(v.configs[0].0.group.as_deref(), Some("Transforms: route"));
    }

    #[test]
    fn validation_reports_unknown_classes_and_duplicates() {
        let v = validate(&props(&[
            ("transforms", "a,a"),
            ("transforms.a.type", "Bogus"),
            ("predicates", "p"),
        ]));
        assert_eq!(v.errors.len(), 1);
        assert_eq!(v.errors[0].0, "transforms");
        assert_eq!(v.groups, ["Transforms: a", "Predicates: p"]);
        let type_errors: Vec<&str> = v
            .configs
            .iter()
            .filter(|(_, val)| !val.errors.is_empty())
            .map(|(k, _)| k.name.as_str())
            .collect();
        assert_eq!(type_errors, ["transforms.a.type", "predicates.p.type"]);
    }
}
