//! The sink loop against a fake task and a fake consumer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tributary_connector_api::abi::{TaskRequest, TaskResponse};
use tributary_connector_api::{Props, SinkOffsets, SinkRecord, SinkTaskContext, Value};

use super::*;

fn t0() -> TopicPartition {
    tp("in", 0)
}

fn t1() -> TopicPartition {
    tp("in", 1)
}

fn offsets(pairs: &[(TopicPartition, i64)]) -> SinkOffsets {
    pairs.iter().cloned().collect()
}

fn text_of(r: &SinkRecord) -> String {
    match &r.value {
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// (partition, offset) of each record.
fn coords(batch: &[SinkRecord]) -> Vec<(i32, i64)> {
    batch
        .iter()
        .map(|r| (r.kafka_partition, r.kafka_offset))
        .collect()
}

fn texts(batch: &[SinkRecord]) -> Vec<String> {
    batch.iter().map(text_of).collect()
}

fn json_connector(tolerance: &str) -> Props {
    props(&[
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
        ("errors.tolerance", tolerance),
    ])
}

fn put_texts(h: &Harness) -> Vec<String> {
    h.journal.puts().iter().flatten().map(text_of).collect()
}

/// A sink task whose `put` answers with `put`; every other request gets the default answer.
fn sink_task(
    h: &Harness,
    mut put: impl FnMut(&[SinkRecord]) -> Result<TaskResponse, CallError> + Send + 'static,
) -> FakeTask {
    FakeTask::new(&h.journal, move |r| match r {
        TaskRequest::Put(batch) => {
            let records = put_records(batch);
            // The puts after an idle poll carry nothing; the tests' tasks act on the others.
            if records.is_empty() {
                return Ok(TaskResponse::Done);
            }
            put(&records)
        }
        other => Ok(default_response(other)),
    })
}

fn busy(timeout_ms: i64) -> CallError {
    retriable(
        "busy",
        Some(SinkTaskContext {
            timeout_ms: Some(timeout_ms),
            ..SinkTaskContext::default()
        }),
    )
}

fn request_index(h: &Harness, pred: impl Fn(&Event) -> bool) -> Option<usize> {
    h.journal.events().iter().position(pred)
}

#[test]
fn records_are_put_in_order_and_committed_after_the_put() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b", "c", "d", "e"]);
    let run = h.spawn_sink(Props::new(), FakeTask::plain(&h.journal), consumer.clone());
    wait_until("all five are committed", || {
        consumer.committed_at(&t0()) == Some(5)
    });
    assert_eq!(put_texts(&h), ["a", "b", "c", "d", "e"]);
    let put: Vec<(i32, i64)> = h.journal.puts().iter().flat_map(|b| coords(b)).collect();
    assert_eq!(put, [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)]);
    let first = &h.journal.puts()[0][0];
    assert_eq!(first.topic, "in");
    assert_eq!(first.timestamp, Some(1_700_000_000_000));
    assert_eq!(first.headers.len(), 1, "headers are converted too");

    // No commit ever runs ahead of what was put.
    let mut put_up_to = 0;
    for event in h.journal.events() {
        match event {
            Event::Task(TaskRequest::Put(batch)) => {
                let batch = put_records(&batch);
                put_up_to = batch.last().map_or(put_up_to, |r| r.kafka_offset + 1);
            }
            Event::Commit(o) => assert!(o[&t0()] <= put_up_to, "{o:?} before the put"),
            _ => {}
        }
    }
    assert_eq!(
        h.journal.requests()[..2],
        [
            TaskRequest::StartSink {
                props: props(&[("task.id", "0")])
            },
            TaskRequest::Open(vec![t0()])
        ]
    );
    run.stop().unwrap();
    let requests = h.journal.requests();
    assert_eq!(
        &requests[requests.len() - 2..],
        [TaskRequest::Close(vec![t0()]), TaskRequest::Stop]
    );
}

#[test]
fn an_abandoned_sink_task_commits_nothing() {
    // No periodic commit: only the shutdown would commit.
    let h = Harness::new(60_000);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let run = h.spawn_sink(Props::new(), FakeTask::plain(&h.journal), consumer.clone());
    wait_until("both are put", || put_texts(&h).len() == 2);
    h.wait_for_state(State::Running);
    h.control.cancel();
    run.join().unwrap();
    assert_eq!(consumer.committed_at(&t0()), None, "no offsets committed");
}

