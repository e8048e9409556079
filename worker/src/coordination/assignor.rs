//! Leader-side assignment of connectors and tasks to the members of a Connect group (spec §7.5).
//!
//! The broker-elected group leader calls [`assign`] once per rebalance with every member's
//! JoinGroup metadata and the configured work from its own config snapshot. Two strategies exist:
//!
//! * **Eager** (`default` sub-protocol, Kafka's `EagerAssignor`): every member stops everything at
//!   the start of a rebalance, so the leader hands out the *full* assignment: round-robin over the
//!   members sorted by id, all connectors (sorted) first, then all tasks, continuing the same
//!   rotation. Version-0 assignments.
//! * **Incremental cooperative** (`compatible` / `sessioned`, KIP-415, Kafka's
//!   `IncrementalCooperativeAssignor`): members keep running what they have; the leader only sends
//!   what to stop (`revoked`) and what to start (`assigned`). Each round:
//!   1. if the leader's config snapshot is behind the newest member snapshot, everyone gets
//!      `CONFIG_MISMATCH` and nothing else;
//!   2. derive the sets *configured*, *active* (what members report running), *deleted*
//!      (previous or active but no longer configured), *duplicated* (active on more than one
//!      member), *lost* (previously assigned and still configured, but no longer running
//!      anywhere: its worker left) and *new* (configured, neither previous nor active);
//!   3. revoke deleted and duplicated items from every holder (a revoked duplicate comes back as
//!      new in the next round and is then placed exactly once);
//!   4. lost items: reassigned at once when `scheduled.rebalance.max.delay.ms` is 0 or no member
//!      seems to have left; otherwise held unassigned for that delay (the remaining delay is sent
//!      to every member in `delay_ms`), then given round-robin to members that joined empty
//!      during the delay (each up to the ceiling of its fair share), the rest treated as new;
//!   5. only while no such delay runs: revoke from members above their fair share (floor/ceil of
//!      total ÷ members, separately for connectors and tasks); the revoked items are placed in the
//!      follow-up round (members rejoin at once after a revocation). Consecutive revoking rounds
//!      are throttled by an exponential backoff (1 ms × 40ⁿ, capped at the max delay; never with
//!      a max delay of 0);
//!   6. new and reassigned-lost items go to the least-loaded members (ties broken by member id),
//!      connectors and tasks counted separately.
//!
//! Between rounds the leader keeps an [`AssignorState`] (its view of the previous assignment, the
//! scheduled delay and the revoking backoff). Everything is computed from sorted collections, and
//! the current time is passed in, so results are deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::protocol::{
    connectors_in, tasks_in, Assignment, ConnectProtocol, ConnectorAssignment, MemberMetadata,
    ERROR_CONFIG_MISMATCH, ERROR_NONE,
};

/// First step, in milliseconds, of the backoff between consecutive load-balancing revocations.
const REVOKING_BACKOFF_INITIAL_MS: u64 = 1;
/// Growth factor of the backoff between consecutive load-balancing revocations.
const REVOKING_BACKOFF_MULTIPLIER: u64 = 40;

/// What the leader knows about one member from its JoinGroup metadata.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub member_id: String,
    pub metadata: MemberMetadata,
}

/// The configured work, read from the leader's config snapshot.
#[derive(Debug, Clone, Default)]
pub struct ConfiguredWork {
    /// Offset of the snapshot this work was read from (informational: the offset the leader
    /// reports and checks is the `leader_config_offset` argument of [`assign`], expected to be
    /// the same value).
    pub config_offset: i64,
    /// connector name → number of tasks (committed task count; 0 for STOPPED connectors or not
    /// yet generated). Tasks of a connector are `0..n`.
    pub connectors: BTreeMap<String, u32>,
}

/// State the leader keeps between incremental rounds: its view of the previous assignment, the
/// scheduled delay for lost work and the revoking backoff.
///
/// A new leader starts from [`AssignorState::default`]. Eager rounds reset it (an eager round
/// invalidates any incremental history).
#[derive(Debug, Default)]
pub struct AssignorState {
    /// Everything the leader considered assigned after the previous round, including lost items
    /// it is holding back during a delay (Kafka's `previousAssignment`).
    previous: Items,
    /// Member ids of the previous round.
    previous_members: BTreeSet<String>,
    /// Everything revoked in the previous round (Kafka's `previousRevocation`).
    previous_revocation: Items,
    /// When the delay for lost items expires (Kafka's `scheduledRebalance`); `None` = no delay.
    lost_deadline: Option<Instant>,
    /// Members that were empty while lost items were held (Kafka's
    /// `candidateWorkersForReassignment`).
    candidates: BTreeSet<String>,
    /// Whether the previous round revoked for load balancing.
    revoked_in_previous: bool,
    /// Consecutive load-balancing revocation rounds (the backoff exponent).
    successive_revoking_rounds: u32,
    /// Until when load-balancing revocations are throttled.
    backoff_until: Option<Instant>,
}

impl AssignorState {
    /// Fresh state, as for a newly elected leader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the view of the previous assignment (keeping delays and backoff), so nothing is
    /// considered lost or deleted in the next round. Kafka does this when the previous round's
    /// assignment may not have reached the members (its generation differs from the last
    /// completed one).
    pub fn clear_previous_assignment(&mut self) {
        self.previous = Items::default();
        self.previous_revocation = Items::default();
    }

    /// When the next scheduled rebalance is due (lost-work delay or revoking backoff), if any.
    pub fn next_scheduled_rebalance(&self) -> Option<Instant> {
        [self.lost_deadline, self.backoff_until]
            .into_iter()
            .flatten()
            .min()
    }

    fn reset_lost_delay(&mut self) {
        self.lost_deadline = None;
        self.candidates.clear();
    }
}

