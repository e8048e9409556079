//! The source loop against a fake task and a fake producer.

use tributary_connector_api::abi::TaskRequest;
use tributary_connector_api::{Props, RecordMetadata, SourceRecord, Value};

use super::*;

fn text(file: &str, pos: i64, value: &str) -> SourceRecord {
    source_record(file, pos, Value::String(value.to_owned()))
}

fn interval(h: &Harness) -> Duration {
    h.ctx.flush_interval
}

/// The `commit_record` calls the task received, flattened in order.
fn committed_records(h: &Harness) -> Vec<(u64, Option<RecordMetadata>)> {
    h.journal
        .requests()
        .into_iter()
        .filter_map(|r| match r {
            TaskRequest::CommitRecords(acked) => Some(acked),
            _ => None,
        })
        .flatten()
        .collect()
}

fn polls(h: &Harness) -> usize {
    h.journal.count(|r| matches!(r, TaskRequest::Poll))
}

#[test]
fn offsets_are_committed_only_for_acked_records_in_order() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![
        text("b", 1, "b1"),
        text("a", 1, "a1"),
        text("a", 2, "a2"),
        text("a", 3, "a3"),
    ]]);
    let producer = FakeProducer::manual(100);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the four records are sent", || producer.sent().len() == 4);
    assert_eq!(producer.sent_texts(), ["b1", "a1", "a2", "a3"]);
    assert_eq!(producer.in_flight(), [0, 1, 2, 3]);
    assert_eq!(h.offsets.position_of("b"), None, "nothing acked yet");

    producer.ack(0);
    wait_until("b1's offset is committed", || {
        h.offsets.position_of("b") == Some(1)
    });

    // a3 acked before a1 and a2: its offset must wait for them.
    producer.ack(3);
    producer.settle(interval(&h));
    assert_eq!(h.offsets.position_of("a"), None, "a1 and a2 are unacked");

    producer.ack(1);
    wait_until("a1's offset is committed", || {
        h.offsets.position_of("a") == Some(1)
    });
    producer.settle(interval(&h));
    assert_eq!(h.offsets.position_of("a"), Some(1), "a2 is still unacked");

    producer.ack(2);
    wait_until("a3's offset is committed", || {
        h.offsets.position_of("a") == Some(3)
    });
    assert_eq!(
        h.offsets.history_of("a"),
        [1, 3],
        "never past an unacked record"
    );
    // The commit hook follows each offset write (after any poll in progress).
    wait_until("the task hears of each commit", || {
        h.journal.count(|r| matches!(r, TaskRequest::Commit(_))) >= 3
    });
    run.stop().unwrap();
}

#[test]
fn a_full_queue_waits_for_deliveries_and_loses_nothing() {
    let h = Harness::new(10);
    let values: Vec<String> = (1..=6).map(|i| format!("v{i}")).collect();
    let batch = values
        .iter()
        .enumerate()
        .map(|(i, v)| text("a", i as i64 + 1, v))
        .collect();
    let feed = SourceFeed::new(vec![batch]);
    let producer = FakeProducer::manual(2);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the queue is full", || producer.queue_full_count() >= 2);
    assert_eq!(producer.sent_texts(), ["v1", "v2"], "the rest waits");

    wait_until("every record is sent", || {
        producer.ack_all();
        producer.sent().len() == values.len()
    });
    producer.ack_all();
    wait_until("the last offset is committed", || {
        h.offsets.position_of("a") == Some(6)
    });
    assert_eq!(producer.sent_texts(), values, "in order, each once");
    let seqs: Vec<u64> = producer.sent().iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
    let history = h.offsets.history_of("a");
    assert!(
        history.windows(2).all(|w| w[0] < w[1]),
        "offsets only move forward: {history:?}"
    );
    run.stop().unwrap();
}