#[test]
fn what_pre_commit_answers_is_what_gets_committed() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b", "c", "d", "e"]);
    let task = FakeTask::new(&h.journal, |r| match r {
        // Only the first two records are durable.
        TaskRequest::PreCommit(_) => Ok(TaskResponse::Committable(offsets(&[(t0(), 2)]))),
        other => Ok(default_response(other)),
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    let offered = TaskRequest::PreCommit(offsets(&[(t0(), 5)]));
    wait_until("a commit follows preCommit of all five", || {
        let events = h.journal.events();
        events
            .iter()
            .position(|e| *e == Event::Task(offered.clone()))
            .is_some_and(|i| events[i..].iter().any(|e| matches!(e, Event::Commit(_))))
    });
    run.stop().unwrap();
    let commits = h.journal.commits();
    assert!(!commits.is_empty());
    assert!(
        commits.iter().all(|c| *c == offsets(&[(t0(), 2)])),
        "{commits:?}"
    );
    assert_eq!(consumer.committed_at(&t0()), Some(2));
}

#[test]
fn pre_commit_offsets_of_unassigned_partitions_or_past_the_consumed_are_ignored() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0(), t1()]);
    consumer.push_all(&t0(), &["a", "b", "c"]);
    consumer.push_all(&t1(), &["x", "y"]);
    let stranger = TopicPartition::new("elsewhere", 0);
    let stranger_in_task = stranger.clone();
    let task = FakeTask::new(&h.journal, move |r| match r {
        // t0 as consumed; t1 beyond what was consumed; a partition never assigned.
        TaskRequest::PreCommit(_) => Ok(TaskResponse::Committable(offsets(&[
            (t0(), 3),
            (t1(), 9),
            (stranger_in_task.clone(), 1),
        ]))),
        other => Ok(default_response(other)),
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("a commit", || !h.journal.commits().is_empty());
    run.stop().unwrap();
    let commits = h.journal.commits();
    assert!(
        commits.iter().all(|c| *c == offsets(&[(t0(), 3)])),
        "{commits:?}"
    );
    assert_eq!(consumer.committed_at(&t1()), None);
    assert_eq!(consumer.committed_at(&stranger), None);
}

#[test]
fn nothing_is_committed_when_pre_commit_answers_nothing() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let task = FakeTask::new(&h.journal, |r| match r {
        TaskRequest::PreCommit(_) => Ok(TaskResponse::Committable(SinkOffsets::new())),
        other => Ok(default_response(other)),
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    let offered = TaskRequest::PreCommit(offsets(&[(t0(), 2)]));
    wait_until("two commit cycles", || {
        h.journal.count(|r| *r == offered) >= 2
    });
    run.stop().unwrap();
    assert!(h.journal.commits().is_empty());
    assert_eq!(consumer.committed_at(&t0()), None);
}

#[test]
fn a_retriable_put_error_redelivers_the_batch_after_the_tasks_timeout() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b", "c"]);
    let mut failures = 1;
    let task = sink_task(&h, move |_| {
        if failures > 0 {
            failures -= 1;
            // Longer than the loop's own first backoff (100 ms).
            return Err(busy(250));
        }
        Ok(TaskResponse::Done)
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("the batch is committed", || {
        consumer.committed_at(&t0()) == Some(3)
    });
    run.stop().unwrap();

    let puts = h.journal.puts();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0], puts[1], "the same batch again");
    assert_eq!(coords(&puts[0]), [(0, 0), (0, 1), (0, 2)]);
    let put_times: Vec<Instant> = h
        .journal
        .timed()
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::Task(TaskRequest::Put(_))))
        .map(|(t, _)| t)
        .collect();
    let gap = put_times[1] - put_times[0];
    assert!(
        gap >= Duration::from_millis(250),
        "redelivered after {gap:?}"
    );

    // Between the attempts the consumer is paused, and nothing is committed.
    let events = h.journal.events();
    let is_put = |e: &Event| matches!(e, Event::Task(TaskRequest::Put(_)));
    let first = events.iter().position(is_put).unwrap();
    let second = first + 1 + events[first + 1..].iter().position(is_put).unwrap();
    let between = &events[first..second];
    assert!(between.contains(&Event::Pause(vec![t0()])), "{between:?}");
    assert!(between.contains(&Event::Resume(vec![t0()])), "{between:?}");
    assert!(
        !between
            .iter()
            .any(|e| matches!(e, Event::Commit(o) if o.get(&t0()) == Some(&3))),
        "{between:?}"
    );
}

