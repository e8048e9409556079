//! The JDBC connectors' data paths in isolation (no worker, no broker), for
//! `scripts/bench-jdbc.sh`, and the hand-written baseline of the upsert path:
//!
//! * `sink <jdbc-url> <table> <rows> <insert|upsert>`: the sink task given `rows` records of
//!   about 100 bytes (id, name, qty, price, note) in puts of 500, as the worker hands them
//!   over, then an empty put (the worker's after an idle poll) that writes the rest;
//! * `bare-upsert <postgres-url> <table> <rows>`: the same rows with sqlx alone, multi-row
//!   `INSERT … ON CONFLICT` statements of 3000 rows, one transaction each;
//! * `source <jdbc-url> <table> <rows>`: the source task in bulk mode, polled until it has
//!   read `rows` rows.
//!
//! `BATCH_SIZE` sets the sink's `batch.size` (3000, Confluent's default). Each prints
//! `<rows> <ms>` (the data path's own clock); whole-process time and peak RSS are
//! taken from outside.

use std::time::Instant;

use tributary_connector_api::{
    Props, Schema, SinkRecord, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext, Struct,
    TimestampType, Type, Value,
};
use tributary_connector_jdbc::{JdbcSinkTask, JdbcSourceTask};

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn row_text(i: u64) -> (String, String) {
    (format!("item-{i:014}"), format!("note {i:032}"))
}

fn sink(url: &str, table: &str, rows: u64, mode: &str) -> Result<(), String> {
    let schema = Schema::struct_([
        ("id", Schema::new(Type::Int64).into_ref()),
        ("name", Schema::new(Type::String).into_ref()),
        ("qty", Schema::new(Type::Int64).into_ref()),
        ("price", Schema::new(Type::Float64).into_ref()),
        ("note", Schema::new(Type::String).into_ref()),
    ])
    .with_name(table)
    .into_ref();
    let records: Vec<SinkRecord> = (0..rows)
        .map(|i| {
            let (name, note) = row_text(i);
            let value = Struct::from_values(
                schema.clone(),
                vec![
                    Value::Int64(i as i64),
                    Value::String(name),
                    Value::Int64((i % 100) as i64),
                    Value::Float64(i as f64 * 0.5),
                    Value::String(note),
                ],
            )
            .map_err(|e| e.message)?;
            Ok(SinkRecord {
                topic: table.to_owned(),
                kafka_partition: 0,
                kafka_offset: i as i64,
                key_schema: None,
                key: Value::Null,
                value_schema: Some(schema.clone()),
                value: Value::Struct(value),
                timestamp: None,
                timestamp_type: TimestampType::NoTimestampType,
                headers: Default::default(),
                original_topic: None,
            })
        })
        .collect::<Result<_, String>>()?;
    let mut task = JdbcSinkTask::default();
    let mut context = SinkTaskContext::default();
    let batch_size = std::env::var("BATCH_SIZE").unwrap_or_else(|_| "3000".into());
    task.start(
        &props(&[
            ("connection.url", url),
            ("insert.mode", mode),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("batch.size", &batch_size),
        ]),
        &mut context,
    )
    .map_err(|e| e.message)?;
    let started = Instant::now();
    let mut records = records.into_iter();
    loop {
        let chunk: Vec<SinkRecord> = records.by_ref().take(500).collect();
        let last = chunk.is_empty();
        task.put(chunk, &mut context).map_err(|e| e.message)?;
        if last {
            break;
        }
    }
    // What the worker does before committing offsets: the last write lands.
    let offsets = tributary_connector_api::SinkOffsets::from([(
        tributary_connector_api::TopicPartition::new(table, 0),
        rows as i64,
    )]);
    let safe = task.pre_commit(&offsets).map_err(|e| e.message)?;
    if safe != offsets {
        return Err(format!("only {safe:?} written"));
    }
    let ms = started.elapsed().as_millis();
    if !context.errant_records.is_empty() {
        return Err(format!("{} records reported", context.errant_records.len()));
    }
    task.stop().map_err(|e| e.message)?;
    println!("{rows} {ms}");
    Ok(())
}

fn bare_upsert(url: &str, table: &str, rows: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let started = Instant::now();
            let mut i = 0;
            while i < rows {
                let n = (rows - i).min(3000);
                let mut sql = format!("INSERT INTO {table} (id,name,qty,price,note) VALUES ");
                for r in 0..n {
                    let b = r * 5;
                    if r > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "(${},${},${},${},${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    ));
                }
                sql.push_str(
                    " ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name,qty=EXCLUDED.qty,\
                     price=EXCLUDED.price,note=EXCLUDED.note",
                );
                let mut query = sqlx::query(&sql);
                for k in i..i + n {
                    let (name, note) = row_text(k);
                    query = query
                        .bind(k as i64)
                        .bind(name)
                        .bind((k % 100) as i64)
                        .bind(k as f64 * 0.5)
                        .bind(note);
                }
                let mut tx = conn.begin().await?;
                query.execute(&mut *tx).await?;
                tx.commit().await?;
                i += n;
            }
            println!("{rows} {}", started.elapsed().as_millis());
            Ok::<_, sqlx::Error>(())
        })
        .map_err(|e| e.to_string())
}

fn source(url: &str, table: &str, rows: u64) -> Result<(), String> {
    let mut task = JdbcSourceTask::default();
    task.start(
        &props(&[
            ("connection.url", url),
            ("mode", "bulk"),
            ("table.whitelist", table),
            ("tables", table),
            ("topic.prefix", "bench-"),
            ("poll.interval.ms", "600000"),
            ("batch.max.rows", "1000"),
        ]),
        &SourceTaskContext::new(Vec::new()),
    )
    .map_err(|e| e.message)?;
    let started = Instant::now();
    let mut read = 0u64;
    let mut bytes = 0usize;
    while read < rows {
        let batch = task.poll().map_err(|e| e.message)?;
        read += batch.len() as u64;
        // Touch the values, as a converter would.
        bytes += batch
            .iter()
            .map(|r| match &r.value {
                Value::Struct(s) => s.values().len(),
                _ => 0,
            })
            .sum::<usize>();
    }
    let ms = started.elapsed().as_millis();
    task.stop().map_err(|e| e.message)?;
    println!("{read} {ms} {bytes}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let rows = arg(3).parse::<u64>().unwrap_or(500_000);
    let result = match arg(0) {
        "sink" => sink(arg(1), arg(2), rows, arg(4)),
        "bare-upsert" => bare_upsert(arg(1), arg(2), rows),
        "source" => source(arg(1), arg(2), rows),
        _ => Err("usage: jdbc_bench sink|bare-upsert|source <url> <table> <rows> [mode]".into()),
    };
    if let Err(e) = result {
        eprintln!("jdbc_bench: {e}");
        std::process::exit(1);
    }
}