#[test]
fn a_refused_record_is_skipped_with_tolerance_all_and_its_offset_committed() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![
        text("a", 1, "v1"),
        text("a", 2, "bad"),
        text("a", 3, "v3"),
    ]]);
    feed.wants_commit_record(0);
    let producer = FakeProducer::auto();
    producer.refuse(|s| (s.text() == "bad").then(|| "Message size too large".to_owned()));
    let run = h.spawn_source(
        props(&[("errors.tolerance", "all")]),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the last offset is committed", || {
        h.offsets.position_of("a") == Some(3)
    });
    assert_eq!(producer.sent_texts(), ["v1", "v3"]);
    // The refused record is reported at once, the others when their acks are taken (as in
    // Kafka, where commitRecord follows the producer's callbacks): compare in seq order.
    let mut acked: Vec<(u64, bool)> = committed_records(&h)
        .into_iter()
        .map(|(seq, m)| (seq, m.is_some()))
        .collect();
    acked.sort();
    assert_eq!(
        acked,
        [(0, true), (1, false), (2, true)],
        "the skipped record is reported without metadata"
    );
    run.stop().unwrap();
    assert_eq!(h.state(), Some(State::Running));
}

#[test]
fn a_refused_record_fails_the_task_with_tolerance_none() {
    // The failed record never becomes committable, so the shutdown waits out the flush
    // timeout (as Kafka's does): keep it short.
    let h = Harness::with_flush(10, 100);
    let feed = SourceFeed::new(vec![vec![
        text("a", 1, "v1"),
        text("a", 2, "bad"),
        text("a", 3, "v3"),
    ]]);
    let producer = FakeProducer::auto();
    producer.refuse(|s| (s.text() == "bad").then(|| "Message size too large".to_owned()));
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    assert!(
        trace.contains("Stage KAFKA_PRODUCE")
            && trace.contains("Failed to send record to Kafka: Message size too large"),
        "{trace}"
    );
    let status = h.task_status().unwrap();
    assert_eq!(status.state, State::Failed);
    assert_eq!(status.trace.as_deref(), Some(trace.as_str()));
    assert_eq!(producer.sent_texts(), ["v1"], "nothing after the failure");
    assert_eq!(
        h.offsets.position_of("a"),
        Some(1),
        "the acked record before the failure is committed, the refused one is not"
    );
    assert_eq!(h.journal.requests().last(), Some(&TaskRequest::Stop));
}

#[test]
fn a_failed_delivery_fails_the_task_with_tolerance_none() {
    // The failed record never becomes committable, so the shutdown waits out the flush
    // timeout (as Kafka's does): keep it short.
    let h = Harness::with_flush(10, 100);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "v1"), text("a", 2, "v2")]]);
    let producer = FakeProducer::manual(10);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("both records are sent", || producer.sent().len() == 2);
    producer.ack(0);
    producer.fail(1, "Broker: Not enough in-sync replicas");
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("Failed to produce record: Broker: Not enough in-sync replicas"),
        "{trace}"
    );
    assert_eq!(h.state(), Some(State::Failed));
    assert_eq!(h.offsets.position_of("a"), Some(1));
}

#[test]
fn a_failed_delivery_is_skipped_with_tolerance_all() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "v1"), text("a", 2, "v2")]]);
    let producer = FakeProducer::manual(10);
    let run = h.spawn_source(
        props(&[("errors.tolerance", "all")]),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("both records are sent", || producer.sent().len() == 2);
    producer.fail(0, "Broker: Not enough in-sync replicas");
    producer.ack(1);
    wait_until("the last offset is committed", || {
        h.offsets.position_of("a") == Some(2)
    });
    run.stop().unwrap();
}

#[test]
fn commit_record_gets_the_plugin_seqs_of_acked_records() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![
        text("a", 1, "v1"),
        text("a", 2, "v2"),
        text("a", 3, "v3"),
    ]]);
    feed.wants_commit_record(100);
    let producer = FakeProducer::manual(10);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the records are sent", || producer.sent().len() == 3);
    producer.ack(1);
    wait_until("the task hears of v2", || committed_records(&h).len() == 1);
    assert_eq!(committed_records(&h)[0].0, 101);
    producer.ack(0);
    producer.ack(2);
    wait_until("the task hears of all three", || {
        committed_records(&h).len() == 3
    });
    let acked = committed_records(&h);
    let seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [101, 100, 102], "in the order the broker acked them");
    for (i, (_, metadata)) in acked.iter().enumerate() {
        let m = metadata.as_ref().expect("acked records have metadata");
        assert_eq!(m.topic, "out");
        assert_eq!(m.offset, i as i64, "as the fake broker numbered them");
    }
    wait_until("the offsets are committed", || {
        h.offsets.position_of("a") == Some(3)
    });
    run.stop().unwrap();
}

