//! Builds a task's converters: the connector's own settings, else the worker's.

use tributary_connector_api::Props;

use crate::config::WorkerConfig;
use crate::converters::{create_converter, create_header_converter, Converter, HeaderConverter};

/// The three converters of one task.
pub struct TaskConverters {
    pub key: Box<dyn Converter>,
    pub value: Box<dyn Converter>,
    pub header: Box<dyn HeaderConverter>,
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
        let (kc, kcfg) = choose(worker, connector, "key.converter", &worker.key_converter);
        let (vc, vcfg) = choose(
            worker,
            connector,
            "value.converter",
            &worker.value_converter,
        );
        let (hc, hcfg) = choose(
            worker,
            connector,
            "header.converter",
            &worker.header_converter,
        );
        Ok(TaskConverters {
            key: create_converter(&kc, &kcfg, true).map_err(|e| format!("key.converter: {e}"))?,
            value: create_converter(&vc, &vcfg, false)
                .map_err(|e| format!("value.converter: {e}"))?,
            header: create_header_converter(&hc, &hcfg)
                .map_err(|e| format!("header.converter: {e}"))?,
        })
    }
}
