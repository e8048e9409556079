//! Config validation and plugin descriptions, shared by the standalone and distributed
//! herders: the framework definition plus the plugin's own validation, converter checks, and
//! the 400 message that lists every error.

use std::collections::BTreeMap;

use tributary_connector_api::abi::{ConnectorKind, ConnectorRequest, ConnectorResponse};
use tributary_connector_api::{
    ComponentKind, ConfigKeyInfo, ConfigValueInfo, ExactlyOnceSupport, Props,
};

use crate::config::client_security;
use crate::config::connector as cc;
use crate::config::override_policy;
use crate::config::providers::{has_placeholder, Secrets};
use crate::config::WorkerConfig;
use crate::plugins::components::PluginClasses;
use crate::plugins::{ConnectorPlugin, PluginRegistry};
use crate::rest::api::HerderError;
use crate::rest::entities::{ConfigInfo, ConfigInfos, PluginInfo};
use crate::runtime::convert;

/// Runs a blocking plugin call without stalling the async runtime.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// The longest connector name, in UTF-8 bytes, that the Connect group protocol can carry (an
/// assignment writes it as a string with a 16-bit length).
pub const MAX_CONNECTOR_NAME_BYTES: usize = i16::MAX as usize;

/// 400 unless `name` is a usable connector name.
pub fn check_name(name: &str) -> Result<(), HerderError> {
    if name.len() > MAX_CONNECTOR_NAME_BYTES {
        return Err(HerderError::BadRequest(format!(
            "Connector name is invalid: it is {} bytes long, and at most {MAX_CONNECTOR_NAME_BYTES}              fit in the group protocol",
            name.len()
        )));
    }
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(HerderError::BadRequest(format!(
            "Connector name {name:?} is invalid: it must be non-empty and contain no control characters"
        )));
    }
    Ok(())
}

/// Applies a KIP-477 patch (`None` removes a key); the name may not change.
pub fn patched(
    mut config: Props,
    patch: BTreeMap<String, Option<String>>,
    name: &str,
) -> Result<Props, HerderError> {
    for (k, v) in patch {
        match v {
            Some(v) => {
                config.insert(k, v);
            }
            None => {
                config.remove(&k);
            }
        }
    }
    if config.get(cc::NAME).map(|n| n != name).unwrap_or(true) {
        return Err(HerderError::BadRequest(
            "Connector name configuration (name) cannot be changed or removed by a patch".into(),
        ));
    }
    Ok(config)
}

/// What distributed mode checks of a source connector beyond the framework keys and the
/// plugin's own validation (KIP-618, as Java's `DistributedHerder`); standalone mode does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactlyOnceChecks {
    /// `exactly.once.source.support=enabled` on this worker.
    pub worker_enabled: bool,
}

/// The message when `exactly.once.support=required` but the worker has no EOS.
pub const EOS_NOT_ENABLED: &str = "This worker does not have exactly-once source support enabled.";
/// The message when `exactly.once.support=required` but the connector says it cannot.
pub const EOS_UNSUPPORTED: &str =
    "The connector does not support exactly-once semantics with the provided configuration.";
/// The message for `transaction.boundary=connector`.
pub const CONNECTOR_BOUNDARIES_UNSUPPORTED: &str =
    "The connector does not support connector-defined transaction boundaries with the given \
     configuration (no Tributary connector can define its own transaction boundaries yet). \
     Please reconfigure it to use a different transaction boundary definition (poll or \
     interval).";

