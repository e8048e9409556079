//! Zombie fencing for exactly-once source tasks (KIP-618, connect-compat §2.2 and §9).
//!
//! A new generation of a connector's source tasks (new task configs were committed) may only
//! start once no task of an earlier generation can still commit a transaction:
//!
//! 1. Before it creates its transactional producer, each task asks the leader to fence the
//!    previous generation (`PUT /connectors/<name>/fence`, or a local call on the leader).
//!    If task configs were committed after the connector's latest `tasks-fencing-<name>`
//!    record, the leader fences the transactional ids `<group.id>-<name>-0 ..
//!    <group.id>-<name>-<n-1>` of that record's task count `n` (a producer per id runs
//!    `init_transactions` and is dropped: librdkafka has no FenceProducers call), then writes
//!    `tasks-fencing-<name>` with the new task count. As Java, nothing is fenced for a
//!    connector's first generation with exactly-once support, nor when both generations have
//!    one task (the new task's own `init_transactions` fences the old one).
//! 2. The task's producer runs `init_transactions`, which fences any older instance of the
//!    same task (a task moved by a rebalance is fenced this way) and aborts its open
//!    transaction.
//! 3. The task reads the config topic to the end and starts only if its configs are still the
//!    latest generation and it is still assigned to this worker.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::{DistributedHerder, READ_TIMEOUT};
use crate::coordination::protocol::ConnectProtocol;
use crate::model::{ConnectorTaskId, ConnectorType};
use crate::rest::api::HerderError;
use crate::runtime::TaskControl;
use crate::storage::internal_records::ConfigRecord;
use crate::storage::transactions;
use crate::worker::clients::task_transactional_id;
use crate::worker::ExactlyOnceCoordinator;

/// How long one fencing `init_transactions` may take.
const FENCE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a starting task keeps asking for the fencing while the cluster settles.
const PREFLIGHT_PATIENCE: Duration = Duration::from_secs(90);
/// The pause between its attempts.
const PREFLIGHT_RETRY: Duration = Duration::from_millis(500);

/// The answer to `PUT /fence` on a cluster without exactly-once source support.
pub fn not_enabled(name: &str) -> HerderError {
    HerderError::BadRequest(format!(
        "Cannot fence zombie tasks of {name}: exactly-once source support is not enabled on \
         this cluster (exactly.once.source.support=enabled)"
    ))
}

/// What the leader fences before a new generation of a connector's tasks starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fence {
    /// Nothing, and why.
    Nothing(&'static str),
    /// The transactional ids of tasks `0..n` (the previous generation's task count).
    Ids(u32),
}

/// As Java's `DistributedHerder`: `previous` is the task count of the connector's latest
/// `tasks-fencing-<name>` record (`None`: none yet), `tasks` the new generation's count.
fn ids_to_fence(previous: Option<u32>, tasks: u32) -> Fence {
    match previous {
        None => Fence::Nothing("first generation of tasks with exactly-once support"),
        Some(1) if tasks == 1 => Fence::Nothing(
            "one task before and after: the new task's producer fences the old one itself",
        ),
        Some(0) => Fence::Nothing("the previous generation had no tasks"),
        Some(n) => Fence::Ids(n),
    }
}

/// Why asking for a fencing failed.
#[derive(Debug)]
enum FenceFailure {
    /// Worth asking again (no leader yet, a rebalance, a new generation, the leader busy).
    Retry(String),
    /// Asking again will not help (unknown connector, not a source, EOS off).
    Final(String),
}