#[test]
fn repeated_retriable_put_errors_redeliver_until_the_put_succeeds() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let mut failures = 3;
    let task = sink_task(&h, move |_| {
        if failures > 0 {
            failures -= 1;
            return Err(busy(1));
        }
        Ok(TaskResponse::Done)
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("the batch is committed", || {
        consumer.committed_at(&t0()) == Some(2)
    });
    run.stop().unwrap();
    let puts = h.journal.puts();
    assert_eq!(puts.len(), 4);
    assert!(puts.iter().all(|b| texts(b) == ["a", "b"]));
    assert_eq!(h.state(), Some(State::Running));
}

#[test]
fn a_fatal_put_error_fails_the_task_with_its_trace() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a"]);
    let task = sink_task(&h, |_| Err(fatal("disk full")));
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("unrecoverable exception during put: disk full"),
        "{trace}"
    );
    let status = h.task_status().unwrap();
    assert_eq!(status.state, State::Failed);
    assert_eq!(status.trace.as_deref(), Some(&*trace));
    assert!(h.journal.commits().is_empty());
    assert_eq!(h.journal.requests().last(), Some(&TaskRequest::Stop));
}

#[test]
fn a_revoke_commits_the_revoked_partitions_before_close_and_drops_their_records() {
    // No periodic commits: only the rebalance and the shutdown commit.
    let h = Harness::new(60_000);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0(), t1()]);
    consumer.push_all(&t1(), &["x0", "x1"]);
    let fail = Arc::new(AtomicBool::new(false));
    let (feeder, failing) = (consumer.clone(), fail.clone());
    let task = sink_task(&h, move |_| {
        if failing.load(Ordering::SeqCst) {
            return Err(busy(5));
        }
        if !failing.swap(true, Ordering::SeqCst) {
            // While the first batch is being written, more arrives, and the next put fails.
            feeder.push_all(&t0(), &["a0", "a1"]);
            feeder.push_all(&t1(), &["x2"]);
        }
        Ok(TaskResponse::Done)
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("the second batch failed twice", || {
        h.journal.puts().len() >= 3
    });
    let puts = h.journal.puts();
    assert_eq!(texts(&puts[0]), ["x0", "x1"]);
    assert_eq!(coords(&puts[1]), [(0, 0), (0, 1), (1, 2)]);

    consumer.revoke(&[t1()]);
    wait_until("the task closes the revoked partition", || {
        h.journal.count(|r| *r == TaskRequest::Close(vec![t1()])) == 1
    });
    fail.store(false, Ordering::SeqCst);
    wait_until("the rest of the batch is put", || {
        h.journal.puts().last().map(|b| texts(b)) == Some(vec!["a0".into(), "a1".into()])
    });
    run.stop().unwrap();

    let events = h.journal.events();
    let commit = events
        .iter()
        .position(|e| *e == Event::Commit(offsets(&[(t1(), 2)])))
        .expect("the revoked partition is committed up to what was put");
    let close = request_index(&h, |e| *e == Event::Task(TaskRequest::Close(vec![t1()]))).unwrap();
    assert!(commit < close, "committed before close");
    assert!(
        h.journal
            .commits()
            .iter()
            .all(|c| c.get(&t1()).is_none_or(|o| *o <= 2)),
        "x2 was never put: {:?}",
        h.journal.commits()
    );
    let after_close: Vec<Vec<SinkRecord>> = events[close..]
        .iter()
        .filter_map(|e| match e {
            Event::Task(TaskRequest::Put(b)) => Some(put_records(b)),
            _ => None,
        })
        .collect();
    assert!(
        after_close.iter().flatten().all(|r| r.kafka_partition == 0),
        "the revoked partition's buffered record is dropped"
    );
    assert_eq!(consumer.committed(), offsets(&[(t0(), 2), (t1(), 2)]));
    assert_eq!(
        h.journal.commits().last(),
        Some(&offsets(&[(t0(), 2)])),
        "the final commit is of the partitions still owned"
    );
}

#[test]
fn records_of_a_partition_revoked_during_a_retry_are_not_delivered_twice() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let fail = Arc::new(AtomicBool::new(true));
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let (failing, written) = (fail.clone(), delivered.clone());
    let task = sink_task(&h, move |batch| {
        if failing.load(Ordering::SeqCst) {
            return Err(busy(5));
        }
        lock(&written).extend(texts(batch));
        Ok(TaskResponse::Done)
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("the batch failed", || !h.journal.puts().is_empty());
    // An eager rebalance: everything revoked, then the same partition assigned again.
    consumer.revoke(&[t0()]);
    consumer.assign(&[t0()]);
    wait_until("the partition is opened again", || {
        h.journal.count(|r| *r == TaskRequest::Open(vec![t0()])) == 2
    });
    fail.store(false, Ordering::SeqCst);
    wait_until("both records are committed", || {
        consumer.committed_at(&t0()) == Some(2)
    });
    // Give a second delivery the chance to happen: another commit cycle after this one.
    let cycles = h.journal.count(|r| matches!(r, TaskRequest::PreCommit(_)));
    consumer.push_all(&t0(), &["c"]);
    wait_until("c is committed", || consumer.committed_at(&t0()) == Some(3));
    run.stop().unwrap();
    assert!(h.journal.count(|r| matches!(r, TaskRequest::PreCommit(_))) > cycles);
    assert_eq!(*lock(&delivered), ["a", "b", "c"]);
}

#[test]
fn an_assignment_opens_the_partitions() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a"]);
    let run = h.spawn_sink(Props::new(), FakeTask::plain(&h.journal), consumer.clone());
    wait_until("a is put", || put_texts(&h) == ["a"]);
    consumer.push_all(&t1(), &["b"]);
    consumer.assign(&[t1()]);
    wait_until("b is committed", || consumer.committed_at(&t1()) == Some(1));
    run.stop().unwrap();

    let requests = h.journal.requests();
    let at = |want: &TaskRequest| requests.iter().position(|r| r == want).unwrap();
    let put_b = requests
        .iter()
        .position(|r| matches!(r, TaskRequest::Put(b) if texts(&put_records(b)) == ["b"]))
        .unwrap();
    assert!(at(&TaskRequest::Open(vec![t0()])) < at(&TaskRequest::Open(vec![t1()])));
    assert!(
        at(&TaskRequest::Open(vec![t1()])) < put_b,
        "opened before delivery"
    );
    assert!(requests.contains(&TaskRequest::Close(vec![t0(), t1()])));
    assert_eq!(consumer.committed(), offsets(&[(t0(), 1), (t1(), 1)]));
}

#[test]
fn a_rewind_from_put_seeks_the_consumer_and_redelivers() {
    let h = Harness::new(60_000);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b", "c"]);
    let mut first = true;
    let task = sink_task(&h, move |_| {
        if std::mem::take(&mut first) {
            // b and c were not written: read them again.
            let mut context = SinkTaskContext::default();
            context.reset_offset(t0(), 1);
            return Ok(TaskResponse::SinkContext(context));
        }
        Ok(TaskResponse::Done)
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("the rewound records are put again", || {
        h.journal.puts().len() == 2
    });
    run.stop().unwrap();
    assert!(h.journal.events().contains(&Event::Seek(t0(), 1)));
    let puts = h.journal.puts();
    assert_eq!(texts(&puts[0]), ["a", "b", "c"]);
    assert_eq!(texts(&puts[1]), ["b", "c"]);
    assert_eq!(consumer.committed_at(&t0()), Some(3));
}

/// The task keeps its own offsets and, when a partition is opened, asks to start at 2.
fn resumes_at_two(h: &Harness) -> FakeTask {
    FakeTask::new(&h.journal, |r| match r {
        TaskRequest::Open(_) => {
            let mut context = SinkTaskContext::default();
            context.reset_offset(t0(), 2);
            Ok(TaskResponse::SinkContext(context))
        }
        other => Ok(default_response(other)),
    })
}

#[test]
fn a_rewind_from_open_that_cannot_seek_yet_holds_the_records_back() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b", "c", "d"]);
    consumer.fail_seeks(1);
    let run = h.spawn_sink(Props::new(), resumes_at_two(&h), consumer.clone());
    wait_until("c and d are committed", || {
        consumer.committed_at(&t0()) == Some(4)
    });
    run.stop().unwrap();
    assert_eq!(put_texts(&h), ["c", "d"]);
    assert!(h.journal.events().contains(&Event::Seek(t0(), 2)));
}

#[test]
fn a_rewind_from_open_skips_the_records_before_it() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b", "c", "d"]);
    let run = h.spawn_sink(Props::new(), resumes_at_two(&h), consumer.clone());
    wait_until("c and d are committed", || {
        consumer.committed_at(&t0()) == Some(4)
    });
    run.stop().unwrap();
    assert!(h.journal.events().contains(&Event::Seek(t0(), 2)));
    assert_eq!(put_texts(&h), ["c", "d"]);
}

#[test]
fn a_rewind_from_put_delivers_from_the_rewound_offset_next() {
    let h = Harness::new(60_000);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let feeder = consumer.clone();
    let mut first = true;
    let task = sink_task(&h, move |_| {
        if std::mem::take(&mut first) {
            // While b fails to be written, c and d arrive.
            feeder.push_all(&t0(), &["c", "d"]);
            let mut context = SinkTaskContext::default();
            context.reset_offset(t0(), 1);
            return Ok(TaskResponse::SinkContext(context));
        }
        Ok(TaskResponse::Done)
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("d is put", || {
        put_texts(&h).last().map(String::as_str) == Some("d")
    });
    run.stop().unwrap();
    let puts = h.journal.puts();
    assert_eq!(texts(&puts[0]), ["a", "b"]);
    assert_eq!(texts(&puts[1]), ["b", "c", "d"], "from the rewound offset");
}

#[test]
fn pause_pauses_every_assigned_partition_and_new_ones() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0(), t1()]);
    let run = h.spawn_sink(Props::new(), FakeTask::plain(&h.journal), consumer.clone());
    h.wait_for_state(State::Running);
    h.control.set_paused(true);
    h.wait_for_state(State::Paused);
    wait_until("both partitions are paused", || {
        consumer.paused() == [t0(), t1()].into_iter().collect()
    });

    let t2 = tp("in", 2);
    consumer.push_all(&t2, &["z"]);
    consumer.assign(std::slice::from_ref(&t2));
    wait_until("the new partition is opened", || {
        h.journal
            .count(|r| *r == TaskRequest::Open(vec![t2.clone()]))
            == 1
    });
    assert!(consumer.paused().contains(&t2), "paused as it was assigned");
    assert!(h.journal.puts().is_empty());

    h.control.set_paused(false);
    h.wait_for_state(State::Running);
    wait_until("z is put", || put_texts(&h) == ["z"]);
    assert!(consumer.paused().is_empty());
    run.stop().unwrap();
}

