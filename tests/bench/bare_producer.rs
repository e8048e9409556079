//! Benchmark baseline: a bare rdkafka producer sending each line of a file to a topic with the
//! same delivery settings as the worker's source producer (acks=all, one request in flight),
//! waiting for every acknowledgement. Prints `records elapsed_ms`.
//!
//! Usage: bare_producer <bootstrap> <topic> <file>

use std::io::BufRead;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, topic, file] = args.as_slice() else {
        eprintln!("usage: bare_producer <bootstrap> <topic> <file>");
        std::process::exit(2);
    };
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "1")
        .set("enable.idempotence", "false")
        .set("message.timeout.ms", "0")
        .create()
        .expect("producer");
    let start = Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(file).expect("input file"));
    let mut n = 0u64;
    for line in reader.lines() {
        let line = line.expect("utf-8 line");
        let mut record = BaseRecord::<(), String>::to(topic).payload(&line);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => panic!("send failed: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
        n += 1;
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    println!("{n} {}", start.elapsed().as_millis());
}
