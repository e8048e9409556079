//! The config file reader (Java `.properties` text, or Kafka Connect's JSON connector form) and
//! the worker and connector settings read from what it returns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary::config::connector::{cross_checks, ConnectorSettings};
use tributary::config::distributed::DistributedConfig;
use tributary::config::properties::parse_properties;
use tributary::config::WorkerConfig;
use tributary_connector_api::abi::ConnectorKind;

fuzz_target!(|data: &[u8]| {
    for json in [false, true] {
        let Ok(props) = parse_properties(data, json) else {
            continue;
        };
        let _ = ConnectorSettings::from_props(&props);
        for kind in [ConnectorKind::Source, ConnectorKind::Sink] {
            let _ = cross_checks(kind, &props);
        }
        // Config providers read files and environment variables: leave them out.
        if !props.keys().any(|k| k.starts_with("config.providers")) {
            let _ = WorkerConfig::from_props(props.clone());
            let _ = DistributedConfig::from_props(&props);
        }
    }
});
