//! The membership loop: join the Connect group, compute assignments when leading, apply this
//! worker's assignment, heartbeat, and rejoin when the group or the config asks for it
//! (connect-compat §7.5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::DistributedHerder;
use crate::coordination::assignor::{self, AssignorState, ConfiguredWork, MemberInfo};
use crate::coordination::member::{GroupMember, MemberConfig, MemberError, Security};
use crate::coordination::protocol::{
    Assignment, ConnectProtocol, ConnectorAssignment, MemberMetadata, CONNECTOR_TASK_ID, ERROR_NONE,
};
use crate::herder::validation::MAX_CONNECTOR_NAME_BYTES;
use crate::model::ConnectorTaskId;

/// Pause between failed join attempts.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);
/// How long the config topic may take to be read before a join.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The member settings for this worker.
pub fn member_config(herder: &DistributedHerder) -> Result<MemberConfig, anyhow::Error> {
    member_config_for(&herder.config, &herder.dist)
}

/// The member settings of a worker with these configs (also the settings of its raw Kafka
/// protocol requests, see [`crate::coordination::batches`]).
pub fn member_config_for(
    worker: &crate::config::WorkerConfig,
    dist: &crate::config::distributed::DistributedConfig,
) -> Result<MemberConfig, anyhow::Error> {
    let client_id = match worker.props.get("client.id").map(|s| s.trim()) {
        Some(id) if !id.is_empty() => format!("{}-{id}", dist.group_id),
        _ => format!("{}-member", dist.group_id),
    };
    Ok(MemberConfig {
        bootstrap_servers: worker
            .bootstrap_servers
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        group_id: dist.group_id.clone(),
        client_id,
        session_timeout_ms: dist.session_timeout_ms as i32,
        rebalance_timeout_ms: dist.rebalance_timeout_ms as i32,
        request_timeout: Duration::from_secs(30),
        security: Security::from_settings(&worker.client_settings)?,
    })
}

/// This worker's full allocation, as reported in its JoinGroup metadata.
async fn allocation(herder: &DistributedHerder, protocol: ConnectProtocol) -> Assignment {
    let local = herder.local.lock().await;
    let g = herder.group();
    let tasks: Vec<(&str, i32)> = local
        .owned_tasks
        .iter()
        .map(|id| (id.connector.as_str(), id.task as i32))
        .collect();
    Assignment {
        version: protocol.version(),
        error: ERROR_NONE,
        leader: String::new(),
        leader_url: g.leader_url.unwrap_or_default(),
        config_offset: herder.configs.offset(),
        assigned: Some(ConnectorAssignment::group(
            local.owned_connectors.iter().map(String::as_str),
            tasks,
        )),
        revoked: None,
        delay_ms: 0,
    }
}

/// The (protocol name, metadata) pairs offered in JoinGroup, in preference order.
async fn offered(herder: &DistributedHerder) -> Result<Vec<(String, Vec<u8>)>, anyhow::Error> {
    let preferred = herder.group().protocol;
    let offset = herder.configs.offset();
    let mut out = Vec::new();
    for protocol in preferred.offered() {
        let metadata = MemberMetadata::new(
            protocol,
            herder.url.clone(),
            offset,
            Some(allocation(herder, protocol).await),
        );
        out.push((protocol.name().to_owned(), metadata.encode()?));
    }
    Ok(out)
}

/// The work a leader hands out: every connector with its task count, except one whose name
/// the group protocol cannot carry (over 32,767 bytes, only possible in a config topic written
/// by something else): that one is left out, never the whole round.
fn assignable(
    config_offset: i64,
    connectors: impl IntoIterator<Item = (String, u32)>,
) -> ConfiguredWork {
    ConfiguredWork {
        config_offset,
        connectors: connectors
            .into_iter()
            .filter(|(c, _)| {
                let fits = c.len() <= MAX_CONNECTOR_NAME_BYTES;
                if !fits {
                    tracing::error!(
                        name_bytes = c.len(),
                        "connector with a name the group protocol cannot carry is not assigned"
                    );
                }
                fits
            })
            .collect(),
    }
}

