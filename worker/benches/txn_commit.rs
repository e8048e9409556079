//! The cost of committing a Kafka transaction, as an exactly-once source task does after each
//! poll: rdkafka 0.39's `commit_transaction` (which first flushes in 100 ms polling steps)
//! against `storage::transactions::commit_transaction` (librdkafka's own
//! `rd_kafka_commit_transaction` on the producer's handle, what the worker uses), both on a
//! `ThreadedProducer` whose thread serves delivery reports.
//!
//! Needs a broker: `TRIBUTARY_TEST_BOOTSTRAP` (default 127.0.0.1:19092).
//! `cargo bench -p tributary --bench txn_commit [-- <transactions> <records per transaction>]`

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use tributary::storage::transactions;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let transactions: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let per_txn: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let bootstrap =
        std::env::var("TRIBUTARY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".to_owned());
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", &bootstrap);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    println!(
        "{transactions} transactions of {per_txn} records of 100 B each, one partition, broker {bootstrap}"
    );
    for variant in [
        "rdkafka commit_transaction",
        "rd_kafka_commit_transaction (worker)",
    ] {
        for run in 1..=2 {
            let topic = format!("txn-commit-bench-{stamp}-{}-{run}", variant.len());
            let admin: AdminClient<DefaultClientContext> = base.create()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(admin.create_topics(
                [&NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ))?;
            let mut config = base.clone();
            transactions::make_transactional(&mut config, &format!("{topic}-txn"));
            let producer: ThreadedProducer<DefaultProducerContext> = config.create()?;
            let timeout = Duration::from_secs(30);
            producer.init_transactions(timeout)?;
            let payload = vec![b'x'; 100];
            let mut commits = Vec::with_capacity(transactions);
            let started = Instant::now();
            for t in 0..transactions + 5 {
                producer.begin_transaction()?;
                for i in 0..per_txn {
                    let key = format!("k{t}-{i}");
                    let record = BaseRecord::<str, [u8]>::to(&topic)
                        .key(&key)
                        .payload(&payload);
                    producer.send(record).map_err(|(e, _)| e)?;
                }
                let at = Instant::now();
                if variant.starts_with("rdkafka") {
                    producer.commit_transaction(timeout)?;
                } else {
                    transactions::commit_transaction(producer.client(), timeout)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                // The first few warm up (coordinator lookup, AddPartitionsToTxn).
                if t >= 5 {
                    commits.push(at.elapsed());
                }
            }
            let total = started.elapsed();
            commits.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let pct = |p: f64| commits[((commits.len() - 1) as f64 * p) as usize];
            println!(
                "{variant}, run {run}: commit p50 {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms; {:.0} transactions/s, {:.0} records/s",
                ms(pct(0.5)),
                ms(pct(0.9)),
                ms(commits[0]),
                ms(commits[commits.len() - 1]),
                (transactions + 5) as f64 / total.as_secs_f64(),
                ((transactions + 5) * per_txn) as f64 / total.as_secs_f64(),
            );
        }
    }
    Ok(())
}