/// The KIP-618 checks of [`ExactlyOnceChecks`]: `exactly.once.support=required` needs the
/// worker's EOS and the connector's word that it supports it; `transaction.boundary=connector`
/// needs a connector that defines boundaries (none can yet). Errors are added to the value of
/// the key they concern, and only when its value passed the framework check.
fn check_exactly_once(
    checks: ExactlyOnceChecks,
    plugin: &ConnectorPlugin,
    config: &Props,
    values: &mut [ConfigValueInfo],
) {
    let valid = |values: &[ConfigValueInfo], key: &str| -> Option<String> {
        values
            .iter()
            .find(|v| v.name == key && v.errors.is_empty())
            .and_then(|v| v.value.as_deref())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let mut errors = Vec::new();
    if valid(values, cc::EXACTLY_ONCE_SUPPORT).as_deref() == Some("required") {
        if !checks.worker_enabled {
            errors.push((
                cc::EXACTLY_ONCE_SUPPORT.to_owned(),
                EOS_NOT_ENABLED.to_owned(),
            ));
        }
        let answer = blocking(|| -> Result<ConnectorResponse, String> {
            let mut c = plugin.new_connector().map_err(|e| e.to_string())?;
            c.call(&ConnectorRequest::ExactlyOnceSupport(config.clone()))
                .map_err(|e| e.to_string())
        });
        let problem = match answer {
            Ok(ConnectorResponse::ExactlyOnce(ExactlyOnceSupport::Supported)) => None,
            Ok(ConnectorResponse::ExactlyOnce(ExactlyOnceSupport::Unsupported)) => {
                Some(EOS_UNSUPPORTED.to_owned())
            }
            Ok(other) => Some(format!(
                "An unexpected error occurred during validation: the connector answered \
                 {other:?} when asked for its exactly-once support"
            )),
            Err(e) => Some(format!(
                "An unexpected error occurred during validation: {}",
                e.trim()
            )),
        };
        errors.extend(problem.map(|m| (cc::EXACTLY_ONCE_SUPPORT.to_owned(), m)));
    }
    if valid(values, cc::TRANSACTION_BOUNDARY).as_deref() == Some("connector") {
        errors.push((
            cc::TRANSACTION_BOUNDARY.to_owned(),
            CONNECTOR_BOUNDARIES_UNSUPPORTED.to_owned(),
        ));
    }
    cc::apply_cross_checks(values, errors);
}

/// Validates a config with the framework definition, the transformation chain and the plugin's
/// own validation (and, in distributed mode, the exactly-once checks). Values are checked with
/// config-provider placeholders resolved, and shown as written (a secret never appears in the
/// result, not even inside an error message).
pub fn validate(
    worker: &WorkerConfig,
    plugins: &PluginRegistry,
    raw: &Props,
    eos: Option<ExactlyOnceChecks>,
) -> Result<(ConfigInfos, ConnectorPlugin), HerderError> {
    let (resolved, resolve_error) = match worker.config_providers.resolve(raw) {
        Ok(r) => (r, None),
        Err(e) => (raw.clone(), Some(e)),
    };
    let (mut infos, plugin) = validate_resolved(plugins, &resolved, eos)?;
    let secrets = Secrets::of(raw, &resolved);
    for info in &mut infos.configs {
        let Some(value) = info.value.as_mut() else {
            continue;
        };
        if let Some(e) = &resolve_error {
            if e.key == value.name {
                value.errors.push(e.message.clone());
            }
        }
        for error in &mut value.errors {
            *error = secrets.scrub(error);
        }
        let Some(raw_value) = raw.get(&value.name) else {
            continue;
        };
        if has_placeholder(raw_value) && value.value.as_deref() != Some("[hidden]") {
            value.value = Some(raw_value.clone());
        }
    }
    for (key, message) in override_policy::errors(worker.override_policy, &resolved) {
        let hidden = client_security::is_secret_key(&key);
        infos.configs.push(ConfigInfo {
            definition: None,
            value: Some(ConfigValueInfo {
                value: if hidden {
                    Some("[hidden]".to_owned())
                } else {
                    raw.get(&key).cloned()
                },
                name: key,
                recommended_values: Vec::new(),
                errors: vec![secrets.scrub(&message)],
                visible: true,
            }),
        });
    }
    infos.error_count = infos
        .configs
        .iter()
        .map(|c| c.value.as_ref().map(|v| v.errors.len()).unwrap_or(0))
        .sum();
    Ok((infos, plugin))
}

fn validate_resolved(
    plugins: &PluginRegistry,
    config: &Props,
    eos: Option<ExactlyOnceChecks>,
) -> Result<(ConfigInfos, ConnectorPlugin), HerderError> {
    let class = config
        .get(cc::CONNECTOR_CLASS)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            HerderError::BadRequest("Connector config contains no connector type".into())
        })?;
    let plugin = plugins
        .resolve(class)
        .map_err(|e| HerderError::Internal(e.to_string()))?;
    let kind = plugin.manifest.kind;
    let framework = cc::framework_def(kind);
    let mut framework_values = framework.validate(config);
    cc::apply_cross_checks(&mut framework_values, cc::cross_checks(kind, config));
    let chain = tributary_transforms::chain::validate_with(config, &PluginClasses(plugins));
    cc::apply_cross_checks(&mut framework_values, chain.errors.clone());
    for slot in [cc::KEY_CONVERTER, cc::VALUE_CONVERTER, cc::HEADER_CONVERTER] {
        if let Some(class) = config.get(slot).filter(|c| !c.trim().is_empty()) {
            let prefix = format!("{slot}.");
            let sub: Props = config
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_owned(), v.clone())))
                .collect();
            let err = if slot == cc::HEADER_CONVERTER {
                convert::header_converter(plugins, class, &sub).err()
            } else {
                convert::converter(plugins, class, &sub, slot == cc::KEY_CONVERTER).err()
            };
            if let (Some(e), Some(v)) = (err, framework_values.iter_mut().find(|v| v.name == slot))
            {
                v.errors.push(format!(
                    "Invalid value {class} for configuration {slot}: {e}"
                ));
            }
        }
    }
    if let (ConnectorKind::Source, Some(checks)) = (kind, eos) {
        check_exactly_once(checks, &plugin, config, &mut framework_values);
    }
    let plugin_values = blocking(|| -> Result<Vec<ConfigValueInfo>, String> {
        let mut c = plugin.new_connector().map_err(|e| e.to_string())?;
        match c
            .call(&ConnectorRequest::Validate(config.clone()))
            .map_err(|e| e.to_string())?
        {
            ConnectorResponse::Validation(v) => Ok(v),
            _ => Ok(Vec::new()),
        }
    })
    .map_err(HerderError::Internal)?;

    let plugin_def = &plugin.manifest.config_def;
    let mut configs = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut add_group = |g: &Option<String>| {
        if let Some(g) = g {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
    };
    for key in &plugin_def.keys {
        add_group(&key.group);
    }
    for key in &framework.keys {
        add_group(&key.group);
    }
    for value in plugin_values {
        let definition = plugin_def.key(&value.name).map(|k| k.info());
        configs.push(ConfigInfo {
            definition,
            value: Some(value),
        });
    }
    for (key, value) in framework.keys.iter().zip(framework_values) {
        if plugin_def.key(&key.name).is_some() {
            continue;
        }
        configs.push(ConfigInfo {
            definition: Some(key.info()),
            value: Some(value),
        });
    }
    // The keys of each transformation and predicate alias, as Kafka's enriched definition.
    for group in &chain.groups {
        if !groups.contains(group) {
            groups.push(group.clone());
        }
    }
    for (definition, value) in chain.configs {
        configs.push(ConfigInfo {
            definition: Some(definition),
            value: Some(value),
        });
    }
    let error_count = configs
        .iter()
        .map(|c| c.value.as_ref().map(|v| v.errors.len()).unwrap_or(0))
        .sum();
    Ok((
        ConfigInfos {
            name: class.to_owned(),
            error_count,
            groups,
            configs,
        },
        plugin,
    ))
}