impl DistributedHerder {
    /// Leader: fences the previous generation of `name`'s tasks if a new one is pending, and
    /// records the fencing (`tasks-fencing-<name>`). Ok at once when nothing is pending.
    pub(super) async fn fence_as_leader(&self, name: &str) -> Result<(), HerderError> {
        if !self.dist.exactly_once_source.enabled() {
            return Err(not_enabled(name));
        }
        self.require_leader()?;
        let state = self.fresh_state_of(name).await?;
        let config = state
            .connector_config(name)
            .ok_or_else(|| super::not_found(name))?;
        if self.kind_of(config) != ConnectorType::Source {
            return Err(HerderError::BadRequest(format!(
                "Connector {name} is not a source connector"
            )));
        }
        if !state.pending_fencing(name) {
            return Ok(());
        }
        // One fencing at a time: tasks of one generation all ask at once.
        let _one = self.fencing.lock().await;
        let state = self.fresh_state_of(name).await?;
        if !state.pending_fencing(name) {
            tracing::debug!(
                connector = name,
                "fenced meanwhile by another request of this generation"
            );
            return Ok(());
        }
        let generation = state.task_config_generation(name);
        let tasks = state.task_count(name).unwrap_or(0);
        match ids_to_fence(state.fencing_task_count(name), tasks) {
            Fence::Nothing(why) => tracing::info!(connector = name, "{why}: nothing to fence"),
            Fence::Ids(previous) => {
                let started = Instant::now();
                self.fence_ids(name, previous).await?;
                tracing::info!(
                    connector = name,
                    fenced = previous,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "fenced the transactional ids of the previous generation of tasks"
                );
            }
        }
        let state = self.fresh_state().await?;
        if state.task_config_generation(name) != generation {
            return Err(HerderError::Conflict(format!(
                "Failed to complete zombie fencing of {name} because a new set of task configs \
                 was generated meanwhile"
            )));
        }
        self.write_as_leader(&[ConfigRecord::TaskFencing {
            connector: name.to_owned(),
            task_count: tasks,
        }])
        .await
    }