#[test]
fn pause_during_a_put_retry_reports_paused() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a"]);
    let task = sink_task(&h, |_| Err(busy(5)));
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("the put failed", || !h.journal.puts().is_empty());
    h.control.set_paused(true);
    h.wait_for_state(State::Paused);
    run.stop().unwrap();
}

#[test]
fn a_record_that_fails_conversion_is_skipped_with_tolerance_all() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["\"a\"", "{bad", "\"c\""]);
    let run = h.spawn_sink(
        json_connector("all"),
        FakeTask::plain(&h.journal),
        consumer.clone(),
    );
    wait_until("all three are committed", || {
        consumer.committed_at(&t0()) == Some(3)
    });
    assert_eq!(put_texts(&h), ["a", "c"]);
    assert_eq!(coords(&h.journal.puts().concat()), [(0, 0), (0, 2)]);

    // A poll of only bad records still advances.
    consumer.push_all(&t0(), &["{worse"]);
    wait_until("the bad record is committed", || {
        consumer.committed_at(&t0()) == Some(4)
    });
    assert_eq!(h.journal.puts().len(), 1, "nothing to put");
    run.stop().unwrap();
}

#[test]
fn a_record_that_fails_conversion_fails_the_task_with_tolerance_none() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["\"a\"", "{bad"]);
    let run = h.spawn_sink(
        json_connector("none"),
        FakeTask::plain(&h.journal),
        consumer.clone(),
    );
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("Tolerance exceeded in error handler")
            && trace.contains(
                "Stage VALUE_CONVERTER (class org.apache.kafka.connect.json.JsonConverter)"
            ),
        "{trace}"
    );
    let status = h.task_status().unwrap();
    assert_eq!(status.state, State::Failed);
    assert_eq!(status.trace.as_deref(), Some(&*trace));
    assert!(h.journal.puts().is_empty(), "the batch with it is not put");
    assert!(h.journal.commits().is_empty());
    assert_eq!(h.journal.requests().last(), Some(&TaskRequest::Stop));
}