/// Computes every member's assignment. `protocol` is the sub-protocol the coordinator chose
/// (Eager → EagerAssignor behaviour: full assignment, round-robin over members sorted by id,
/// connectors (sorted) first then tasks; version 0 Assignment).
/// Incremental (Compatible/Sessioned → Assignment version 1/2) implements §7.5 steps 1–6 (see the
/// module documentation); newly assigned items are only in `assigned`, items to stop in
/// `revoked`, and `delay_ms` carries the time until a scheduled follow-up rebalance (0 = none).
///
/// In every assignment `leader` = `leader_id`, `leader_url` = `leader_url` and `config_offset` =
/// `leader_config_offset` (on CONFIG_MISMATCH: the newest member offset, which members must
/// reach). `max_delay_ms` is `scheduled.rebalance.max.delay.ms`. `now` is only used for the
/// delays, so tests can drive time explicitly.
#[allow(clippy::too_many_arguments)]
pub fn assign(
    leader_id: &str,
    leader_url: &str,
    leader_config_offset: i64,
    protocol: ConnectProtocol,
    members: &[MemberInfo],
    work: &ConfiguredWork,
    max_delay_ms: u64,
    state: &mut AssignorState,
    now: Instant,
) -> BTreeMap<String, Assignment> {
    let by_id: BTreeMap<&str, &MemberMetadata> = members
        .iter()
        .map(|m| (m.member_id.as_str(), &m.metadata))
        .collect();
    if by_id.is_empty() {
        return BTreeMap::new();
    }
    let incremental = protocol.is_incremental();
    let make =
        |error: i16, config_offset: i64, assigned: &Items, revoked: Option<&Items>| Assignment {
            version: protocol.version(),
            error,
            leader: leader_id.to_owned(),
            leader_url: leader_url.to_owned(),
            config_offset,
            assigned: Some(assigned.to_wire()),
            revoked: revoked.map(Items::to_wire),
            delay_ms: 0,
        };

    // Step 1: the leader must have read the config topic at least as far as every member.
    let max_member_offset = by_id
        .values()
        .map(|m| m.config_offset)
        .max()
        .unwrap_or(leader_config_offset);
    if leader_config_offset < max_member_offset {
        let empty = Items::default();
        let revoked = incremental.then_some(&empty);
        return by_id
            .keys()
            .map(|&id| {
                let a = make(ERROR_CONFIG_MISMATCH, max_member_offset, &empty, revoked);
                (id.to_owned(), a)
            })
            .collect();
    }

    let configured = Items::configured(work);
    if !incremental {
        *state = AssignorState::default();
        let ids: Vec<&str> = by_id.keys().copied().collect();
        return eager(&ids, &configured)
            .into_iter()
            .map(|(id, items)| {
                let a = make(ERROR_NONE, leader_config_offset, &items, None);
                (id.to_owned(), a)
            })
            .collect();
    }

    let current: BTreeMap<&str, Items> = by_id
        .iter()
        .map(|(&id, metadata)| (id, Items::running(metadata)))
        .collect();
    let round = incremental_round(&current, &configured, max_delay_ms, state, now);
    let empty = Items::default();
    current
        .keys()
        .map(|&id| {
            let assigned = round.assigned.get(id).unwrap_or(&empty);
            let revoked = round.revoked.get(id).unwrap_or(&empty);
            let mut a = make(ERROR_NONE, leader_config_offset, assigned, Some(revoked));
            a.delay_ms = round.delay_ms;
            (id.to_owned(), a)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Item sets
// ---------------------------------------------------------------------------------------------

/// A task: connector name and task number.
type TaskId = (String, i32);

/// A set of connector instances and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Items {
    connectors: BTreeSet<String>,
    tasks: BTreeSet<TaskId>,
}

impl Items {
    /// Everything configured: each connector instance and its tasks `0..n`.
    fn configured(work: &ConfiguredWork) -> Items {
        let mut items = Items::default();
        for (connector, &count) in &work.connectors {
            items.connectors.insert(connector.clone());
            let count = i32::try_from(count).unwrap_or(i32::MAX);
            items
                .tasks
                .extend((0..count).map(|task| (connector.clone(), task)));
        }
        items
    }

    /// What a member reports running: the `assigned` list of its allocation (nothing without one).
    fn running(metadata: &MemberMetadata) -> Items {
        let mut items = Items::default();
        if let Some(allocation) = &metadata.allocation {
            let list = allocation.assigned.as_deref().unwrap_or_default();
            items
                .connectors
                .extend(connectors_in(list).into_iter().map(str::to_owned));
            items.tasks.extend(
                tasks_in(list)
                    .into_iter()
                    .map(|(connector, task)| (connector.to_owned(), task)),
            );
        }
        items
    }

    fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    fn minus(&self, other: &Items) -> Items {
        Items {
            connectors: self
                .connectors
                .difference(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }

    fn intersection(&self, other: &Items) -> Items {
        Items {
            connectors: self
                .connectors
                .intersection(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.intersection(&other.tasks).cloned().collect(),
        }
    }

    fn overlaps(&self, other: &Items) -> bool {
        !self.connectors.is_disjoint(&other.connectors) || !self.tasks.is_disjoint(&other.tasks)
    }

    fn add_all(&mut self, other: &Items) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    fn remove_all(&mut self, other: &Items) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }

    /// Wire form: one entry per connector, connectors (sorted) first, instance as task −1.
    fn to_wire(&self) -> Vec<ConnectorAssignment> {
        ConnectorAssignment::group(
            self.connectors.iter().map(String::as_str),
            self.tasks.iter().map(|(c, t)| (c.as_str(), *t)),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Eager
// ---------------------------------------------------------------------------------------------

/// Round-robin over `ids` (sorted): all connectors first, then all tasks, one rotation throughout.
fn eager<'a>(ids: &[&'a str], configured: &Items) -> BTreeMap<&'a str, Items> {
    let mut out: BTreeMap<&str, Items> = ids.iter().map(|&id| (id, Items::default())).collect();
    let mut rotation = ids.iter().cycle();
    for connector in &configured.connectors {
        if let Some(items) = rotation.next().and_then(|id| out.get_mut(id)) {
            items.connectors.insert(connector.clone());
        }
    }
    for task in &configured.tasks {
        if let Some(items) = rotation.next().and_then(|id| out.get_mut(id)) {
            items.tasks.insert(task.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Incremental cooperative
// ---------------------------------------------------------------------------------------------

/// Result of one incremental round.
struct Round {
    assigned: BTreeMap<String, Items>,
    revoked: BTreeMap<String, Items>,
    delay_ms: i32,
}

/// §7.5 steps 2–6 for members running `current`.
fn incremental_round(
    current: &BTreeMap<&str, Items>,
    configured: &Items,
    max_delay_ms: u64,
    state: &mut AssignorState,
    now: Instant,
) -> Round {
    // Step 2: derived sets.
    let mut active = Items::default();
    let mut duplicated = Items::default();
    for items in current.values() {
        for connector in &items.connectors {
            if !active.connectors.insert(connector.clone()) {
                duplicated.connectors.insert(connector.clone());
            }
        }
        for task in &items.tasks {
            if !active.tasks.insert(task.clone()) {
                duplicated.tasks.insert(task.clone());
            }
        }
    }

    // A revocation of the previous round did not take effect (the member still runs the item):
    // the previous view is unreliable, start again from what is actually running.
    if !state.previous_revocation.is_empty() {
        if state.previous_revocation.overlaps(&active) {
            state.previous = active.clone();
        }
        state.previous_revocation = Items::default();
    }

    let mut deleted = state.previous.minus(configured);
    deleted.add_all(&active.minus(configured));
    let lost = state.previous.intersection(configured).minus(&active);
    let mut to_assign = configured.minus(&state.previous).minus(&active);

    // Step 3: revoke deleted and duplicated items from every holder. `next` is what each member
    // keeps running; `assigned` collects what it newly gets.
    let mut revoked: BTreeMap<String, Items> = BTreeMap::new();
    let mut next: BTreeMap<String, Items> = BTreeMap::new();
    let mut assigned: BTreeMap<String, Items> = BTreeMap::new();
    for (&id, items) in current {
        let mut stop = items.intersection(&deleted);
        stop.add_all(&items.intersection(&duplicated));
        next.insert(id.to_owned(), items.minus(&stop));
        revoked.insert(id.to_owned(), stop);
        assigned.insert(id.to_owned(), Items::default());
    }

    // Step 4: lost items.
    let mut held = Items::default();
    let everyone_stayed = state
        .previous_members
        .iter()
        .all(|m| current.contains_key(m.as_str()));
    if lost.is_empty() {
        state.reset_lost_delay();
    } else if max_delay_ms == 0 {
        to_assign.add_all(&lost);
        state.reset_lost_delay();
    } else if state.lost_deadline.is_none() && everyone_stayed {
        // Nobody left: the items were probably never picked up (a member missed its previous
        // assignment), so there is nothing to wait for.
        to_assign.add_all(&lost);
    } else if matches!(state.lost_deadline, Some(deadline) if now >= deadline) {
        let candidates: Vec<&str> = state
            .candidates
            .iter()
            .map(String::as_str)
            .filter(|c| current.contains_key(c))
            .collect();
        let leftover = give_to_candidates(&lost, &candidates, configured, &next, &mut assigned);
        to_assign.add_all(&leftover);
        state.reset_lost_delay();
    } else {
        for (id, items) in &next {
            if items.is_empty() {
                state.candidates.insert(id.clone());
            }
        }
        if state.lost_deadline.is_none() {
            state.lost_deadline = Some(deadline_after(now, max_delay_ms));
        }
        held = lost;
    }

    // Step 5: load-balancing revocations, only while no delay for lost items runs.
    if state.lost_deadline.is_some() {
        state.revoked_in_previous = false;
    } else if !matches!(state.backoff_until, Some(until) if now < until) {
        if state.backoff_until.take().is_some() {
            // The backoff has been served: the next revocation may happen right away.
            state.revoked_in_previous = false;
        }
        let balancing = balancing_revocations(configured, &next, &assigned);
        if balancing.is_empty() {
            state.revoked_in_previous = false;
            state.successive_revoking_rounds = 0;
        } else {
            let backoff_ms = if state.revoked_in_previous {
                state.successive_revoking_rounds =
                    state.successive_revoking_rounds.saturating_add(1);
                revoking_backoff_ms(state.successive_revoking_rounds, max_delay_ms)
            } else {
                0
            };
            if backoff_ms == 0 {
                for (id, stop) in &balancing {
                    if let Some(items) = next.get_mut(id) {
                        items.remove_all(stop);
                    }
                    if let Some(items) = revoked.get_mut(id) {
                        items.add_all(stop);
                    }
                }
                state.revoked_in_previous = true;
            } else {
                state.backoff_until = Some(deadline_after(now, backoff_ms));
            }
        }
    }

    // Step 6: new and reassigned-lost items to the least-loaded members.
    place_least_loaded(
        &to_assign.connectors,
        &next,
        &mut assigned,
        |items| items.connectors.len(),
        |items, connector| {
            items.connectors.insert(connector.clone());
        },
    );
    place_least_loaded(
        &to_assign.tasks,
        &next,
        &mut assigned,
        |items| items.tasks.len(),
        |items, task| {
            items.tasks.insert(task.clone());
        },
    );

    // Remember this round.
    let mut previous = held;
    for items in next.values().chain(assigned.values()) {
        previous.add_all(items);
    }
    let mut all_revoked = Items::default();
    for items in revoked.values() {
        all_revoked.add_all(items);
    }
    state.previous = previous;
    state.previous_revocation = all_revoked;
    state.previous_members = current.keys().map(|&id| id.to_owned()).collect();

    let delay_ms = [state.lost_deadline, state.backoff_until]
        .into_iter()
        .flatten()
        .filter_map(|deadline| remaining_ms(deadline, now))
        .min()
        .unwrap_or(0);
    Round {
        assigned,
        revoked,
        delay_ms,
    }
}

/// Gives lost items round-robin to `candidates` (members that joined empty during the delay),
/// connectors and tasks separately, never filling a candidate beyond the ceiling of its fair
/// share; returns what is left for the general least-loaded placement.
fn give_to_candidates(
    lost: &Items,
    candidates: &[&str],
    configured: &Items,
    next: &BTreeMap<String, Items>,
    assigned: &mut BTreeMap<String, Items>,
) -> Items {
    let members = next.len().max(1);
    let (connectors, leftover_connectors) = round_robin_capped(
        &lost.connectors,
        candidates,
        configured.connectors.len().div_ceil(members),
        |id| load(next, assigned, id, |items| items.connectors.len()),
    );
    for (id, connector) in connectors {
        if let Some(items) = assigned.get_mut(id) {
            items.connectors.insert(connector.clone());
        }
    }
    let (tasks, leftover_tasks) = round_robin_capped(
        &lost.tasks,
        candidates,
        configured.tasks.len().div_ceil(members),
        |id| load(next, assigned, id, |items| items.tasks.len()),
    );
    for (id, task) in tasks {
        if let Some(items) = assigned.get_mut(id) {
            items.tasks.insert(task.clone());
        }
    }
    Items {
        connectors: leftover_connectors.into_iter().cloned().collect(),
        tasks: leftover_tasks.into_iter().cloned().collect(),
    }
}

/// Deals `items` round-robin to `candidates` (starting with the first), skipping candidates whose
/// load has reached `cap`. Returns the `(candidate, item)` pairs and the items nobody could take.
fn round_robin_capped<'a, 'c, T>(
    items: &'a BTreeSet<T>,
    candidates: &[&'c str],
    cap: usize,
    load: impl Fn(&str) -> usize,
) -> (Vec<(&'c str, &'a T)>, Vec<&'a T>) {
    let mut loads: Vec<usize> = candidates.iter().map(|&c| load(c)).collect();
    let mut given = Vec::new();
    let mut leftover = Vec::new();
    let mut cursor = 0;
    'items: for item in items {
        for step in 0..candidates.len() {
            let i = (cursor + step) % candidates.len();
            if loads[i] < cap {
                loads[i] += 1;
                given.push((candidates[i], item));
                cursor = i + 1;
                continue 'items;
            }
        }
        leftover.push(item);
    }
    (given, leftover)
}

/// A member's load of one kind: what it keeps plus what it newly gets.
fn load(
    next: &BTreeMap<String, Items>,
    assigned: &BTreeMap<String, Items>,
    id: &str,
    count: impl Fn(&Items) -> usize,
) -> usize {
    next.get(id).map_or(0, &count) + assigned.get(id).map_or(0, &count)
}

/// Places each item (in order) on the member with the smallest load (ties: smallest member id).
fn place_least_loaded<T>(
    items: &BTreeSet<T>,
    next: &BTreeMap<String, Items>,
    assigned: &mut BTreeMap<String, Items>,
    count: impl Fn(&Items) -> usize,
    mut add: impl FnMut(&mut Items, &T),
) {
    if items.is_empty() {
        return;
    }
    let mut queue: BTreeSet<(usize, String)> = next
        .keys()
        .map(|id| (load(next, assigned, id, &count), id.clone()))
        .collect();
    for item in items {
        let Some((load, id)) = queue.pop_first() else {
            return;
        };
        if let Some(target) = assigned.get_mut(&id) {
            add(target, item);
        }
        queue.insert((load + 1, id));
    }
}

/// Load-balancing revocations (§7.5 step 5, Kafka's `performLoadBalancingRevocations`): members
/// above their fair share give back the excess, separately for connectors and tasks. Only items a
/// member already runs (`next`) are revoked; items newly given this round count towards its load.
fn balancing_revocations(
    configured: &Items,
    next: &BTreeMap<String, Items>,
    assigned: &BTreeMap<String, Items>,
) -> BTreeMap<String, Items> {
    let mut out: BTreeMap<String, Items> = BTreeMap::new();
    if configured.is_empty() || next.is_empty() {
        return out;
    }
    let connector_loads: Vec<(&String, usize)> = next
        .keys()
        .map(|id| (id, load(next, assigned, id, |i| i.connectors.len())))
        .collect();
    for (id, excess) in excess_loads(configured.connectors.len(), &connector_loads) {
        if let Some(running) = next.get(id) {
            let stop = running.connectors.iter().rev().take(excess).cloned();
            out.entry(id.clone()).or_default().connectors.extend(stop);
        }
    }
    let task_loads: Vec<(&String, usize)> = next
        .keys()
        .map(|id| (id, load(next, assigned, id, |i| i.tasks.len())))
        .collect();
    for (id, excess) in excess_loads(configured.tasks.len(), &task_loads) {
        if let Some(running) = next.get(id) {
            let stop = pick_tasks(&running.tasks, excess);
            out.entry(id.clone()).or_default().tasks.extend(stop);
        }
    }
    out.retain(|_, items| !items.is_empty());
    out
}

/// How many items each member must give up so that at most `total % n` members keep
/// `total / n + 1` and all others at most `total / n` (Kafka's `loadBalancingRevocations`; the
/// "+1" allowances go to overloaded members in member-id order).
fn excess_loads<'a>(total: usize, loads: &[(&'a String, usize)]) -> Vec<(&'a String, usize)> {
    let members = loads.len();
    if members == 0 {
        return Vec::new();
    }
    let floor = total / members;
    let extras = total % members;
    let at_floor = loads.iter().filter(|(_, n)| *n == floor).count();
    let at_ceil = loads.iter().filter(|(_, n)| *n == floor + 1).count();
    if at_ceil == extras && at_floor + at_ceil == members {
        return Vec::new();
    }
    let mut extras_given = 0;
    let mut out = Vec::new();
    for &(id, n) in loads {
        if n <= floor {
            continue;
        }
        let allowed = if extras_given < extras {
            extras_given += 1;
            floor + 1
        } else {
            floor
        };
        if n > allowed {
            out.push((id, n - allowed));
        }
    }
    out
}

/// Chooses `count` tasks to revoke: repeatedly the highest task of the connector with the most
/// tasks left (ties: the greatest connector name), which spreads a connector's tasks over members.
fn pick_tasks(tasks: &BTreeSet<TaskId>, count: usize) -> Vec<TaskId> {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (connector, task) in tasks {
        by_connector.entry(connector).or_default().push(*task);
    }
    let mut out = Vec::with_capacity(count.min(tasks.len()));
    for _ in 0..count {
        let Some((connector, ids)) = by_connector
            .iter_mut()
            .filter(|(_, ids)| !ids.is_empty())
            .max_by_key(|(_, ids)| ids.len())
        else {
            break;
        };
        if let Some(task) = ids.pop() {
            out.push(((*connector).to_owned(), task));
        }
    }
    out
}

/// Backoff before the `rounds`-th consecutive load-balancing revocation: 1 ms × 40^rounds, capped
/// at `max_delay_ms`; 0 (no throttling) when `max_delay_ms` is 0.
fn revoking_backoff_ms(rounds: u32, max_delay_ms: u64) -> u64 {
    if max_delay_ms == 0 {
        return 0;
    }
    let mut backoff = REVOKING_BACKOFF_INITIAL_MS;
    for _ in 0..rounds {
        backoff = backoff.saturating_mul(REVOKING_BACKOFF_MULTIPLIER);
        if backoff >= max_delay_ms {
            return max_delay_ms;
        }
    }
    backoff.min(max_delay_ms)
}

/// `now + ms`, with the delay limited to what the INT32 `delay` field can carry.
fn deadline_after(now: Instant, ms: u64) -> Instant {
    let ms = ms.min(i32::MAX as u64);
    now.checked_add(Duration::from_millis(ms)).unwrap_or(now)
}

/// Milliseconds from `now` until `deadline`, rounded up (so a pending deadline never reads as
/// 0 = "none"); `None` once it has passed.
fn remaining_ms(deadline: Instant, now: Instant) -> Option<i32> {
    let left = deadline.checked_duration_since(now)?;
    if left.is_zero() {
        return None;
    }
    let ms = left.as_nanos().div_ceil(1_000_000);
    Some(i32::try_from(ms).unwrap_or(i32::MAX).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordination::protocol::CONNECTOR_TASK_ID;

    const LEADER_URL: &str = "http://leader:8083/";

    fn url(id: &str) -> String {
        format!("http://{id}:8083/")
    }

    /// (connector, task) with task −1 for the connector instance.
    type Item = (String, i32);

    /// A simulated cluster: members' allocations, the leader's assignor state and a clock.
    struct Sim {
        protocol: ConnectProtocol,
        max_delay_ms: u64,
        work: ConfiguredWork,
        owned: BTreeMap<String, Items>,
        leader: Option<String>,
        state: AssignorState,
        now: Instant,
        rounds: usize,
    }

    impl Sim {
        fn new(max_delay_ms: u64, connectors: &[(&str, u32)], workers: &[&str]) -> Sim {
            let mut sim = Sim {
                protocol: ConnectProtocol::Sessioned,
                max_delay_ms,
                work: ConfiguredWork {
                    config_offset: 10,
                    connectors: connectors.iter().map(|&(c, n)| (c.to_owned(), n)).collect(),
                },
                owned: BTreeMap::new(),
                leader: None,
                state: AssignorState::default(),
                now: Instant::now(),
                rounds: 0,
            };
            for w in workers {
                sim.join(w);
            }
            sim
        }

        fn join(&mut self, id: &str) {
            self.owned.insert(id.to_owned(), Items::default());
        }

        /// A worker leaves; if it was the leader, the next leader starts from a fresh state.
        fn leave(&mut self, id: &str) {
            self.owned.remove(id);
            if self.leader.as_deref() == Some(id) {
                self.leader = None;
                self.state = AssignorState::default();
            }
        }

        fn set_connector(&mut self, name: &str, tasks: Option<u32>) {
            match tasks {
                Some(n) => self.work.connectors.insert(name.to_owned(), n),
                None => self.work.connectors.remove(name),
            };
            self.work.config_offset += 1;
        }

        fn members(&self) -> Vec<MemberInfo> {
            self.owned
                .iter()
                .map(|(id, items)| {
                    let allocation = (!items.is_empty()).then(|| Assignment {
                        version: self.protocol.version(),
                        error: ERROR_NONE,
                        leader: "whoever".into(),
                        leader_url: "http://whoever/".into(),
                        config_offset: self.work.config_offset,
                        assigned: Some(items.to_wire()),
                        revoked: Some(Vec::new()),
                        delay_ms: 0,
                    });
                    MemberInfo {
                        member_id: id.clone(),
                        metadata: MemberMetadata::new(
                            self.protocol,
                            url(id),
                            self.work.config_offset,
                            allocation,
                        ),
                    }
                })
                .collect()
        }

        /// One rebalance: the leader assigns, every member applies its assignment (stop
        /// revoked, start assigned). Checks the basic invariants of every round.
        fn round(&mut self) -> BTreeMap<String, Assignment> {
            let leader = match &self.leader {
                Some(l) => l.clone(),
                None => {
                    let l = self.owned.keys().next().expect("no members").clone();
                    self.leader = Some(l.clone());
                    l
                }
            };
            let result = assign(
                &leader,
                LEADER_URL,
                self.work.config_offset,
                self.protocol,
                &self.members(),
                &self.work,
                self.max_delay_ms,
                &mut self.state,
                self.now,
            );
            self.rounds += 1;
            assert_eq!(
                result.keys().collect::<Vec<_>>(),
                self.owned.keys().collect::<Vec<_>>()
            );
            let delays: BTreeSet<i32> = result.values().map(|a| a.delay_ms).collect();
            assert_eq!(delays.len(), 1, "same delay for everyone: {result:?}");
            for (id, a) in &result {
                assert_eq!(a.error, ERROR_NONE);
                assert_eq!(a.version, self.protocol.version());
                assert_eq!(a.leader, leader);
                assert_eq!(a.leader_url, LEADER_URL);
                assert_eq!(a.config_offset, self.work.config_offset);
                assert!(a.delay_ms >= 0);
                let owned = self.owned.get_mut(id).unwrap();
                for c in a.revoked_connectors() {
                    assert!(
                        owned.connectors.remove(c),
                        "{id} revoked {c} it does not run"
                    );
                }
                for (c, t) in a.revoked_tasks() {
                    let task = (c.to_owned(), t);
                    assert!(owned.tasks.remove(&task), "{id} revoked {task:?} it lacks");
                }
                for c in a.connectors() {
                    assert!(
                        owned.connectors.insert(c.to_owned()),
                        "{id} re-assigned {c}"
                    );
                }
                for (c, t) in a.tasks() {
                    let task = (c.to_owned(), t);
                    assert!(
                        owned.tasks.insert(task.clone()),
                        "{id} re-assigned {task:?}"
                    );
                }
            }
            self.assert_no_duplicates();
            result
        }

        /// Rounds as the workers would drive them until nothing is pending: after a revocation
        /// everyone rejoins at once; after a round with `delay_ms > 0` the clock advances by
        /// that delay and everyone rejoins. Returns the number of rounds.
        fn settle(&mut self) -> usize {
            for n in 1..=20 {
                let result = self.round();
                let revoked = result
                    .values()
                    .any(|a| !a.revoked.as_deref().unwrap_or_default().is_empty());
                let delay = result.values().map(|a| a.delay_ms).max().unwrap_or(0);
                if revoked {
                    continue;
                }
                if delay > 0 {
                    self.now += Duration::from_millis(delay as u64);
                    continue;
                }
                return n;
            }
            panic!("no stable assignment after 20 rounds: {:?}", self.owned);
        }

        fn ownership(&self) -> BTreeMap<Item, String> {
            let mut out = BTreeMap::new();
            for (id, items) in &self.owned {
                for c in &items.connectors {
                    out.insert((c.clone(), CONNECTOR_TASK_ID), id.clone());
                }
                for t in &items.tasks {
                    out.insert(t.clone(), id.clone());
                }
            }
            out
        }

        fn assert_no_duplicates(&self) {
            let mut seen = BTreeMap::new();
            for (id, items) in &self.owned {
                for c in &items.connectors {
                    let item = (c.clone(), CONNECTOR_TASK_ID);
                    assert!(seen.insert(item.clone(), id).is_none(), "{item:?} twice");
                }
                for t in &items.tasks {
                    assert!(seen.insert(t.clone(), id).is_none(), "{t:?} twice");
                }
            }
        }

        /// Every configured item runs exactly once, nothing else runs, and loads differ by at
        /// most one (connectors and tasks separately).
        fn assert_balanced(&self) {
            self.assert_no_duplicates();
            let configured = Items::configured(&self.work);
            let mut running = Items::default();
            for items in self.owned.values() {
                running.add_all(items);
            }
            assert_eq!(running, configured, "running vs configured");
            let spread = |f: fn(&Items) -> usize| {
                let loads: Vec<usize> = self.owned.values().map(f).collect();
                loads.iter().max().unwrap() - loads.iter().min().unwrap()
            };
            assert!(spread(|i| i.connectors.len()) <= 1, "{:?}", self.owned);
            assert!(spread(|i| i.tasks.len()) <= 1, "{:?}", self.owned);
        }

        fn load(&self, id: &str) -> (usize, usize) {
            let items = &self.owned[id];
            (items.connectors.len(), items.tasks.len())
        }
    }

    /// Items whose owner differs (or that appeared/disappeared) between two ownership maps,
    /// counting only items present in both.
    fn moved(before: &BTreeMap<Item, String>, after: &BTreeMap<Item, String>) -> usize {
        before
            .iter()
            .filter(|(item, owner)| after.get(*item).is_some_and(|o| o != *owner))
            .count()
    }

    fn three_by_ten() -> Sim {
        let mut sim = Sim::new(0, &[("a", 10), ("b", 10), ("c", 10)], &["w1", "w2", "w3"]);
        sim.settle();
        sim.assert_balanced();
        sim
    }

    #[test]
    fn initial_spread_is_even_in_one_round() {
        let mut sim = Sim::new(0, &[("a", 10), ("b", 10), ("c", 10)], &["w1", "w2", "w3"]);
        let result = sim.round();
        for a in result.values() {
            assert_eq!(a.revoked, Some(vec![]));
            assert_eq!(a.delay_ms, 0);
        }
        sim.assert_balanced();
        for w in ["w1", "w2", "w3"] {
            assert_eq!(sim.load(w), (1, 10));
        }
        // A second round with nothing changed is a no-op.
        let result = sim.round();
        for a in result.values() {
            assert_eq!(a.assigned, Some(vec![]));
            assert_eq!(a.revoked, Some(vec![]));
        }
    }

    #[test]
    fn departed_worker_items_move_at_once_and_survivors_keep_theirs() {
        let mut sim = three_by_ten();
        let before = sim.ownership();
        sim.leave("w3");
        let result = sim.round();
        for a in result.values() {
            assert_eq!(a.revoked, Some(vec![]), "nothing revoked from survivors");
            assert_eq!(a.delay_ms, 0);
        }
        sim.assert_balanced();
        let after = sim.ownership();
        for (item, owner) in &before {
            if owner != "w3" {
                assert_eq!(&after[item], owner, "{item:?} stayed put");
            }
        }
        assert_eq!(sim.load("w1").1 + sim.load("w2").1, 30);
        assert_eq!(sim.load("w1").1, 15);
    }

    #[test]
    fn returning_worker_gets_only_a_fair_share() {
        let mut sim = three_by_ten();
        sim.leave("w3");
        sim.settle();
        let before = sim.ownership();
        sim.join("w3-again");
        // Round 1 only revokes (from w1/w2); round 2 places the revoked items.
        let first = sim.round();
        assert!(first.values().all(|a| a.assigned == Some(vec![])));
        let revoked: usize = first
            .values()
            .map(|a| a.revoked_connectors().len() + a.revoked_tasks().len())
            .sum();
        assert_eq!(revoked, 11);
        assert_eq!(sim.settle(), 1);
        sim.assert_balanced();
        assert_eq!(sim.load("w3-again"), (1, 10));
        let after = sim.ownership();
        assert_eq!(
            moved(&before, &after),
            11,
            "only the newcomer's share moved"
        );
        for (item, owner) in &after {
            if owner != "w3-again" {
                assert_eq!(&before[item], owner);
            }
        }
    }

    #[test]
    fn rolling_restart_of_every_worker_keeps_the_rest_in_place() {
        let mut sim = three_by_ten();
        for (old, new) in [("w1", "w1b"), ("w2", "w2b"), ("w3", "w3b")] {
            let before = sim.ownership();
            sim.leave(old);
            sim.settle();
            let mid = sim.ownership();
            for (item, owner) in &before {
                if owner != old {
                    assert_eq!(&mid[item], owner, "{item:?} moved while {old} was away");
                }
            }
            sim.join(new);
            sim.settle();
            sim.assert_balanced();
            assert!(moved(&mid, &sim.ownership()) <= 11);
        }
    }

    #[test]
    fn fourth_worker_takes_about_a_quarter() {
        let mut sim = three_by_ten();
        let before = sim.ownership();
        sim.join("w4");
        sim.settle();
        sim.assert_balanced();
        let n = before.len();
        let moved = moved(&before, &sim.ownership());
        assert!(moved <= n.div_ceil(4) + 1, "moved {moved} of {n}");
        assert!(moved >= n / 4 - 1, "moved {moved} of {n}");
        assert_eq!(sim.load("w4").1, 7);
    }

    #[test]
    fn deleted_connector_is_revoked_from_its_holders() {
        let mut sim = three_by_ten();
        let holders: BTreeSet<String> = sim
            .ownership()
            .into_iter()
            .filter(|((c, _), _)| c == "b")
            .map(|(_, owner)| owner)
            .collect();
        assert_eq!(holders.len(), 3);
        sim.set_connector("b", None);
        let result = sim.round();
        for (id, a) in &result {
            let revoked_b = a.revoked_tasks().iter().filter(|(c, _)| *c == "b").count()
                + a.revoked_connectors().iter().filter(|c| **c == "b").count();
            let had_b = holders.contains(id);
            assert_eq!(revoked_b > 0, had_b, "{id}: {a:?}");
        }
        assert!(sim.ownership().keys().all(|(c, _)| c != "b"));
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn fewer_tasks_revokes_the_dropped_tasks() {
        let mut sim = three_by_ten();
        sim.set_connector("a", Some(4));
        let result = sim.round();
        let revoked: BTreeSet<(String, i32)> = result
            .values()
            .flat_map(|a| a.revoked_tasks())
            .map(|(c, t)| (c.to_owned(), t))
            .collect();
        let expected: BTreeSet<(String, i32)> = (4..10).map(|t| ("a".to_owned(), t)).collect();
        assert!(expected.is_subset(&revoked), "{revoked:?}");
        sim.settle();
        sim.assert_balanced();
        // Stopped connector: no tasks, connector instance still placed.
        sim.set_connector("a", Some(0));
        sim.settle();
        sim.assert_balanced();
        assert!(sim
            .ownership()
            .contains_key(&("a".to_owned(), CONNECTOR_TASK_ID)));
    }

    #[test]
    fn new_connector_goes_to_the_least_loaded_worker() {
        let mut sim = Sim::new(0, &[("a", 2), ("b", 1)], &["w1", "w2", "w3"]);
        sim.settle();
        sim.assert_balanced();
        // Two connectors over three workers: the worker without one gets the new connector.
        let without: Vec<String> = sim
            .owned
            .iter()
            .filter(|(_, i)| i.connectors.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(without.len(), 1);
        sim.set_connector("c", Some(3));
        let result = sim.round();
        assert_eq!(result[&without[0]].connectors(), vec!["c"]);
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn duplicated_items_are_revoked_from_every_holder_then_placed_once() {
        let mut sim = three_by_ten();
        // w1 and w2 both claim task a-0 (and w2 also claims w1's connector).
        let owners = sim.ownership();
        let a0 = ("a".to_owned(), 0);
        let a0_owner = owners[&a0].clone();
        let other = if a0_owner == "w1" { "w2" } else { "w1" };
        sim.owned.get_mut(other).unwrap().tasks.insert(a0.clone());
        let other_connector = sim.owned[&a0_owner]
            .connectors
            .iter()
            .next()
            .unwrap()
            .clone();
        sim.owned
            .get_mut(other)
            .unwrap()
            .connectors
            .insert(other_connector.clone());

        let round = sim.round();
        for holder in [&a0_owner, &other.to_owned()] {
            assert!(
                round[holder].revoked_tasks().contains(&("a", 0)),
                "{holder}"
            );
            assert!(round[holder]
                .revoked_connectors()
                .contains(&other_connector.as_str()));
        }
        assert!(!sim.ownership().contains_key(&a0));
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn config_mismatch_errors_everyone() {
        let sim = three_by_ten();
        let mut members = sim.members();
        members[1].metadata.config_offset = 42;
        let mut state = AssignorState::default();
        for protocol in [ConnectProtocol::Sessioned, ConnectProtocol::Eager] {
            let result = assign(
                "w1",
                LEADER_URL,
                sim.work.config_offset,
                protocol,
                &members,
                &sim.work,
                0,
                &mut state,
                sim.now,
            );
            assert_eq!(result.len(), 3);
            for a in result.values() {
                assert_eq!(a.error, ERROR_CONFIG_MISMATCH);
                assert!(a.is_error());
                assert_eq!(a.version, protocol.version());
                assert_eq!(a.leader, "w1");
                assert_eq!(a.leader_url, LEADER_URL);
                assert_eq!(a.config_offset, 42);
                assert_eq!(a.assigned, Some(vec![]));
                let revoked = protocol.is_incremental().then(Vec::new);
                assert_eq!(a.revoked, revoked);
                assert_eq!(a.delay_ms, 0);
            }
        }
        // A leader ahead of its members is fine.
        let result = assign(
            "w1",
            LEADER_URL,
            sim.work.config_offset + 5,
            ConnectProtocol::Compatible,
            &sim.members(),
            &sim.work,
            0,
            &mut state,
            sim.now,
        );
        assert!(result.values().all(|a| !a.is_error() && a.version == 1));
        assert!(result
            .values()
            .all(|a| a.config_offset == sim.work.config_offset + 5));
    }

    #[test]
    fn lost_items_wait_for_the_delay_then_go_to_the_returning_worker() {
        let mut sim = Sim::new(
            10_000,
            &[("a", 10), ("b", 10), ("c", 10)],
            &["w1", "w2", "w3"],
        );
        sim.settle();
        sim.assert_balanced();
        let before = sim.ownership();
        let lost: BTreeSet<Item> = before
            .iter()
            .filter(|(_, o)| *o == "w3")
            .map(|(i, _)| i.clone())
            .collect();
        assert_eq!(lost.len(), 11);
        let start = sim.now;

        sim.leave("w3");
        let result = sim.round();
        for a in result.values() {
            assert_eq!(a.delay_ms, 10_000);
            assert_eq!(a.assigned, Some(vec![]));
            assert_eq!(a.revoked, Some(vec![]));
        }
        assert_eq!(sim.ownership().len(), 22, "lost items held back");

        // The worker comes back (new member id) within the delay: still waiting.
        sim.now = start + Duration::from_millis(4_000);
        sim.join("w3-again");
        let result = sim.round();
        for a in result.values() {
            assert_eq!(a.delay_ms, 6_000);
            assert_eq!(a.assigned, Some(vec![]));
            assert_eq!(a.revoked, Some(vec![]));
        }
        assert_eq!(
            sim.state.next_scheduled_rebalance(),
            Some(start + Duration::from_millis(10_000))
        );

        // Delay expired: everything lost goes to the member that joined empty.
        sim.now = start + Duration::from_millis(10_000);
        let result = sim.round();
        assert!(result.values().all(|a| a.delay_ms == 0));
        assert!(result.values().all(|a| a.revoked == Some(vec![])));
        let got: BTreeSet<Item> = sim
            .ownership()
            .into_iter()
            .filter(|(_, o)| o == "w3-again")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got, lost);
        sim.assert_balanced();
        assert_eq!(sim.settle(), 1);
        assert_eq!(sim.state.next_scheduled_rebalance(), None);
    }

    #[test]
    fn lost_items_without_a_returning_worker_are_spread_after_the_delay() {
        let mut sim = Sim::new(
            5_000,
            &[("a", 10), ("b", 10), ("c", 10)],
            &["w1", "w2", "w3"],
        );
        sim.settle();
        let start = sim.now;
        sim.leave("w2");
        let result = sim.round();
        assert!(result.values().all(|a| a.delay_ms == 5_000));
        // Early rejoin (e.g. a config change) keeps waiting; new work is still placed.
        sim.now = start + Duration::from_millis(1_500);
        sim.set_connector("d", Some(2));
        let result = sim.round();
        assert!(result.values().all(|a| a.delay_ms == 3_500));
        let placed = sim.ownership();
        assert!(placed.contains_key(&("d".to_owned(), CONNECTOR_TASK_ID)));
        assert!(placed.contains_key(&("d".to_owned(), 1)));
        assert_eq!(placed.len(), 22 + 3);
        // Sub-millisecond remainders round up, never to 0.
        sim.now = start + Duration::from_micros(4_999_500);
        let result = sim.round();
        assert!(result.values().all(|a| a.delay_ms == 1));
        sim.now = start + Duration::from_millis(5_001);
        let result = sim.round();
        assert!(result.values().all(|a| a.delay_ms == 0));
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn lost_items_are_reassigned_at_once_when_nobody_left() {
        // The leader believes a-0 is assigned, but no member runs it (e.g. its member missed the
        // previous assignment) and every previous member is still here: no delay.
        let mut sim = Sim::new(60_000, &[("a", 3)], &["w1", "w2"]);
        sim.settle();
        let a0 = ("a".to_owned(), 0);
        let owner = sim.ownership()[&a0].clone();
        sim.owned.get_mut(&owner).unwrap().tasks.remove(&a0);
        let result = sim.round();
        assert!(result.values().all(|a| a.delay_ms == 0));
        assert!(sim.ownership().contains_key(&a0));
        sim.assert_balanced();
    }

    #[test]
    fn consecutive_revoking_rounds_back_off() {
        let mut sim = Sim::new(300_000, &[("a", 4), ("b", 4)], &["w1", "w2"]);
        sim.settle();
        sim.assert_balanced();
        let start = sim.now;

        sim.join("w3");
        let first = sim.round();
        assert!(first.values().any(|a| !a.revoked_tasks().is_empty()));
        assert!(first.values().all(|a| a.delay_ms == 0));

        // w4 joins before the follow-up round: the revoked items are placed, but the second
        // consecutive revocation is postponed by 40 ms.
        sim.join("w4");
        let second = sim.round();
        assert!(second.values().all(|a| a.revoked == Some(vec![])));
        assert!(second.values().all(|a| a.delay_ms == 40));

        sim.now = start + Duration::from_millis(10);
        let early = sim.round();
        assert!(early.values().all(|a| a.revoked == Some(vec![])));
        assert!(early.values().all(|a| a.delay_ms == 30));

        sim.now = start + Duration::from_millis(40);
        let third = sim.round();
        assert!(third.values().any(|a| !a.revoked_tasks().is_empty()));
        assert!(third.values().all(|a| a.delay_ms == 0));
        assert_eq!(sim.settle(), 1);
        sim.assert_balanced();
    }

    #[test]
    fn without_max_delay_consecutive_revocations_are_not_throttled() {
        let mut sim = Sim::new(0, &[("a", 4), ("b", 4)], &["w1", "w2"]);
        sim.settle();
        sim.join("w3");
        let first = sim.round();
        assert!(first.values().any(|a| !a.revoked_tasks().is_empty()));
        sim.join("w4");
        let second = sim.round();
        assert!(second.values().any(|a| !a.revoked_tasks().is_empty()));
        assert!(second.values().all(|a| a.delay_ms == 0));
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn revoking_backoff_grows_by_forty_and_is_capped() {
        assert_eq!(revoking_backoff_ms(1, 300_000), 40);
        assert_eq!(revoking_backoff_ms(2, 300_000), 1_600);
        assert_eq!(revoking_backoff_ms(3, 300_000), 64_000);
        assert_eq!(revoking_backoff_ms(4, 300_000), 300_000);
        assert_eq!(revoking_backoff_ms(u32::MAX, 300_000), 300_000);
        assert_eq!(revoking_backoff_ms(1, 10), 10);
        assert_eq!(revoking_backoff_ms(5, 0), 0);
    }

    #[test]
    fn eager_is_a_full_round_robin_v0_assignment() {
        let work = ConfiguredWork {
            config_offset: 7,
            connectors: [("b".to_owned(), 2), ("a".to_owned(), 3)]
                .into_iter()
                .collect(),
        };
        let members: Vec<MemberInfo> = ["m3", "m1", "m2"]
            .iter()
            .map(|id| MemberInfo {
                member_id: (*id).to_owned(),
                metadata: MemberMetadata::new(ConnectProtocol::Eager, url(id), 7, None),
            })
            .collect();
        let mut state = AssignorState {
            successive_revoking_rounds: 3,
            ..AssignorState::default()
        };
        let result = assign(
            "m2",
            LEADER_URL,
            7,
            ConnectProtocol::Eager,
            &members,
            &work,
            300_000,
            &mut state,
            Instant::now(),
        );
        // Rotation m1, m2, m3: connectors a, b; then tasks a0 a1 a2 b0 b1.
        let ca = |c: &str, tasks: &[i32]| ConnectorAssignment {
            connector: c.to_owned(),
            tasks: tasks.to_vec(),
        };
        let expected = [
            ("m1", vec![ca("a", &[-1, 1]), ca("b", &[1])]),
            ("m2", vec![ca("b", &[-1]), ca("a", &[2])]),
            ("m3", vec![ca("a", &[0]), ca("b", &[0])]),
        ];
        assert_eq!(result.len(), 3);
        for (id, assigned) in expected {
            let a = &result[id];
            assert_eq!(a.version, 0);
            assert_eq!(a.error, ERROR_NONE);
            assert_eq!(a.leader, "m2");
            assert_eq!(a.leader_url, LEADER_URL);
            assert_eq!(a.config_offset, 7);
            assert_eq!(a.assigned.as_ref(), Some(&assigned), "{id}");
            assert_eq!(a.revoked, None);
            assert_eq!(a.delay_ms, 0);
            // Encodes as a v0 assignment.
            assert_eq!(Assignment::decode(&a.encode().unwrap()).unwrap(), *a);
        }
        assert_eq!(
            state.successive_revoking_rounds, 0,
            "eager resets the state"
        );

        // Eager ignores current allocations: same answer the second time.
        let again = assign(
            "m2",
            LEADER_URL,
            7,
            ConnectProtocol::Eager,
            &members,
            &work,
            300_000,
            &mut state,
            Instant::now(),
        );
        assert_eq!(again, result);
    }

    #[test]
    fn versions_and_leader_fields_follow_the_protocol() {
        for protocol in [ConnectProtocol::Compatible, ConnectProtocol::Sessioned] {
            let mut sim = Sim::new(0, &[("a", 2)], &["w1", "w2"]);
            sim.protocol = protocol;
            // Sim::round checks version, leader, leader_url and config_offset of every reply.
            sim.settle();
            sim.assert_balanced();
            let result = sim.round();
            for a in result.values() {
                assert_eq!(a.version, protocol.version());
                assert_eq!(Assignment::decode(&a.encode().unwrap()).unwrap(), *a);
            }
        }
        let mut state = AssignorState::default();
        let none = assign(
            "x",
            "u",
            0,
            ConnectProtocol::Sessioned,
            &[],
            &ConfiguredWork::default(),
            0,
            &mut state,
            Instant::now(),
        );
        assert!(none.is_empty());
    }

    #[test]
    fn empty_cluster_config_assigns_nothing() {
        let mut sim = Sim::new(0, &[], &["w1", "w2"]);
        let result = sim.round();
        assert!(result
            .values()
            .all(|a| a.assigned == Some(vec![]) && a.revoked == Some(vec![])));
    }

    #[test]
    fn leader_failover_keeps_running_work_in_place() {
        let mut sim = three_by_ten();
        let before = sim.ownership();
        // A new leader (fresh state) with the same members: nothing moves.
        sim.state = AssignorState::new();
        let result = sim.round();
        assert!(result
            .values()
            .all(|a| a.assigned == Some(vec![]) && a.revoked == Some(vec![])));
        assert_eq!(sim.ownership(), before);
        sim.state.clear_previous_assignment();
        sim.round();
        assert_eq!(sim.ownership(), before);
    }

    #[test]
    fn randomized_membership_and_config_changes_stay_consistent() {
        random_walk(0x2545_F491_4F6C_DD1D, 0, 400);
        random_walk(0x9E37_79B9_7F4A_7C15, 0, 400);
    }

    #[test]
    fn randomized_changes_with_a_scheduled_delay_stay_consistent() {
        random_walk(0x2545_F491_4F6C_DD1D, 5_000, 300);
        random_walk(0xD1B5_4A32_D192_ED03, 300_000, 300);
    }

    /// Random joins, leaves, restarts and config changes; after each, the cluster is settled and
    /// must be balanced. Leaves never move survivors' work; joins move at most a fair share.
    fn random_walk(seed: u64, max_delay_ms: u64, steps: usize) {
        let mut rng = seed;
        let mut next = move |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound
        };
        let mut sim = Sim::new(
            max_delay_ms,
            &[("c0", 3), ("c1", 5)],
            &["w00", "w01", "w02"],
        );
        sim.settle();
        sim.assert_balanced();
        let mut serial = 3;
        let mut fresh_id = move || {
            serial += 1;
            format!("w{serial:03}")
        };
        let mut ops = [0usize; 7];
        for _ in 0..steps {
            let before = sim.ownership();
            let workers: Vec<String> = sim.owned.keys().cloned().collect();
            let pick = |r: u64| workers[r as usize].clone();
            let op = next(7) as usize;
            match op {
                0 if workers.len() < 7 => {
                    sim.join(&fresh_id());
                    sim.settle();
                    let n = sim.owned.len();
                    let connectors = sim.work.connectors.len();
                    let tasks: usize = sim.work.connectors.values().map(|&t| t as usize).sum();
                    let moved = moved(&before, &sim.ownership());
                    assert!(
                        moved <= connectors.div_ceil(n) + tasks.div_ceil(n),
                        "join moved {moved}"
                    );
                }
                1 if workers.len() > 1 => {
                    let gone = pick(next(workers.len() as u64));
                    sim.leave(&gone);
                    sim.settle();
                    let after = sim.ownership();
                    for (item, owner) in &before {
                        if *owner != gone {
                            assert_eq!(&after[item], owner, "{item:?} moved on leave");
                        }
                    }
                }
                2 => {
                    let name = format!("c{}", next(8));
                    sim.set_connector(&name, Some(next(9) as u32));
                    sim.settle();
                }
                3 if !sim.work.connectors.is_empty() => {
                    let names: Vec<String> = sim.work.connectors.keys().cloned().collect();
                    let name = names[next(names.len() as u64) as usize].clone();
                    sim.set_connector(&name, None);
                    sim.settle();
                }
                4 => {
                    // A worker restarts after the others noticed: leave, settle, come back.
                    sim.leave(&pick(next(workers.len() as u64)));
                    if !sim.owned.is_empty() {
                        sim.settle();
                    }
                    sim.join(&fresh_id());
                    sim.settle();
                }
                5 if workers.len() > 1 => {
                    // A worker bounces: it is back (under a new id) in the very next round.
                    sim.leave(&pick(next(workers.len() as u64)));
                    sim.round();
                    sim.join(&fresh_id());
                    sim.settle();
                }
                _ => {
                    sim.round();
                    sim.settle();
                }
            }
            ops[op] += 1;
            sim.assert_balanced();
        }
        assert!(ops.iter().all(|&n| n > 0), "{ops:?}");
    }
}
