//! `tributary standalone worker.properties [connector.properties …]`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;

use crate::config::load_properties;
use crate::config::worker::plugin_path;
use crate::herder::standalone::StandaloneHerder;
use crate::logging::LogLevels;
use crate::process;
use crate::storage::FileOffsetStore;

/// Runs a standalone worker until SIGINT/SIGTERM.
pub async fn run(
    logs: Arc<LogLevels>,
    worker_file: PathBuf,
    connector_files: Vec<PathBuf>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let props = load_properties(&worker_file)?;
    let (plugins, _watcher) = process::load_plugins(&plugin_path(&props));
    let worker = Arc::new(process::worker_config(props, &plugins)?);
    let Some(offsets_path) = worker.offset_storage_file.clone() else {
        bail!("invalid worker config offset.storage.file.filename: missing required configuration which has no default value");
    };
    let offsets = Arc::new(FileOffsetStore::open(&offsets_path)?);
    let listener = process::listen(&worker).await?;
    let cluster = process::cluster_id(worker.clone()).await;
    let herder = StandaloneHerder::new(worker.clone(), plugins, offsets, cluster);
    herder.handle_connector_requests();
    let app = crate::rest::app(
        herder.clone(),
        logs,
        &worker.rest,
        process::inter_worker_client(&worker)?,
        listener.limits(),
    );
    let server = tokio::spawn(listener.serve(app.main, app.admin, process::shutdown_signal()));

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
