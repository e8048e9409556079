//! Cost per record of a three-transformation chain, against the JsonConverter serialization of
//! the same records measured in the same run (the work every record pays anyway).
//!
//! `cargo bench -p tributary --bench smt_chain [-- RECORDS]`
//!
//! Each measure runs over fresh clones of the records; the cost of cloning is measured alone
//! and subtracted. The chain is ReplaceField$Value (drop one field, rename one), then
//! InsertField$Value (add the topic and a static field), then RegexRouter (rename the topic),
//! as Kafka Connect users configure them.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use tributary::converters::{Converter, JsonConverter};
use tributary_connector_api::{logical, Headers, Schema, SinkRecord, Struct, TimestampType, Value};
use tributary_transforms::TransformChain;

fn records(n: usize, with_schema: bool) -> Vec<SinkRecord> {
    let schema = Schema::struct_([
        ("id", Schema::int64()),
        ("name", Schema::string()),
        ("email", Schema::optional_string()),
        ("amount", Schema::float64()),
        ("created", logical::timestamp().into_ref()),
    ])
    .with_name("shop.Order")
    .into_ref();
    (0..n)
        .map(|i| {
            let name = format!("customer {i}");
            let email = format!("c{i}@example.com");
            let (value_schema, value) = if with_schema {
                let mut s = Struct::new(schema.clone()).expect("struct schema");
                s.put("id", Value::Int64(i as i64)).expect("id");
                s.put("name", Value::String(name)).expect("name");
                s.put("email", Value::String(email)).expect("email");
                s.put("amount", Value::Float64(i as f64 * 1.25))
                    .expect("amount");
                s.put("created", Value::Int64(1_700_000_000_000 + i as i64))
                    .expect("created");
                (Some(schema.clone()), Value::Struct(s))
            } else {
                let entries = vec![
                    (Value::from("id"), Value::Int64(i as i64)),
                    (Value::from("name"), Value::String(name)),
                    (Value::from("email"), Value::String(email)),
                    (Value::from("amount"), Value::Float64(i as f64 * 1.25)),
                    (
                        Value::from("created"),
                        Value::Int64(1_700_000_000_000 + i as i64),
                    ),
                ];
                (None, Value::Map(entries))
            };
            SinkRecord {
                topic: "orders-raw".into(),
                kafka_partition: 0,
                kafka_offset: i as i64,
                key_schema: None,
                key: Value::Null,
                value_schema,
                value,
                timestamp: Some(1_700_000_000_000),
                timestamp_type: TimestampType::CreateTime,
                headers: Headers::new(),
                original_topic: None,
            }
        })
        .collect()
}

fn chain() -> TransformChain {
    let props: BTreeMap<String, String> = [
        ("transforms", "fields,stamp,route"),
        (
            "transforms.fields.type",
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
        ),
        ("transforms.fields.exclude", "email"),
        ("transforms.fields.renames", "name:customer"),
        (
            "transforms.stamp.type",
            "org.apache.kafka.connect.transforms.InsertField$Value",
        ),
        ("transforms.stamp.topic.field", "source_topic"),
        ("transforms.stamp.static.field", "pipeline"),
        ("transforms.stamp.static.value", "bench"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "(.*)-raw"),
        ("transforms.route.replacement", "$1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    TransformChain::from_props(&props).expect("bench chain config")
}

/// Best of `rounds` timings of `f` over fresh clones of `input`.
fn best(rounds: usize, input: &[SinkRecord], mut f: impl FnMut(SinkRecord)) -> Duration {
    (0..rounds)
        .map(|_| {
            let batch = input.to_vec();
            let start = Instant::now();
            for r in batch {
                f(r);
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn per_record(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let rounds = 5;
    println!("{n} records, best of {rounds} rounds, ns per record");
    for with_schema in [true, false] {
        let input = records(n, with_schema);
        let json_config: BTreeMap<String, String> =
            [("schemas.enable".to_owned(), with_schema.to_string())]
                .into_iter()
                .collect();
        let json = JsonConverter::new(&json_config).expect("json converter");
        let clone_only = best(rounds, &input, |r| {
            black_box(r);
        });
        let mut c = chain();
        let with_chain = best(rounds, &input, |mut r| {
            let outcome = c.apply(&mut r).expect("chain applies");
            black_box((outcome, r));
        });
        let with_json = best(rounds, &input, |r| {
            let bytes = json
                .from_connect(&r.topic, r.value_schema.as_ref(), &r.value)
                .expect("json converts");
            black_box((bytes, r));
        });
        let base = per_record(clone_only, n);
        let chain_ns = per_record(with_chain, n) - base;
        let json_ns = per_record(with_json, n) - base;
        println!(
            "{:<10} three-SMT chain {chain_ns:>7.0} | JsonConverter {json_ns:>7.0} | chain / JSON = {:.2} | (record clone {base:.0})",
            if with_schema { "schema" } else { "schemaless" },
            chain_ns / json_ns,
        );
    }
}
