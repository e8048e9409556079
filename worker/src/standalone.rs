//! `tributary standalone worker.properties [connector.properties …]`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::producer::{BaseProducer, Producer};

use crate::config::{load_properties, WorkerConfig};
use crate::herder::standalone::StandaloneHerder;
use crate::logging::LogLevels;
use crate::plugins::{watcher, PluginRegistry};
use crate::storage::FileOffsetStore;

/// Asks the broker for its cluster id (for `GET /`); `None` if it does not answer in time.
fn cluster_id(worker: &WorkerConfig) -> Option<String> {
    let producer: BaseProducer = worker.base_client_config().create().ok()?;
    producer.client().fetch_cluster_id(Duration::from_secs(5))
}

async fn shutdown_signal() {
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

/// Runs a standalone worker until SIGINT/SIGTERM.
pub async fn run(
    logs: Arc<LogLevels>,
    worker_file: PathBuf,
    connector_files: Vec<PathBuf>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let props = load_properties(&worker_file)?;
    let worker = Arc::new(WorkerConfig::from_props(props)?);
    let Some(offsets_path) = worker.offset_storage_file.clone() else {
        bail!("invalid worker config offset.storage.file.filename: missing required configuration which has no default value");
    };
    let offsets = Arc::new(FileOffsetStore::open(&offsets_path)?);

    let plugins = PluginRegistry::new();
    plugins.scan(&worker.plugin_path);
    let _watcher = match watcher::watch(plugins.clone(), &worker.plugin_path) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch plugin.path; new plugins need a restart");
            None
        }
    };

    let (host, port) = worker.rest_bind.clone();
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let worker_for_id = worker.clone();
    let cluster = tokio::task::spawn_blocking(move || cluster_id(&worker_for_id))
        .await
        .ok()
        .flatten();
    if cluster.is_none() {
        tracing::warn!(bootstrap = %worker.bootstrap_servers, "could not read the Kafka cluster id");
    }
    let herder = StandaloneHerder::new(worker.clone(), plugins, offsets, cluster);
    let app = crate::rest::router(herder.clone(), logs);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });
    tracing::info!(listen = %format!("{host}:{port}"), "REST server listening");

    for file in connector_files {
        let config = load_properties(&file)?;
        if let Err(e) = herder.add_from_file(config).await {
            bail!("connector file {}: {e}", file.display());
        }
    }
    herder.set_ready();
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "worker started"
    );

    let _ = server.await;
    tracing::info!("shutting down");
    herder.shutdown().await;
    Ok(())
}