    /// Fences `<group.id>-<name>-<n>` for every `n < count`, in parallel.
    async fn fence_ids(&self, name: &str, count: u32) -> Result<(), HerderError> {
        let mut base = self.config.base_client_config();
        base.set("client.id", format!("{}-fencing", self.dist.group_id));
        let ids: Vec<String> = (0..count)
            .map(|n| task_transactional_id(&self.dist.group_id, name, n))
            .collect();
        let failures: Vec<String> = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let running: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        let base = &base;
                        scope.spawn(move || {
                            transactions::fence(base, id, FENCE_TIMEOUT)
                                .map_err(|e| format!("{id}: {e}"))
                        })
                    })
                    .collect();
                running
                    .into_iter()
                    .filter_map(|h| match h.join() {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e),
                        Err(_) => Some("the fencing thread panicked".to_owned()),
                    })
                    .collect()
            })
        });
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HerderError::Internal(format!(
                "Failed to fence out the previous generation of {name}'s tasks: {}",
                failures.join("; ")
            )))
        }
    }

    /// A starting task's request for the fencing: served here when this worker leads, else
    /// sent to the leader.
    async fn request_fencing(&self, name: &str) -> Result<(), FenceFailure> {
        let g = self.group();
        if g.is_leader {
            return self.fence_as_leader(name).await.map_err(|e| match e {
                HerderError::NotFound(m) | HerderError::BadRequest(m) => FenceFailure::Final(m),
                other => FenceFailure::Retry(other.to_string()),
            });
        }
        let Some(leader) = g.leader_url else {
            return Err(FenceFailure::Retry("no leader known yet".into()));
        };
        let mut url = reqwest::Url::parse(&leader)
            .map_err(|e| FenceFailure::Retry(format!("bad leader URL {leader}: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| FenceFailure::Retry(format!("bad leader URL {leader}")))?
            .pop_if_empty()
            .extend(["connectors", name, "fence"]);
        let mut request = self
            .http
            .put(url)
            .timeout(crate::rest::REQUEST_TIMEOUT)
            .header("Content-Type", "application/json");
        if g.protocol == ConnectProtocol::Sessioned {
            let key = self
                .session_key()
                .ok_or_else(|| FenceFailure::Retry("no session key read yet".into()))?;
            let algorithm = &self.dist.signature_algorithm;
            let signature = crate::rest::signing::sign(&key, algorithm, b"")
                .map_err(|e| FenceFailure::Final(e.to_string()))?;
            request = request
                .header(crate::rest::signing::SIGNATURE_HEADER, signature)
                .header(crate::rest::signing::ALGORITHM_HEADER, algorithm.as_str());
        }
        let response = request
            .body(Vec::new())
            .send()
            .await
            .map_err(|e| FenceFailure::Retry(format!("cannot reach the leader: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let message = format!("the leader answered {status}: {text}");
        if status == reqwest::StatusCode::BAD_REQUEST || status == reqwest::StatusCode::NOT_FOUND {
            Err(FenceFailure::Final(message))
        } else {
            Err(FenceFailure::Retry(message))
        }
    }

    /// After a task's producer started: its configs are still of `generation` and it is still
    /// assigned here.
    async fn verify_task_generation(
        &self,
        id: &ConnectorTaskId,
        generation: u64,
    ) -> Result<(), String> {
        self.configs
            .read_to_end(READ_TIMEOUT)
            .await
            .map_err(|e| format!("Failed to read to the end of the config topic: {e}"))?;
        let current = self
            .configs
            .with(|s| s.task_config_generation(&id.connector));
        if current != generation {
            return Err(format!(
                "Cannot start source task {}-{} with exactly-once support as the connector has \
                 already generated a new set of task configs",
                id.connector, id.task
            ));
        }
        if !self.owns_task_now(id) {
            return Err(format!(
                "Cannot start source task {}-{} as it has already been revoked from this worker",
                id.connector, id.task
            ));
        }
        Ok(())
    }
}

/// The herder's side of exactly-once tasks, as the Worker sees it. Task threads call it; it
/// runs the herder's async work on the runtime it was made on.
pub struct Coordinator {
    pub herder: Weak<DistributedHerder>,
    pub group_id: String,
    pub runtime: Handle,
}

impl Coordinator {
    fn herder(&self) -> Result<Arc<DistributedHerder>, String> {
        self.herder
            .upgrade()
            .ok_or_else(|| "the worker is shutting down".to_owned())
    }
}

impl ExactlyOnceCoordinator for Coordinator {
    fn group_id(&self) -> &str {
        &self.group_id
    }

    fn fence_previous_generation(
        &self,
        connector: &str,
        control: &TaskControl,
    ) -> Result<(), String> {
        let herder = self.herder()?;
        let deadline = Instant::now() + PREFLIGHT_PATIENCE;
        loop {
            match self.runtime.block_on(herder.request_fencing(connector)) {
                Ok(()) => return Ok(()),
                Err(FenceFailure::Final(m)) => return Err(m),
                Err(FenceFailure::Retry(m)) => {
                    if control.stopping() || Instant::now() >= deadline {
                        return Err(m);
                    }
                    tracing::info!(connector, reason = %m, "zombie fencing not done yet; asking again");
                    control.wait(PREFLIGHT_RETRY);
                }
            }
        }
    }

    fn verify_generation(
        &self,
        id: &ConnectorTaskId,
        generation: u64,
        _control: &TaskControl,
    ) -> Result<(), String> {
        let herder = self.herder()?;
        self.runtime
            .block_on(herder.verify_task_generation(id, generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_generation_is_fenced_unless_there_is_none_or_one_task_throughout() {
        assert!(matches!(ids_to_fence(None, 3), Fence::Nothing(_)));
        assert!(matches!(ids_to_fence(Some(1), 1), Fence::Nothing(_)));
        assert!(matches!(ids_to_fence(Some(0), 2), Fence::Nothing(_)));
        assert_eq!(ids_to_fence(Some(1), 2), Fence::Ids(1));
        assert_eq!(ids_to_fence(Some(2), 3), Fence::Ids(2));
        // Fewer tasks now: the old ids beyond the new count are fenced too.
        assert_eq!(ids_to_fence(Some(5), 1), Fence::Ids(5));
        assert_eq!(ids_to_fence(Some(3), 0), Fence::Ids(3));
    }

    #[test]
    fn fencing_without_exactly_once_is_a_bad_request_naming_the_setting() {
        match not_enabled("c") {
            HerderError::BadRequest(m) => {
                assert!(m.contains("exactly.once.source.support"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
