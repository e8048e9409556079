//! The JSON shapes of the REST API, field names exactly as Kafka Connect's, and the two
//! answers (`GET /`, `GET /health`) every herder gives the same way.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};
use tributary_connector_api::{ConfigKeyInfo, ConfigValueInfo, Props};

use crate::model::{ConnectorState, ConnectorTaskId, ConnectorType, TaskState};

/// `GET /`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub commit: String,
    pub kafka_cluster_id: Option<String>,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// `healthy` | `starting` | `unhealthy`.
    pub status: String,
    pub message: String,
}

/// `ConnectorInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: Props,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub type_: ConnectorType,
}

/// One entry of `GET /connectors/<name>/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: Props,
}

/// `GET /connectors/<name>/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub type_: ConnectorType,
}

/// `PluginInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub class: String,
    /// `sink` | `source` | `converter` | `header_converter` | `transformation` | `predicate`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
}

/// `POST /connectors` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateConnectorRequest {
    pub name: Option<String>,
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub initial_state: Option<String>,
}

/// `GET /` for either herder.
pub fn server_info(cluster_id: Option<String>) -> ServerInfo {
    ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit: option_env!("TRIBUTARY_COMMIT")
            .unwrap_or("unknown")
            .to_owned(),
        kafka_cluster_id: cluster_id,
    }
}

/// `GET /health` for either herder: starting until `ready`, then healthy if `probe` (taking
/// the herder's main lock) finishes within 10 s.
pub async fn health<T>(ready: bool, probe: impl Future<Output = T>) -> WorkerStatus {
    if !ready {
        return WorkerStatus {
            status: "starting".into(),
            message: "Worker is still starting up.".into(),
        };
    }
    match tokio::time::timeout(std::time::Duration::from_secs(10), probe).await {
        Ok(_) => WorkerStatus {
            status: "healthy".into(),
            message: "Worker has completed startup and is ready to handle requests.".into(),
        },
        Err(_) => WorkerStatus {
            status: "unhealthy".into(),
            message: "Worker was unable to handle this request and may be unable to handle \
                      other requests."
                .into(),
        },
    }
}

/// The result of creating or replacing a connector config.
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted {
    /// True if the connector did not exist before.
    pub created: bool,
    pub info: ConnectorInfo,
}

/// The signature headers and raw body of an internal request (KIP-507, connect-compat §1.5).
/// The herder, which holds the session key, checks them with [`crate::rest::signing::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InternalRequest {
    /// `X-Connect-Request-Signature-Algorithm`, if sent.
    pub algorithm: Option<String>,
    /// `X-Connect-Authorization` (base64 HMAC of `body`), if sent.
    pub signature: Option<String>,
    /// The request body exactly as received.
    pub body: Vec<u8>,
}

/// `ConfigInfos`: the validate response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfos {
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigInfo>,
}

/// One entry of [`ConfigInfos::configs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfo {
    pub definition: Option<ConfigKeyInfo>,
    pub value: Option<ConfigValueInfo>,
}