#[test]
fn a_stop_while_retrying_commits_nothing_past_the_records_put() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let feeder = consumer.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let task = sink_task(&h, move |_| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            feeder.push_all(&t0(), &["c", "d"]);
            return Ok(TaskResponse::Done);
        }
        Err(busy(5))
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("c and d failed a few times", || {
        calls.load(Ordering::SeqCst) >= 4
    });
    assert_eq!(texts(&h.journal.puts()[1]), ["c", "d"]);
    run.stop().unwrap();
    let commits = h.journal.commits();
    assert!(
        commits.iter().all(|c| c[&t0()] <= 2),
        "c and d were never put: {commits:?}"
    );
    assert_eq!(consumer.committed_at(&t0()), Some(2));
    let requests = h.journal.requests();
    assert_eq!(
        &requests[requests.len() - 2..],
        [TaskRequest::Close(vec![t0()]), TaskRequest::Stop]
    );
}

#[test]
fn a_commit_requested_by_the_task_happens_at_once() {
    let h = Harness::new(60_000);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a"]);
    let task = sink_task(&h, |_| {
        let mut context = SinkTaskContext::default();
        context.request_commit();
        Ok(TaskResponse::SinkContext(context))
    });
    let run = h.spawn_sink(Props::new(), task, consumer.clone());
    wait_until("a is committed", || consumer.committed_at(&t0()) == Some(1));
    run.stop().unwrap();
}