/// Validates a config for create/update: any error is a 400 listing each one.
pub fn validate_for_write(
    worker: &WorkerConfig,
    plugins: &PluginRegistry,
    config: &Props,
    eos: Option<ExactlyOnceChecks>,
) -> Result<ConnectorPlugin, HerderError> {
    let (infos, plugin) = validate(worker, plugins, config, eos)?;
    if infos.error_count > 0 {
        let errors: Vec<String> = infos
            .configs
            .iter()
            .filter_map(|c| c.value.as_ref())
            .flat_map(|v| {
                v.errors
                    .iter()
                    .map(move |e| format!("Invalid value for {}: {e}", v.name))
            })
            .collect();
        return Err(HerderError::BadRequest(format!(
            "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
            errors.len(),
            errors.join("\n")
        )));
    }
    Ok(plugin)
}

/// `GET /connector-plugins`.
pub fn plugin_list(plugins: &PluginRegistry, connectors_only: bool) -> Vec<PluginInfo> {
    let mut out: Vec<PluginInfo> = plugins
        .connectors()
        .into_iter()
        .map(|p| PluginInfo {
            class: p.manifest.class.clone(),
            type_: match p.manifest.kind {
                ConnectorKind::Source => "source".into(),
                ConnectorKind::Sink => "sink".into(),
            },
            version: Some(p.manifest.version.clone()).filter(|v| v != "undefined"),
        })
        .collect();
    if !connectors_only {
        let version = Some(env!("CARGO_PKG_VERSION").to_owned());
        // Plugin converters, header converters, transformations and predicates (config
        // providers are not listed, as in Kafka 3.x).
        let plugin_components = |kind: ComponentKind| {
            plugins
                .components(kind)
                .into_iter()
                .map(|c| PluginInfo {
                    class: c.manifest.class.clone(),
                    type_: kind.plugin_type().to_owned(),
                    version: Some(c.manifest.version.clone()).filter(|v| v != "undefined"),
                })
                .collect::<Vec<_>>()
        };
        out.extend(plugin_components(ComponentKind::Converter));
        out.extend(plugin_components(ComponentKind::HeaderConverter));
        out.extend(plugin_components(ComponentKind::Transformation));
        out.extend(plugin_components(ComponentKind::Predicate));
        let mut converters: Vec<(&str, &str)> = crate::converters::builtin_plugins();
        converters.sort_by_key(|(class, kind)| (*kind == "header_converter", *class));
        out.extend(converters.into_iter().map(|(class, kind)| PluginInfo {
            class: class.to_owned(),
            type_: kind.to_owned(),
            version: version.clone(),
        }));
        out.extend(
            tributary_transforms::transformations()
                .iter()
                .map(|p| PluginInfo {
                    class: p.class.to_owned(),
                    type_: "transformation".into(),
                    version: version.clone(),
                }),
        );
        out.extend(
            tributary_transforms::predicates()
                .iter()
                .map(|p| PluginInfo {
                    class: p.class.to_owned(),
                    type_: "predicate".into(),
                    version: version.clone(),
                }),
        );
    }
    out
}

