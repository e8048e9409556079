//! `tributary distributed worker.properties`: one worker of a cluster sharing a `group.id`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::distributed::{DistributedConfig, InternalTopic};
use crate::config::worker::plugin_path;
use crate::config::{load_properties, WorkerConfig};
use crate::coordination::batches::RawBatchSource;
use crate::herder::distributed::{membership, DistributedHerder, Parts};
use crate::logging::LogLevels;
use crate::process;
use crate::storage::config_topic::ConfigStore;
use crate::storage::connector_offsets::{OffsetTopics, OpenStore};
use crate::storage::kafka_log::{
    ensure_topic, IsolationLevel, KafkaLog, KafkaLogOptions, TopicSpec,
};
use crate::storage::log_tail::LogTail;
use crate::storage::offsets_topic::KafkaOffsetStore;
use crate::storage::status::{self, StatusStore};
use crate::storage::StorageError;

/// How long startup waits for each internal topic to be read.
const STARTUP_READ: Duration = Duration::from_secs(60);

fn spec(topic: &InternalTopic) -> TopicSpec {
    TopicSpec {
        name: topic.name.clone(),
        partitions: topic.partitions,
        replication_factor: topic.replication_factor,
        configs: topic.configs.clone(),
    }
}

/// The client id of an internal client: `<group>[-<client.id>]-<what>`.
fn client_id(worker: &WorkerConfig, dist: &DistributedConfig, what: &str) -> String {
    match worker.props.get("client.id").map(|s| s.trim()) {
        Some(id) if !id.is_empty() => format!("{}-{id}-{what}", dist.group_id),
        _ => format!("{}-{what}", dist.group_id),
    }
}

/// The readers' isolation level: `read_committed` with exactly-once source support enabled
/// (connect-compat §2.1), so records of open or aborted transactions are not applied.
fn isolation(dist: &DistributedConfig) -> IsolationLevel {
    if dist.exactly_once_source.enabled() {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    }
}

/// With exactly-once source support, the read-committed readers of the config and offsets
/// topics also drop records of aborted transactions themselves (a broker may return them:
/// see `storage::aborted`).
fn filter_aborted(
    log: &mut KafkaLog,
    worker: &WorkerConfig,
    dist: &DistributedConfig,
) -> Result<(), String> {
    if dist.exactly_once_source.enabled() {
        let mut member = membership::member_config_for(worker, dist).map_err(|e| e.to_string())?;
        member.client_id = client_id(worker, dist, "markers");
        log.filter_aborted(Box::new(RawBatchSource::new(member)));
    }
    Ok(())
}

/// Creates the topic if missing and opens its log (client ids `<group>[-<client.id>]-<what>`).
async fn open_log(
    worker: &WorkerConfig,
    dist: &DistributedConfig,
    topic: &InternalTopic,
    what: &str,
    producer: Vec<(String, String)>,
) -> anyhow::Result<KafkaLog> {
    let base = worker.base_client_config();
    let property = match what {
        "configs" => "config.storage.topic",
        "offsets" => "offset.storage.topic",
        _ => "status.storage.topic",
    };
    ensure_topic(&base, &spec(topic), property)
        .await
        .with_context(|| format!("cannot use the {what} topic {}", topic.name))?;
    let client_id = client_id(worker, dist, what);
    let mut producer_configs = vec![("client.id".to_owned(), client_id.clone())];
    producer_configs.extend(producer);
    let options = KafkaLogOptions {
        producer_configs,
        consumer_configs: vec![("client.id".to_owned(), client_id)],
        isolation_level: isolation(dist),
        ..KafkaLogOptions::default()
    };
    let name = topic.name.clone();
    let mut log = tokio::task::spawn_blocking(move || KafkaLog::open(&base, &name, options))
        .await?
        .with_context(|| format!("cannot open the {what} topic {}", topic.name))?;
    if what != "statuses" {
        filter_aborted(&mut log, worker, dist).map_err(anyhow::Error::msg)?;
    }
    Ok(log)
}

