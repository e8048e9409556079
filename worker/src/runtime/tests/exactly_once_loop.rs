//! The exactly-once source loop (KIP-618) against a fake task and a fake transactional
//! producer: records and their offsets commit in one transaction, per poll or per interval; a
//! commit that fails aborts and fails the task; a clean stop commits what was sent.

use tributary_connector_api::abi::TaskRequest;
use tributary_connector_api::{Props, SourceRecord, Value};

use super::*;

fn text(file: &str, pos: i64, value: &str) -> SourceRecord {
    source_record(file, pos, Value::String(value.to_owned()))
}

fn offset_record(file: &str, pos: i64) -> (String, Option<String>) {
    (
        format!(r#"["{CONNECTOR}",{{"file":"{file}"}}]"#),
        Some(format!(r#"{{"position":{pos}}}"#)),
    )
}

/// The offsets the task heard were committed (`Commit` hooks), flattened to (file, position).
fn commit_hooks(h: &Harness) -> Vec<Vec<(String, i64)>> {
    h.journal
        .requests()
        .into_iter()
        .filter_map(|r| match r {
            TaskRequest::Commit(pairs) => Some(
                pairs
                    .into_iter()
                    .map(|(p, o)| {
                        (
                            p["file"].as_str().unwrap_or_default().to_owned(),
                            o["position"].as_i64().unwrap_or(-1),
                        )
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[test]
fn each_poll_commits_its_records_with_their_offsets_in_one_transaction() {
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![
        vec![text("a", 1, "a1"), text("a", 2, "a2")],
        vec![text("a", 3, "a3"), text("b", 1, "b1")],
    ]);
    let producer = FakeProducer::transactional();
    let offsets = Arc::new(TopicOffsets::default());
    let run = h.spawn_exactly_once_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
        Boundary::Poll,
        offsets.clone(),
    );
    wait_until("two transactions commit", || {
        producer.committed().len() == 2
    });
    let committed = producer.committed();
    assert_eq!(
        committed[0],
        Committed {
            records: vec!["a1".into(), "a2".into()],
            offsets: vec![offset_record("a", 2)],
        }
    );
    assert_eq!(
        committed[1],
        Committed {
            records: vec!["a3".into(), "b1".into()],
            offsets: vec![offset_record("a", 3), offset_record("b", 1)],
        }
    );
    // The transaction wrote the offsets: the ordinary offset store is never used.
    assert!(h.offsets.history_of("a").is_empty());
    assert_eq!(offsets.committed().len(), 2);
    wait_until("the task hears of both commits", || {
        commit_hooks(&h).len() == 2
    });
    assert_eq!(
        commit_hooks(&h),
        [
            vec![("a".to_owned(), 2)],
            vec![("a".to_owned(), 3), ("b".to_owned(), 1)]
        ]
    );
    // Nothing is left open between polls; nothing was aborted.
    wait_until("no transaction open", || !producer.transaction_open());
    run.stop().unwrap();
    assert_eq!(producer.begins_and_aborts(), (2, 0));
    assert_eq!(
        producer.committed().len(),
        2,
        "a clean stop with nothing open"
    );
}

#[test]
fn the_interval_boundary_commits_several_polls_together() {
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![
        vec![text("a", 1, "a1")],
        vec![text("a", 2, "a2")],
        vec![text("a", 3, "a3")],
    ]);
    let producer = FakeProducer::transactional();
    let offsets = Arc::new(TopicOffsets::default());
    let interval = Duration::from_millis(400);
    let started = Instant::now();
    let run = h.spawn_exactly_once_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
        Boundary::Interval(interval),
        offsets,
    );
    wait_until("the three batches are sent", || producer.sent().len() == 3);
    wait_until("a transaction commits", || !producer.committed().is_empty());
    assert!(
        started.elapsed() >= interval,
        "committed before the interval passed"
    );
    assert_eq!(
        producer.committed()[0],
        Committed {
            records: vec!["a1".into(), "a2".into(), "a3".into()],
            offsets: vec![offset_record("a", 3)],
        }
    );
    run.stop().unwrap();
}

#[test]
fn a_clean_stop_commits_the_open_transaction() {
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "a1"), text("a", 2, "a2")]]);
    let producer = FakeProducer::transactional();
    let run = h.spawn_exactly_once_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
        Boundary::Interval(Duration::from_secs(3600)),
        Arc::new(TopicOffsets::default()),
    );
    wait_until("the records are sent", || producer.sent().len() == 2);
    assert!(producer.transaction_open());
    assert!(producer.committed().is_empty());
    run.stop().unwrap();
    assert_eq!(
        producer.committed(),
        [Committed {
            records: vec!["a1".into(), "a2".into()],
            offsets: vec![offset_record("a", 2)],
        }]
    );
    assert_eq!(producer.begins_and_aborts(), (1, 0));
}