#[test]
fn pause_stops_polling_and_reports_paused_then_running() {
    let h = Harness::new(10);
    let feed = SourceFeed::default();
    let producer = FakeProducer::auto();
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    h.wait_for_state(State::Running);
    h.control.set_paused(true);
    h.wait_for_state(State::Paused);
    let polled = polls(&h);
    feed.push(vec![text("a", 1, "late")]);
    let cycles = producer.take_calls();
    wait_until("the paused loop cycles a few times", || {
        h.control.set_paused(true); // wakes the loop
        producer.take_calls() >= cycles + 3
    });
    assert_eq!(polls(&h), polled, "no poll while paused");
    assert_eq!(feed.pending(), 1);
    assert!(producer.sent().is_empty());

    h.control.set_paused(false);
    h.wait_for_state(State::Running);
    wait_until("the record is sent and committed", || {
        h.offsets.position_of("a") == Some(1)
    });
    assert_eq!(producer.sent_texts(), ["late"]);
    run.stop().unwrap();
}

#[test]
fn a_retriable_poll_error_is_retried() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "v1")]]);
    feed.fail_polls(2);
    let producer = FakeProducer::auto();
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the record is committed", || {
        h.offsets.position_of("a") == Some(1)
    });
    assert!(polls(&h) >= 3, "two failed polls, then the batch");
    assert_eq!(producer.sent_texts(), ["v1"]);
    assert_eq!(h.state(), Some(State::Running));
    run.stop().unwrap();
}

#[test]
fn a_fatal_poll_error_fails_the_task() {
    let h = Harness::new(10);
    let task = FakeTask::plain(&h.journal).polling(|| Err(fatal("file vanished")));
    let run = h.spawn_source(Props::new(), task, FakeProducer::auto());
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("unrecoverable exception during poll: file vanished"),
        "{trace}"
    );
    assert_eq!(h.task_status().unwrap().trace.as_deref(), Some(&*trace));
    assert_eq!(h.journal.requests().last(), Some(&TaskRequest::Stop));
}

#[test]
fn start_gets_the_committed_offsets() {
    let h = Harness::new(10);
    h.offsets.preload("a", 41);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &SourceFeed::default()),
        FakeProducer::auto(),
    );
    h.wait_for_state(State::Running);
    let TaskRequest::StartSource { offsets, .. } = &h.journal.requests()[0] else {
        panic!("the first request starts the task");
    };
    assert_eq!(offsets, &[((*source_partition("a")).clone(), position(41))]);
    run.stop().unwrap();
}

#[test]
fn offsets_that_cannot_be_read_are_read_again_then_fail_the_task() {
    // Two failed reads, then the store answers: the task starts with the committed offsets.
    let h = Harness::new(10);
    h.offsets.preload("a", 41);
    h.offsets.fail_reads(2);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &SourceFeed::default()),
        FakeProducer::auto(),
    );
    h.wait_for_state(State::Running);
    assert_eq!(h.offsets.reads(), 3);
    let TaskRequest::StartSource { offsets, .. } = &h.journal.requests()[0] else {
        panic!("the first request starts the task");
    };
    assert_eq!(offsets, &[((*source_partition("a")).clone(), position(41))]);
    run.stop().unwrap();

    // The store never answers: the task fails with a trace, and the plugin task is never
    // started from offsets that may be stale.
    let h = Harness::new(10);
    h.offsets.preload("a", 41);
    h.offsets.fail_reads(u32::MAX);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &SourceFeed::default()),
        FakeProducer::auto(),
    );
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("Failed to read the committed source offsets")
            && trace.contains("cannot read to the end"),
        "{trace}"
    );
    assert_eq!(
        h.offsets.reads(),
        crate::runtime::source::OFFSET_READ_ATTEMPTS
    );
    assert!(
        !h.journal
            .requests()
            .iter()
            .any(|r| matches!(r, TaskRequest::StartSource { .. })),
        "the plugin task was not started"
    );
    assert_eq!(h.task_status().unwrap().state, State::Failed);
}