/// Opens a connector's own offsets topic (`offsets.storage.topic`), creating it as the worker's
/// offsets topic is created (its partitions, replication factor and topic configs) when
/// missing. Called from blocking contexts (task starts, the offsets endpoints).
fn connector_offsets_opener(worker: Arc<WorkerConfig>, dist: DistributedConfig) -> Box<OpenStore> {
    Box::new(move |topic: &str| {
        let io = |message: String| StorageError::Io {
            path: topic.to_owned(),
            message,
        };
        let base = worker.base_client_config();
        let spec = TopicSpec {
            name: topic.to_owned(),
            ..spec(&dist.offset_topic)
        };
        futures::executor::block_on(ensure_topic(&base, &spec, "offsets.storage.topic"))
            .map_err(|e| io(e.to_string()))?;
        let client_id = client_id(&worker, &dist, "offsets");
        let options = KafkaLogOptions {
            producer_configs: vec![
                ("client.id".to_owned(), client_id.clone()),
                ("enable.idempotence".to_owned(), "false".to_owned()),
            ],
            consumer_configs: vec![("client.id".to_owned(), client_id)],
            isolation_level: isolation(&dist),
            ..KafkaLogOptions::default()
        };
        let mut log = KafkaLog::open(&base, topic, options).map_err(|e| io(e.to_string()))?;
        filter_aborted(&mut log, &worker, &dist).map_err(io)?;
        let store = KafkaOffsetStore::start(log).map_err(|e| io(e.to_string()))?;
        Ok(Arc::new(store))
    })
}

/// Runs a distributed worker until SIGINT/SIGTERM.
pub async fn run(logs: Arc<LogLevels>, worker_file: PathBuf) -> anyhow::Result<()> {
    let started = Instant::now();
    let props = load_properties(&worker_file)?;
    let dist = DistributedConfig::from_props(&props)?;
    let (plugins, _watcher) = process::load_plugins(&plugin_path(&props));
    let worker = Arc::new(process::worker_config(props, &plugins)?);
    let listener = process::listen(&worker).await?;
    let http = process::inter_worker_client(&worker)?;
    let cluster_id = process::cluster_id(worker.clone()).await;

    let config_log = open_log(&worker, &dist, &dist.config_topic, "configs", Vec::new()).await?;
    let offsets_log = open_log(
        &worker,
        &dist,
        &dist.offset_topic,
        "offsets",
        vec![("enable.idempotence".to_owned(), "false".to_owned())],
    )
    .await?;
    let status_log = open_log(
        &worker,
        &dist,
        &dist.status_topic,
        "statuses",
        vec![("enable.idempotence".to_owned(), "false".to_owned())],
    )
    .await?;

    let (changes_tx, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let mut configs = ConfigStore::start(config_log, changes_tx)?;
    if dist.exactly_once_source.transactional_leader() {
        // KIP-618: the leader writes the config topic in transactions of its own id, so a
        // deposed leader that still writes is fenced.
        let mut leader = worker.base_client_config();
        leader
            .set("client.id", client_id(&worker, &dist, "configs-leader"))
            .set("partitioner", "murmur2_random");
        crate::storage::transactions::make_transactional(
            &mut leader,
            &format!("connect-cluster-{}", dist.group_id),
        );
        configs = configs.with_transactional_leader(leader);
    }
    let configs = Arc::new(configs);
    configs
        .read_to_end(STARTUP_READ)
        .await
        .map_err(anyhow::Error::msg)
        .context("cannot read the config topic")?;
    // What the first read found is the starting point, not a change.
    while changes.try_recv().is_ok() {}
    let offsets = Arc::new(KafkaOffsetStore::start(offsets_log)?);
    let offset_topics = Arc::new(OffsetTopics::new(
        offsets.clone(),
        connector_offsets_opener(worker.clone(), dist.clone()),
    ));
    let status = Arc::new(StatusStore::with_topic(
        worker.worker_id.clone(),
        status_log.writer(),
    ));
    let applied = Arc::clone(&status);
    let status_tail = LogTail::spawn(status_log, move |records| {
        status::apply_records(&applied, records)
    })?;
    status_tail
        .read_to_end(STARTUP_READ)
        .await
        .map_err(anyhow::Error::msg)
        .context("cannot read the status topic")?;

    let herder = DistributedHerder::new(Parts {
        worker: worker.clone(),
        dist,
        plugins,
        configs,
        offsets,
        offset_topics,
        status,
        status_tail,
        cluster_id,
        http: http.clone(),
    });
    herder.discard_old_requests();
    herder.handle_connector_requests();
    tokio::spawn(Arc::clone(&herder).watch_config(changes));
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let membership = tokio::spawn(membership::run(Arc::clone(&herder), shutdown_rx));

    let app = crate::rest::app(herder.clone(), logs, &worker.rest, http, listener.limits());
    tracing::info!(
        url = herder.url(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "distributed worker started; joining the group"
    );
    listener
        .serve(app.main, app.admin, process::shutdown_signal())
        .await;
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    let _ = membership.await;
    Ok(())
}