#[test]
fn a_failed_commit_aborts_and_fails_the_task() {
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "a1")], vec![text("a", 2, "a2")]]);
    let producer = FakeProducer::transactional();
    producer.fail_next_commit(TxnError::new(
        TxnErrorKind::Abortable,
        "Failed to produce a record (MessageTimedOut)",
    ));
    let offsets = Arc::new(TopicOffsets::default());
    let run = h.spawn_exactly_once_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
        Boundary::Poll,
        offsets.clone(),
    );
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("Failed to commit the transaction") && trace.contains("MessageTimedOut"),
        "{trace}"
    );
    h.wait_for_state(State::Failed);
    assert!(producer.committed().is_empty(), "nothing committed");
    assert_eq!(
        producer.begins_and_aborts(),
        (1, 1),
        "the transaction was aborted"
    );
    assert!(offsets.committed().is_empty());
    assert_eq!(commit_hooks(&h), Vec::<Vec<(String, i64)>>::new());
    // The task is stopped once, after the failure.
    assert_eq!(h.journal.count(|r| matches!(r, TaskRequest::Stop)), 1);
}

#[test]
fn a_fenced_zombie_fails_cleanly_without_touching_the_transaction_again() {
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![vec![text("a", 1, "a1")]]);
    let producer = FakeProducer::transactional();
    producer.fail_next_commit(TxnError::new(
        TxnErrorKind::Fenced,
        "There is a newer producer with the same transactionalId (ProducerFenced)",
    ));
    let run = h.spawn_exactly_once_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
        Boundary::Poll,
        Arc::new(TopicOffsets::default()),
    );
    let trace = run.join().unwrap_err();
    assert!(
        trace.contains("fenced out by a newer instance") && trace.contains("ProducerFenced"),
        "{trace}"
    );
    let status = h.task_status().expect("a status");
    assert_eq!(status.state, State::Failed);
    assert!(producer.committed().is_empty());
    // A fenced producer is not asked to abort (the newer instance already aborted it).
    assert_eq!(producer.begins_and_aborts(), (1, 0));
}

#[test]
fn a_refused_record_fails_the_task_even_when_errors_are_tolerated() {
    let h = Harness::new(60_000);
    let feed = SourceFeed::new(vec![vec![
        text("a", 1, "a1"),
        text("a", 2, "too big"),
        text("a", 3, "a3"),
    ]]);
    let producer = FakeProducer::transactional();
    producer.refuse(|s| (s.text() == "too big").then(|| "Message size too large".to_owned()));
    let run = h.spawn_exactly_once_source(
        props(&[("errors.tolerance", "all")]),
        FakeTask::source(&h.journal, &feed),
        producer.clone(),
        Boundary::Poll,
        Arc::new(TopicOffsets::default()),
    );
    let trace = run.join().unwrap_err();
    assert!(trace.contains("Message size too large"), "{trace}");
    assert!(producer.committed().is_empty(), "a1 is not committed alone");
    assert_eq!(producer.begins_and_aborts(), (1, 1));
}

/// Against the real broker (`TRIBUTARY_TEST_BOOTSTRAP`): a running exactly-once task whose
/// transactional id is initialised by a newer instance (what the next generation or a moved
/// task does) is a zombie: its next send is refused and the task fails with a trace saying
/// it was fenced, without aborting anything itself and without taking the worker down.
#[test]
fn a_zombie_is_fenced_by_its_next_instance_on_the_broker_and_fails_cleanly() {
    use crate::runtime::kafka::KafkaSender;
    use crate::storage::transactions;

    let bootstrap =
        std::env::var("TRIBUTARY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let topic = format!("zombie-{}-{nanos}", std::process::id());
    let id = format!("zombie-test-{}-{nanos}", std::process::id());
    let mut base = rdkafka::ClientConfig::new();
    base.set("bootstrap.servers", &bootstrap);
    let mut config = base.clone();
    transactions::make_transactional(&mut config, &id);
    let producer = KafkaSender::create_transactional(&config, Duration::from_secs(30))
        .expect("a transactional producer on the test broker");

    let h = Harness::new(60_000);
    let feed = SourceFeed::default();
    let stop_feeding = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder = {
        let (feed, stop, topic) = (feed.clone(), stop_feeding.clone(), topic.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if feed.pending() < 2 {
                    n += 1;
                    feed.push(vec![SourceRecord::new(
                        Some(source_partition("a")),
                        Some(position(n)),
                        topic.clone(),
                        None,
                        Value::String(format!("r{n}")),
                    )]);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // One long transaction: the fence lands while the zombie sends into it (a fence that
    // lands inside the zombie's commit is answered on the test broker by a closed
    // connection, and the task fails only when the commit times out).
    let run = h.spawn_exactly_once_source(
        Props::new(),
        FakeTask::source(&h.journal, &feed),
        producer,
        Boundary::Interval(Duration::from_secs(3600)),
        Arc::new(TopicOffsets::default()),
    );
    wait_until("the task sends records", || {
        h.journal.count(|r| matches!(r, TaskRequest::Poll)) >= 20
    });

    // The next instance of the task starts elsewhere.
    transactions::fence(&base, &id, Duration::from_secs(30)).expect("fenced");
    let trace = run.join().unwrap_err();
    eprintln!("the zombie's trace: {trace}");
    stop_feeding.store(true, std::sync::atomic::Ordering::SeqCst);
    feeder.join().unwrap();
    assert!(trace.contains("fenced"), "{trace}");
    h.wait_for_state(State::Failed);
    assert_eq!(h.journal.count(|r| matches!(r, TaskRequest::Stop)), 1);
}
