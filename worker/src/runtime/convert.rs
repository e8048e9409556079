//! Builds a task's converters (the connector's own settings, else the worker's) and its
//! transformation chain.

use tributary_connector_api::Props;

use crate::config::connector as cc;
use crate::config::WorkerConfig;
use crate::converters::{
    create_converter, create_header_converter, Converter, ConverterError, HeaderConverter,
};
use crate::plugins::components::{PluginClasses, PluginConverter, PluginHeaderConverter};
use crate::plugins::PluginRegistry;
use tributary_connector_api::component::ComponentKind;

/// The three converters of one task, with their full class names (for error reports).
pub struct TaskConverters {
    pub key: Box<dyn Converter>,
    pub value: Box<dyn Converter>,
    pub header: Box<dyn HeaderConverter>,
    pub key_class: String,
    pub value_class: String,
    pub header_class: String,
}

/// The task's transformation chain (connect-compat §4.3), of built-in and plugin classes, or
/// the offending key.
pub fn transform_chain(
    connector: &Props,
    plugins: &PluginRegistry,
) -> Result<tributary_transforms::TransformChain, String> {
    tributary_transforms::TransformChain::from_props_with(connector, &PluginClasses(plugins))
        .map_err(|e| format!("{} ({})", e.message, e.key))
}

/// A key/value converter: a built-in, else a plugin class.
pub(crate) fn converter(
    plugins: &PluginRegistry,
    class: &str,
    config: &Props,
    is_key: bool,
) -> Result<(String, Box<dyn Converter>), String> {
    match create_converter(class, config, is_key) {
        Ok(c) => Ok((full_name(class), c)),
        Err(ConverterError::UnknownClass(_)) => {
            match plugins.component(ComponentKind::Converter, class) {
                Some(p) => {
                    let remote = p.instantiate(config, is_key).map_err(|e| e.to_string())?;
                    Ok((p.class().to_owned(), Box::new(PluginConverter(remote))))
                }
                None => Err(ConverterError::UnknownClass(class.to_owned()).to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A header converter: a built-in, else a plugin class.
pub(crate) fn header_converter(
    plugins: &PluginRegistry,
    class: &str,
    config: &Props,
) -> Result<(String, Box<dyn HeaderConverter>), String> {
    match create_header_converter(class, config) {
        Ok(c) => Ok((full_name(class), c)),
        Err(ConverterError::UnknownClass(_)) => {
            match plugins.component(ComponentKind::HeaderConverter, class) {
                Some(p) => {
                    let remote = p.instantiate(config, false).map_err(|e| e.to_string())?;
                    Ok((
                        p.class().to_owned(),
                        Box::new(PluginHeaderConverter(remote)),
                    ))
                }
                None => Err(ConverterError::UnknownClass(class.to_owned()).to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

fn full_name(class: &str) -> String {
    crate::converters::resolve_class(class)
        .unwrap_or(class)
        .to_owned()
}

fn sub_config(props: &Props, prefix: &str) -> Props {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
        .collect()
}

/// Picks class and config for one converter slot (`key.converter` …).
fn choose(
    worker: &WorkerConfig,
    connector: &Props,
    slot: &str,
    worker_class: &str,
) -> (String, Props) {
    let prefix = format!("{slot}.");
    match connector
        .get(slot)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        Some(class) => (class.to_owned(), sub_config(connector, &prefix)),
        None => (worker_class.to_owned(), sub_config(&worker.props, &prefix)),
    }
}

impl TaskConverters {
    pub fn new(
        worker: &WorkerConfig,
        connector: &Props,
        plugins: &PluginRegistry,
    ) -> Result<TaskConverters, String> {
        let (kc, kcfg) = choose(worker, connector, cc::KEY_CONVERTER, &worker.key_converter);
        let (vc, vcfg) = choose(
            worker,
            connector,
            cc::VALUE_CONVERTER,
            &worker.value_converter,
        );
        let (hc, hcfg) = choose(
            worker,
            connector,
            cc::HEADER_CONVERTER,
            &worker.header_converter,
        );
        let (key_class, key) =
            converter(plugins, &kc, &kcfg, true).map_err(|e| format!("key.converter: {e}"))?;
        let (value_class, value) =
            converter(plugins, &vc, &vcfg, false).map_err(|e| format!("value.converter: {e}"))?;
        let (header_class, header) =
            header_converter(plugins, &hc, &hcfg).map_err(|e| format!("header.converter: {e}"))?;
        Ok(TaskConverters {
            key,
            value,
            header,
            key_class,
            value_class,
            header_class,
        })
    }
}