/// Leader: every member's assignment bytes.
async fn assign(
    herder: &DistributedHerder,
    protocol: ConnectProtocol,
    leader_id: &str,
    members: &[(String, Vec<u8>)],
    state: &mut AssignorState,
) -> Result<Vec<(String, Vec<u8>)>, anyhow::Error> {
    if let Err(e) = herder.configs.read_to_end(READ_TIMEOUT).await {
        tracing::warn!(error = %e, "leader could not read the config topic to the end");
    }
    let snapshot = herder.configs.snapshot();
    let work = assignable(
        snapshot.offset(),
        snapshot.connectors().into_iter().map(|c| {
            let n = snapshot.task_configs(&c).len() as u32;
            (c, n)
        }),
    );
    let infos: Vec<MemberInfo> = members
        .iter()
        .filter_map(|(id, bytes)| match MemberMetadata::decode(bytes) {
            Ok(metadata) => Some(MemberInfo {
                member_id: id.clone(),
                metadata,
            }),
            Err(e) => {
                tracing::warn!(member = %id, error = %e, "ignoring member with unreadable metadata");
                None
            }
        })
        .collect();
    let result = assignor::assign(
        leader_id,
        &herder.url,
        snapshot.offset(),
        protocol,
        &infos,
        &work,
        herder.dist.scheduled_rebalance_max_delay_ms,
        state,
        Instant::now(),
    );
    // Who owns what after this round (for forwarding task restarts to their owner).
    let mut owners = std::collections::BTreeMap::new();
    for info in &infos {
        let Some(assignment) = result.get(&info.member_id) else {
            continue;
        };
        let mut items: std::collections::BTreeSet<(String, i32)> =
            std::collections::BTreeSet::new();
        if protocol.is_incremental() {
            if let Some(current) = info.metadata.allocation.as_ref() {
                for ca in current.assigned.iter().flatten() {
                    items.extend(ca.tasks.iter().map(|t| (ca.connector.clone(), *t)));
                }
            }
            for ca in assignment.revoked.iter().flatten() {
                for t in &ca.tasks {
                    items.remove(&(ca.connector.clone(), *t));
                }
            }
        }
        for ca in assignment.assigned.iter().flatten() {
            items.extend(ca.tasks.iter().map(|t| (ca.connector.clone(), *t)));
        }
        for item in items {
            owners.insert(item, info.metadata.url.clone());
        }
    }
    herder.update_group(|g| g.owners = owners);
    let mut out = Vec::new();
    for (id, _) in members {
        let bytes = match result.get(id) {
            Some(a) => a.encode()?,
            None => Vec::new(),
        };
        out.push((id.clone(), bytes));
    }
    Ok(out)
}

/// Applies this worker's assignment to what it owns; returns whether anything was revoked.
async fn apply(
    herder: &Arc<DistributedHerder>,
    protocol: ConnectProtocol,
    assignment: &Assignment,
) -> bool {
    let mut local = herder.local.lock().await;
    let mut revoked_any = false;
    if protocol.is_incremental() {
        for ca in assignment.revoked.iter().flatten() {
            for &t in &ca.tasks {
                revoked_any = true;
                if t == CONNECTOR_TASK_ID {
                    local.owned_connectors.remove(&ca.connector);
                } else {
                    local
                        .owned_tasks
                        .remove(&ConnectorTaskId::new(ca.connector.clone(), t as u32));
                }
            }
        }
    } else {
        local.owned_connectors.clear();
        local.owned_tasks.clear();
    }
    for ca in assignment.assigned.iter().flatten() {
        for &t in &ca.tasks {
            if t == CONNECTOR_TASK_ID {
                local.owned_connectors.insert(ca.connector.clone());
            } else if t >= 0 {
                local
                    .owned_tasks
                    .insert(ConnectorTaskId::new(ca.connector.clone(), t as u32));
            }
        }
    }
    herder.publish_owned(&local.owned_tasks);
    tracing::info!(
        connectors = local.owned_connectors.len(),
        tasks = local.owned_tasks.len(),
        revoked = revoked_any,
        "assignment applied"
    );
    revoked_any
}