#[test]
fn an_abandoned_source_task_commits_nothing() {
    // No periodic commit: only the shutdown would commit.
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "v1")]]);
    let producer = FakeProducer::auto();
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the record is sent", || producer.sent().len() == 1);
    h.wait_for_state(State::Running);
    // The herder gave up waiting for the stop: the thread finishes on its own, as a new
    // instance of the task may already run somewhere.
    h.control.cancel();
    run.join().unwrap();
    assert_eq!(h.offsets.position_of("a"), None, "no offsets committed");
}

#[test]
fn shutdown_waits_for_deliveries_and_commits_the_final_offsets() {
    // No periodic commit: only the shutdown commits.
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "v1"), text("a", 2, "v2")]]);
    let producer = FakeProducer::manual(10);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("both records are sent", || producer.sent().len() == 2);
    assert_eq!(h.offsets.position_of("a"), None);
    h.control.request_stop();
    producer.ack_all();
    run.join().unwrap();
    assert_eq!(h.offsets.position_of("a"), Some(2));
    let requests = h.journal.requests();
    assert_eq!(
        &requests[requests.len() - 2..],
        [
            TaskRequest::Commit(vec![(
                (*source_partition("a")).clone(),
                json!({ "position": 2 })
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            )]),
            TaskRequest::Stop
        ],
        "committed, then stopped"
    );
}

#[test]
fn a_stop_while_the_queue_is_full_gives_up_and_commits_nothing_unacked() {
    // The shutdown waits 200 ms for deliveries.
    let h = Harness::with_flush(10, 200);
    let feed = SourceFeed::new(vec![vec![
        text("a", 1, "v1"),
        text("a", 2, "v2"),
        text("a", 3, "v3"),
    ]]);
    let producer = FakeProducer::manual(1);
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the queue is full", || producer.queue_full_count() >= 1);
    let stopping = Instant::now();
    // The broker never answers: the loop must give up v2 rather than wait for space forever.
    run.stop().unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(2));
    assert_eq!(producer.sent_texts(), ["v1"]);
    assert_eq!(h.offsets.position_of("a"), None, "v1 was never acked");
    assert_eq!(h.journal.requests().last(), Some(&TaskRequest::Stop));
}

#[test]
fn records_a_transformation_filters_out_still_advance_the_offsets() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![
        source_record("b", 1, Value::Null),
        text("a", 1, "v1"),
        source_record("a", 2, Value::Null),
        source_record("a", 3, Value::Null),
    ]]);
    let producer = FakeProducer::auto();
    let connector = props(&[
        ("transforms", "f"),
        (
            "transforms.f.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.f.predicate", "tomb"),
        ("predicates", "tomb"),
        (
            "predicates.tomb.type",
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        ),
    ]);
    let run = h.spawn_source(
        connector,
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("both partitions' offsets are committed", || {
        h.offsets.position_of("a") == Some(3) && h.offsets.position_of("b") == Some(1)
    });
    assert_eq!(producer.sent_texts(), ["v1"], "tombstones filtered out");
    run.stop().unwrap();
}

fn byte_array_connector(tolerance: &str) -> Props {
    props(&[
        (
            "value.converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        ),
        ("errors.tolerance", tolerance),
    ])
}

fn mixed_values() -> Vec<SourceRecord> {
    vec![
        source_record("a", 1, Value::Bytes(b"x".to_vec())),
        text("a", 2, "not bytes"),
        source_record("a", 3, Value::Bytes(b"z".to_vec())),
    ]
}

#[test]
fn a_converter_failure_is_skipped_with_tolerance_all() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![mixed_values()]);
    let producer = FakeProducer::auto();
    let run = h.spawn_source(
        byte_array_connector("all"),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the last offset is committed", || {
        h.offsets.position_of("a") == Some(3)
    });
    assert_eq!(producer.sent_texts(), ["x", "z"]);
    run.stop().unwrap();
}

