//! The connector's source path in isolation (no worker, no Kafka): starts the task on an
//! existing slot and polls until `events` records were handed out.
//! Prints `records elapsed_ms`.
//!
//! Usage: cdc_drain <slot> <publication> <table> <events>

use std::time::Instant;

use tributary_connector_api::{Props, SourceTask, SourceTaskContext};
use tributary_connector_postgres_cdc::PostgresTask;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, slot, publication, table, events] = args.as_slice() else {
        eprintln!("usage: cdc_drain <slot> <publication> <table> <events>");
        std::process::exit(2);
    };
    let expected: usize = events.parse().expect("events: a number");
    let props: Props = [
        ("plugin.name", "pgoutput"),
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.dbname", "test"),
        ("database.sslmode", "disable"),
        ("topic.prefix", "drain"),
        ("slot.name", slot.as_str()),
        ("publication.name", publication.as_str()),
        ("publication.autocreate.mode", "disabled"),
        ("table.include.list", table.as_str()),
        ("snapshot.mode", "no_data"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let start = Instant::now();
    let mut task = PostgresTask::default();
    task.start(&props, &SourceTaskContext::default())
        .expect("start");
    let mut n = 0;
    while n < expected {
        n += task.poll().expect("poll").len();
        if start.elapsed().as_secs() > 300 {
            eprintln!("cdc_drain: {n} of {expected} after 300 s");
            std::process::exit(1);
        }
    }
    println!("{n} {}", start.elapsed().as_millis());
    let _ = task.stop();
}