/// Heartbeats while `work` runs; returns whether the group asked for a rebalance meanwhile.
async fn heartbeat_during<F: std::future::Future<Output = ()>>(
    member: &mut GroupMember,
    interval: Duration,
    work: F,
) -> bool {
    tokio::pin!(work);
    let mut rebalance = false;
    loop {
        tokio::select! {
            _ = &mut work => return rebalance,
            _ = tokio::time::sleep(interval) => {
                if !rebalance {
                    if let Err(e) = member.heartbeat().await {
                        tracing::debug!(error = %e, "heartbeat during reconcile");
                        rebalance = true;
                    }
                }
            }
        }
    }
}

/// Runs until `shutdown` turns true, then leaves the group.
pub async fn run(herder: Arc<DistributedHerder>, mut shutdown: watch::Receiver<bool>) {
    let config = match member_config(&herder) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot configure the group member");
            return;
        }
    };
    let mut member = GroupMember::new(config);
    let mut assignor_state = AssignorState::default();
    let heartbeat = Duration::from_millis(herder.dist.heartbeat_interval_ms.max(1));
    let preferred = herder.group().protocol;
    'group: loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = herder.configs.read_to_end(READ_TIMEOUT).await {
            tracing::warn!(error = %e, "cannot read the config topic before joining");
        }
        let protocols = match offered(&herder).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode member metadata");
                tokio::time::sleep(RETRY_BACKOFF).await;
                continue;
            }
        };
        let started = Instant::now();
        herder.worker.metrics().rebalance().rebalance_started();
        let joined = tokio::select! {
            r = member.join(&protocols) => r,
            _ = shutdown.changed() => break 'group,
        };
        let outcome = match joined {
            Ok(o) => o,
            Err(e) => {
                log_retry("join", &e);
                tokio::time::sleep(RETRY_BACKOFF).await;
                continue;
            }
        };
        let protocol = ConnectProtocol::from_name(&outcome.protocol).unwrap_or(preferred);
        let assignments = if outcome.leader_id == outcome.member_id {
            match assign(
                &herder,
                protocol,
                &outcome.leader_id,
                &outcome.members,
                &mut assignor_state,
            )
            .await
            {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "cannot compute assignments");
                    tokio::time::sleep(RETRY_BACKOFF).await;
                    continue;
                }
            }
        } else {
            Vec::new()
        };
        let bytes = match member.sync(&assignments).await {
            Ok(b) => b,
            Err(e) => {
                log_retry("sync", &e);
                if !assignments.is_empty() {
                    // The round the leader computed never reached the members.
                    assignor_state.clear_previous_assignment();
                }
                continue;
            }
        };
        let assignment = match Assignment::decode(&bytes) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable assignment; rejoining");
                tokio::time::sleep(RETRY_BACKOFF).await;
                continue;
            }
        };
        if assignment.is_error() {
            tracing::info!(
                offset = assignment.config_offset,
                "config mismatch; catching up and rejoining"
            );
            continue;
        }
        if herder.configs.offset() < assignment.config_offset {
            let sync = Duration::from_millis(herder.dist.worker_sync_timeout_ms);
            let _ = herder.configs.read_to_end(sync).await;
            if herder.configs.offset() < assignment.config_offset {
                tracing::warn!(
                    wanted = assignment.config_offset,
                    have = herder.configs.offset(),
                    "cannot catch up with the config topic; leaving the group for a while"
                );
                let _ = member.leave().await;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(herder.dist.worker_unsync_backoff_ms)) => {}
                    _ = shutdown.changed() => break 'group,
                }
                continue;
            }
        }
        let is_leader = assignment.leader == outcome.member_id;
        herder.update_group(|g| {
            g.leader_url = Some(assignment.leader_url.clone());
            g.is_leader = is_leader;
            g.protocol = protocol;
            if !is_leader {
                g.owners.clear();
            }
        });
        if !is_leader {
            herder.configs.relinquish_leadership();
        }
        herder.status.set_generation(outcome.generation);
        let revoked = apply(&herder, protocol, &assignment).await;
        let mut rebalance = heartbeat_during(&mut member, heartbeat, herder.reconcile()).await;
        herder.set_ready();
        let metrics = herder.worker.metrics().rebalance();
        metrics.set_connect_protocol(match protocol {
            ConnectProtocol::Eager => "EAGER",
            ConnectProtocol::Compatible => "COMPATIBLE",
            ConnectProtocol::Sessioned => "SESSIONED",
        });
        metrics.set_leader_name(Some(&assignment.leader_url));
        metrics.set_epoch(outcome.generation as i64);
        metrics.rebalance_succeeded();
        tracing::info!(
            generation = outcome.generation,
            leader = is_leader,
            protocol = protocol.name(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "rebalance complete"
        );
        if is_leader {
            if let Err(e) = herder.ensure_session_key().await {
                tracing::warn!(error = %e, "cannot write a session key");
            }
        }
        let mut next_rebalance = (assignment.delay_ms > 0).then(|| {
            tokio::time::Instant::now() + Duration::from_millis(assignment.delay_ms as u64)
        });
        if revoked {
            // Released work is stopped; rejoin so the leader can hand it out.
            rebalance = true;
        }
        while !rebalance {
            let delay = next_rebalance;
            tokio::select! {
                _ = tokio::time::sleep(heartbeat) => {
                    match member.heartbeat().await {
                        Ok(()) => {}
                        Err(e) => {
                            tracing::info!(error = %e, "rejoining the group");
                            rebalance = true;
                        }
                    }
                    if is_leader {
                        if let Err(e) = herder.ensure_session_key().await {
                            tracing::warn!(error = %e, "cannot rotate the session key");
                        }
                    }
                }
                _ = herder.rejoin.notified() => rebalance = true,
                _ = async { match delay { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    next_rebalance = None;
                    rebalance = true;
                }
                _ = shutdown.changed() => break 'group,
            }
        }
    }
    herder.stop_local_work().await;
    if let Err(e) = member.leave().await {
        tracing::debug!(error = %e, "leave group");
    }
    tracing::info!("left the group");
}