#[test]
fn a_converter_failure_fails_the_task_with_tolerance_none() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![mixed_values()]);
    let producer = FakeProducer::auto();
    let run = h.spawn_source(
        byte_array_connector("none"),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("Stage VALUE_CONVERTER")
            && trace.contains("ByteArrayConverter only writes bytes"),
        "{trace}"
    );
    assert_eq!(h.task_status().unwrap().state, State::Failed);
    assert_eq!(producer.sent_texts(), ["x"]);
    assert_eq!(h.offsets.position_of("a"), Some(1));
}

#[test]
fn a_commit_hook_error_is_only_logged() {
    let h = Harness::new(10);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "v1")]]);
    let polled = feed.clone();
    let task = FakeTask::new(&h.journal, move |r| match r {
        TaskRequest::Commit(_) => Err(fatal("commit hook broke")),
        other => Ok(default_response(other)),
    })
    .polling(move || polled.poll());
    let run = h.spawn_source(Props::new(), task, FakeProducer::auto());
    wait_until("the offset is committed", || {
        h.offsets.position_of("a") == Some(1)
    });
    feed.push(vec![text("a", 2, "v2")]);
    wait_until("the task goes on", || h.offsets.position_of("a") == Some(2));
    assert_eq!(h.state(), Some(State::Running));
    run.stop().unwrap();
    assert!(matches!(
        h.journal.requests().first(),
        Some(TaskRequest::StartSource { .. })
    ));
}

#[test]
fn topics_are_recorded_on_acknowledgement_after_transformations() {
    let h = Harness::new(10);
    let to = |topic: &str, pos: i64| {
        SourceRecord::new(
            Some(source_partition("a")),
            Some(position(pos)),
            topic,
            None,
            Value::String(format!("v{pos}")),
        )
    };
    let feed = SourceFeed::new(vec![vec![
        to("t1", 1),
        to("t2", 2),
        to("t3", 3),
        to("t1", 4),
    ]]);
    let producer = FakeProducer::manual(100);
    let connector = props(&[
        ("errors.tolerance", "all"),
        ("transforms", "route"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "t(.*)"),
        ("transforms.route.replacement", "routed-$1"),
    ]);
    let run = h.spawn_source(
        connector,
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the records are sent", || producer.sent().len() == 4);
    let topics: Vec<String> = producer.sent().iter().map(|s| s.topic.clone()).collect();
    assert_eq!(topics, ["routed-1", "routed-2", "routed-3", "routed-1"]);
    producer.settle(interval(&h));
    assert!(
        h.status.active_topics(CONNECTOR).is_empty(),
        "nothing is acknowledged yet"
    );

    producer.ack(2);
    wait_until("routed-3 is recorded", || {
        h.status.active_topics(CONNECTOR) == ["routed-3"]
    });
    // A failed send is not recorded (tolerated here, so the task goes on).
    producer.fail(1, "broker said no");
    producer.ack(0);
    producer.ack(3);
    wait_until("the last offset is committed", || {
        h.offsets.position_of("a") == Some(4)
    });
    assert_eq!(h.status.active_topics(CONNECTOR), ["routed-1", "routed-3"]);
    run.stop().unwrap();
}

#[test]
fn source_topics_are_not_recorded_with_tracking_disabled() {
    let mut h = Harness::new(10);
    Arc::get_mut(&mut h.ctx)
        .expect("not shared yet")
        .track_topics = false;
    let feed = SourceFeed::new(vec![vec![text("a", 1, "a1")]]);
    let producer = FakeProducer::auto();
    let run = h.spawn_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
    );
    wait_until("the offset is committed", || {
        h.offsets.position_of("a") == Some(1)
    });
    assert!(h.status.active_topics(CONNECTOR).is_empty());
    run.stop().unwrap();
}
