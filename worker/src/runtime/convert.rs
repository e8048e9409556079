//! Builds a task's converters (the connector's own settings, else the worker's) and its
//! transformation chain.

use tributary_connector_api::Props;

use crate::config::connector as cc;
use crate::config::WorkerConfig;
use crate::converters::{create_converter, create_header_converter, Converter, HeaderConverter};

/// The three converters of one task, with their full class names (for error reports).
pub struct TaskConverters {
    pub key: Box<dyn Converter>,
    pub value: Box<dyn Converter>,
    pub header: Box<dyn HeaderConverter>,
    pub key_class: String,
    pub value_class: String,
    pub header_class: String,
}

/// The task's transformation chain (connect-compat §4.3), or the offending key.
pub fn transform_chain(connector: &Props) -> Result<tributary_transforms::TransformChain, String> {
    tributary_transforms::TransformChain::from_props(connector)
        .map_err(|e| format!("{} ({})", e.message, e.key))
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
    pub fn new(worker: &WorkerConfig, connector: &Props) -> Result<TaskConverters, String> {
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
        let full = |c: &str| crate::converters::resolve_class(c).unwrap_or(c).to_owned();
        Ok(TaskConverters {
            key_class: full(&kc),
            value_class: full(&vc),
            header_class: full(&hc),
            key: create_converter(&kc, &kcfg, true).map_err(|e| format!("key.converter: {e}"))?,
            value: create_converter(&vc, &vcfg, false)
                .map_err(|e| format!("value.converter: {e}"))?,
            header: create_header_converter(&hc, &hcfg)
                .map_err(|e| format!("header.converter: {e}"))?,
        })
    }
}