#[test]
fn topics_are_recorded_once_converted_before_transformations() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    let (dropped, bad, ok) = (tp("dropped", 0), tp("bad", 0), tp("ok", 0));
    consumer.assign(&[dropped.clone(), bad.clone(), ok.clone()]);
    consumer.push_all(&bad, &["not json"]);
    consumer.push_all(&dropped, &[r#"{"v":1}"#]);
    consumer.push_all(&ok, &[r#"{"v":2}"#, r#"{"v":3}"#]);
    let mut connector = json_connector("all");
    connector.extend(props(&[
        ("transforms", "drop,route"),
        (
            "transforms.drop.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.drop.predicate", "isDropped"),
        ("predicates", "isDropped"),
        (
            "predicates.isDropped.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.isDropped.pattern", "dropped"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "ok"),
        ("transforms.route.replacement", "renamed"),
    ]));
    let run = h.spawn_sink(connector, FakeTask::plain(&h.journal), consumer.clone());
    wait_until("every partition is committed", || {
        consumer.committed_at(&ok) == Some(2)
            && consumer.committed_at(&dropped) == Some(1)
            && consumer.committed_at(&bad) == Some(1)
    });
    let put: Vec<String> = h
        .journal
        .puts()
        .iter()
        .flatten()
        .map(|r| r.topic.clone())
        .collect();
    assert_eq!(put, ["renamed", "renamed"]);
    // The consumed topic, filtered records too; not a record that failed conversion.
    assert_eq!(h.status.active_topics(CONNECTOR), ["dropped", "ok"]);

    // Reset: the running task records the topics it uses again.
    h.status.reset_topics(CONNECTOR);
    assert!(h.status.active_topics(CONNECTOR).is_empty());
    consumer.push_all(&ok, &[r#"{"v":4}"#]);
    wait_until("ok is recorded again", || {
        h.status.active_topics(CONNECTOR) == ["ok"]
    });
    run.stop().unwrap();
}

#[test]
fn no_topics_are_recorded_with_tracking_disabled() {
    let mut h = Harness::new(10);
    Arc::get_mut(&mut h.ctx)
        .expect("not shared yet")
        .track_topics = false;
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a", "b"]);
    let run = h.spawn_sink(Props::new(), FakeTask::plain(&h.journal), consumer.clone());
    wait_until("both are committed", || {
        consumer.committed_at(&t0()) == Some(2)
    });
    assert!(h.status.active_topics(CONNECTOR).is_empty());
    run.stop().unwrap();
}

#[test]
fn put_is_called_with_nothing_after_an_idle_poll_as_java_does() {
    let h = Harness::new(10);
    let consumer = FakeConsumer::new(&h.journal);
    consumer.assign(&[t0()]);
    consumer.push_all(&t0(), &["a"]);
    let run = h.spawn_sink(Props::new(), FakeTask::plain(&h.journal), consumer.clone());
    wait_until("an empty put after the record's", || {
        let all = h.journal.all_puts();
        all.len() >= 2 && all[0].len() == 1 && all.last().is_some_and(Vec::is_empty)
    });
    run.stop().unwrap();
    assert_eq!(h.journal.puts().len(), 1, "one put with records");
}