fn log_retry(stage: &str, e: &MemberError) {
    match e {
        MemberError::RebalanceInProgress
        | MemberError::UnknownMemberId
        | MemberError::IllegalGeneration => tracing::debug!(stage, error = %e, "retrying"),
        _ => tracing::warn!(stage, error = %e, "group coordination failed; retrying"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_the_group_protocol_cannot_carry_never_stops_the_round() {
        let long = "x".repeat(40_000);
        let member = |id: &str| MemberInfo {
            member_id: id.to_owned(),
            metadata: MemberMetadata::new(
                ConnectProtocol::Sessioned,
                format!("http://{id}:8083/"),
                7,
                None,
            ),
        };
        let members = [member("w1"), member("w2")];
        let round = |work: &ConfiguredWork| {
            assignor::assign(
                "w1",
                "http://w1:8083/",
                7,
                ConnectProtocol::Sessioned,
                &members,
                work,
                0,
                &mut AssignorState::default(),
                Instant::now(),
            )
        };
        // As the config topic has it, the round's assignments cannot be encoded: every
        // worker would be left without work.
        let raw = ConfiguredWork {
            config_offset: 7,
            connectors: [(long.clone(), 1), ("ok".to_owned(), 2)]
                .into_iter()
                .collect(),
        };
        assert!(round(&raw).values().any(|a| a.encode().is_err()));
        // What the leader hands out leaves that connector out, and everything else goes.
        let work = assignable(7, [(long, 1), ("ok".to_owned(), 2)]);
        assert_eq!(work.connectors.keys().collect::<Vec<_>>(), ["ok"]);
        let mut assigned = Vec::new();
        for assignment in round(&work).values() {
            let back = Assignment::decode(&assignment.encode().expect("encodes")).unwrap();
            for ca in back.assigned.iter().flatten() {
                assigned.extend(ca.tasks.iter().map(|t| (ca.connector.clone(), *t)));
            }
        }
        assigned.sort();
        assert_eq!(
            assigned,
            [
                ("ok".to_owned(), CONNECTOR_TASK_ID),
                ("ok".to_owned(), 0),
                ("ok".to_owned(), 1)
            ]
        );
    }

    fn member(group: &str, client: &str) -> GroupMember {
        let bootstrap = std::env::var("TRIBUTARY_TEST_BOOTSTRAP")
            .unwrap_or_else(|_| "127.0.0.1:19092".to_owned());
        GroupMember::new(MemberConfig {
            bootstrap_servers: vec![bootstrap],
            group_id: group.to_owned(),
            client_id: client.to_owned(),
            session_timeout_ms: 3000,
            rebalance_timeout_ms: 10000,
            request_timeout: Duration::from_secs(10),
            security: Security::default(),
        })
    }

    /// Joins and syncs until the member is in a generation; the leader assigns every member
    /// its own id.
    async fn join(member: &mut GroupMember) -> i32 {
        let protocols = vec![("sessioned".to_owned(), b"metadata".to_vec())];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "cannot join the group");
            let Ok(outcome) = member.join(&protocols).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let assignments: Vec<(String, Vec<u8>)> = outcome
                .members
                .iter()
                .map(|(id, _)| (id.clone(), id.clone().into_bytes()))
                .collect();
            if member.sync(&assignments).await.is_ok() {
                return outcome.generation;
            }
        }
    }

    /// Heartbeats for `span`; the first error, if any.
    async fn keep_alive(member: &mut GroupMember, span: Duration) -> Result<(), MemberError> {
        let end = Instant::now() + span;
        while Instant::now() < end {
            member.heartbeat().await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }

    /// Against the real broker (TRIBUTARY_TEST_BOOTSTRAP): a reconcile that takes twice the
    /// session timeout (a task whose stop takes 6 s) keeps the worker in its group, because
    /// the membership loop heartbeats while it runs. The same wait without heartbeats gets
    /// the worker evicted (the test broker checks sessions when another member heartbeats),
    /// which shows the first part could fail.
    #[tokio::test]
    async fn a_slow_reconcile_keeps_the_worker_in_its_group() {
        let group = format!(
            "slow-reconcile-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let (mut slow, mut other) = (member(&group, "slow"), member(&group, "other"));
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            assert!(Instant::now() < deadline, "the two members never settled");
            let (a, b) = tokio::join!(join(&mut slow), join(&mut other));
            if a == b && slow.heartbeat().await.is_ok() && other.heartbeat().await.is_ok() {
                break;
            }
        }

        let slow_stop = tokio::time::sleep(Duration::from_secs(6));
        let (rebalance, others) = tokio::join!(
            heartbeat_during(&mut slow, Duration::from_millis(500), slow_stop),
            keep_alive(&mut other, Duration::from_secs(7)),
        );
        assert!(!rebalance, "no rebalance during the slow reconcile");
        others.expect("the other member saw no rebalance either");
        slow.heartbeat()
            .await
            .expect("still a member after a 6 s reconcile");

        let (_, _) = tokio::join!(
            tokio::time::sleep(Duration::from_secs(6)),
            keep_alive(&mut other, Duration::from_secs(7)),
        );
        assert!(
            slow.heartbeat().await.is_err(),
            "a member silent for twice its session is out of the group"
        );
        let _ = slow.leave().await;
        let _ = other.leave().await;
    }
}
