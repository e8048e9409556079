//! What both worker modes do around the herder: load plugins (and watch for new ones), ask
//! the broker for its cluster id, bind the REST listeners, and wait for SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::producer::{BaseProducer, Producer};

use crate::config::WorkerConfig;
use crate::plugins::{watcher, PluginRegistry};
use crate::rest::server::{Limits, RestServer};

/// Scans `plugin.path` and keeps watching it; the watcher lives as long as the returned value.
pub fn load_plugins(paths: &[std::path::PathBuf]) -> (Arc<PluginRegistry>, Option<impl Sized>) {
    let plugins = PluginRegistry::new();
    plugins.scan(paths);
    let watcher = match watcher::watch(plugins.clone(), paths) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch plugin.path; new plugins need a restart");
            None
        }
    };
    (plugins, watcher)
}

/// The worker config, with config providers from the plugin libraries in `plugins` (which are
/// loaded first, from the raw `plugin.path`).
pub fn worker_config(
    props: tributary_connector_api::Props,
    plugins: &PluginRegistry,
) -> anyhow::Result<WorkerConfig> {
    let external = |class: &str, params: &tributary_connector_api::Props| {
        crate::plugins::components::config_provider(plugins, class, params)
    };
    Ok(WorkerConfig::from_props_with(props, &external)?)
}

/// Asks the broker for its cluster id (for `GET /`); `None` if it does not answer in time.
pub async fn cluster_id(worker: Arc<WorkerConfig>) -> Option<String> {
    let id = tokio::task::spawn_blocking(move || {
        let producer: BaseProducer = worker.base_client_config().create().ok()?;
        producer.client().fetch_cluster_id(Duration::from_secs(5))
    })
    .await
    .ok()
    .flatten();
    if id.is_none() {
        tracing::warn!("could not read the Kafka cluster id");
    }
    id
}

/// Binds the REST listeners (with their TLS stores loaded).
pub async fn listen(worker: &WorkerConfig) -> anyhow::Result<RestServer> {
    Ok(RestServer::bind(&worker.rest, Limits::default()).await?)
}

/// The client for requests to other workers, with the TLS settings of the main listeners.
pub fn inter_worker_client(worker: &WorkerConfig) -> anyhow::Result<reqwest::Client> {
    crate::rest::tls::client(&worker.rest.https)?
        .build()
        .context("cannot build the client for requests to other workers")
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