/// `GET /connector-plugins/<plugin>/config`: a connector's keys (its own, then the framework
/// keys), or a transformation's, predicate's or converter's own keys.
pub fn plugin_config(
    plugins: &PluginRegistry,
    plugin: &str,
) -> Result<Vec<ConfigKeyInfo>, HerderError> {
    let Ok(p) = plugins.resolve(plugin) else {
        if let Some(t) = tributary_transforms::find_transformation(plugin) {
            return Ok((t.config_def)().infos());
        }
        if let Some(p) = tributary_transforms::find_predicate(plugin) {
            return Ok((p.config_def)().infos());
        }
        if let Ok(def) = crate::converters::converter_config_def(plugin) {
            return Ok(def.infos());
        }
        for kind in [
            ComponentKind::Converter,
            ComponentKind::HeaderConverter,
            ComponentKind::Transformation,
            ComponentKind::Predicate,
        ] {
            if let Some(c) = plugins.component(kind, plugin) {
                return Ok(c.manifest.config_def.infos());
            }
        }
        return Err(HerderError::NotFound(format!("Unknown plugin {plugin}.")));
    };
    let mut infos = p.manifest.config_def.infos();
    for key in cc::framework_def(p.manifest.kind).keys {
        if p.manifest.config_def.key(&key.name).is_none() {
            infos.push(key.info());
        }
    }
    Ok(infos)
}

/// 400 unless the connector is STOPPED with no tasks (before its offsets may change).
pub fn require_stopped(stopped: bool, name: &str) -> Result<(), HerderError> {
    if !stopped {
        return Err(HerderError::BadRequest(format!(
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
        )));
    }
    Ok(())
}
