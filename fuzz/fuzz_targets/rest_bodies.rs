//! REST request bodies: every body the handlers parse (connector create, config put and patch,
//! validate, offsets, internal task configs, logger level), through the same parse and
//! config-body conversion as the handlers, and the REST entities (which the forwarding and
//! tests read back) with a serialize round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;
use tributary::rest::entities::{
    ConfigInfos, ConnectorInfo, ConnectorStateInfo, CreateConnectorRequest, PluginInfo, ServerInfo,
    TaskInfo, WorkerStatus,
};
use tributary::rest::fuzzing;

/// Parses `data` as `T` and, if that works, checks that `T`'s JSON reads back as the same `T`.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = fuzzing::body::<T>(data) else {
        return;
    };
    let json = match serde_json::to_vec(&value) {
        Ok(json) => json,
        Err(e) => panic!("cannot write {value:?}: {e}"),
    };
    match fuzzing::body::<T>(&json) {
        Ok(back) => assert_eq!(back, value),
        Err(e) => panic!("cannot read back {}: {e:?}", String::from_utf8_lossy(&json)),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok((name, config, _)) = fuzzing::create_connector(data) {
        assert!(!name.is_empty());
        assert_eq!(config.get("name"), Some(&name));
    }
    if let Ok(config) = fuzzing::put_connector_config("c", data) {
        assert_eq!(config.get("name").map(String::as_str), Some("c"));
    }
    let _ = fuzzing::patch_connector_config(data);
    let _ = fuzzing::validate_config(data);
    let _ = fuzzing::alter_offsets(data);
    let _ = fuzzing::task_configs(data);
    let _ = fuzzing::body::<BTreeMap<String, serde_json::Value>>(data);

    // Entities without floats, so their JSON must read back equal.
    round_trip::<ServerInfo>(data);
    round_trip::<WorkerStatus>(data);
    round_trip::<ConnectorInfo>(data);
    round_trip::<TaskInfo>(data);
    round_trip::<ConnectorStateInfo>(data);
    round_trip::<PluginInfo>(data);
    let _ = fuzzing::body::<ConfigInfos>(data);
    let _ = fuzzing::body::<CreateConnectorRequest>(data);
});
