//! What a converter in a plugin library costs per record, against the built-in StringConverter
//! doing the same work, in the same run: `com.example.Utf8Converter` of the `extras` fixture
//! plugin writes and reads strings exactly as the StringConverter does, so the difference is
//! the plugin boundary. Measured per record (a batch of one per call) and per batch.
//!
//! `cargo build --release -p tributary-test-plugin-extras`, then
//! `cargo bench -p tributary --bench plugin_converter [-- BATCH]`
//! (the plugin is `libtributary_test_plugin_extras.so` of the same target directory, or the
//! file named by `TRIBUTARY_EXTRAS_PLUGIN`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use tributary::converters::{Converter, StringConverter};
use tributary::plugins::components::PluginConverter;
use tributary::plugins::Library;
use tributary_connector_api::abi::component::ComponentNew;
use tributary_connector_api::component::ComponentKind;
use tributary_connector_api::converter::{ConnectData, RawData};
use tributary_connector_api::{Value, ValueRef};

const ROUNDS: usize = 7;

fn plugin_path() -> PathBuf {
    if let Ok(p) = std::env::var("TRIBUTARY_EXTRAS_PLUGIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("bench path");
    // target/release/deps/<bench> → target/release
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory");
    dir.join("libtributary_test_plugin_extras.so")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Nanoseconds per record of `f` over `n` records, median of [`ROUNDS`].
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    let mut out = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        f();
        out.push(started.elapsed().as_nanos() as f64 / n as f64);
    }
    median(out)
}

fn main() {
    let batch: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let batches = 200;
    let n = batch * batches;
    let path = plugin_path();
    let library = Library::open(&path).unwrap_or_else(|e| {
        panic!("{e}; build it first: cargo build --release -p tributary-test-plugin-extras")
    });
    let remote = library
        .new_component(&ComponentNew {
            kind: ComponentKind::Converter,
            class: "com.example.Utf8Converter".to_owned(),
            config: Default::default(),
            is_key: false,
        })
        .expect("plugin converter");
    let plugin = PluginConverter(remote);
    let builtin = StringConverter::new(&Default::default()).expect("StringConverter");

    let values: Vec<Value> = (0..batch)
        .map(|i| {
            Value::String(format!(
                "{i:08} a line of about a hundred bytes {}",
                "x".repeat(60)
            ))
        })
        .collect();
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| builtin.from_connect("t", None, v).unwrap().unwrap())
        .collect();
    let data: Vec<ConnectData<'_>> = values
        .iter()
        .map(|value| ConnectData {
            topic: "t",
            schema: None,
            value: ValueRef::Value(value),
        })
        .collect();
    let raw: Vec<RawData<'_>> = bytes
        .iter()
        .map(|b| RawData {
            topic: "t",
            bytes: Some(b),
        })
        .collect();

    let run = |conv: &dyn Converter, batched: bool| {
        let write = time(n, || {
            for _ in 0..batches {
                if batched {
                    black_box(conv.from_connect_batch(&data));
                } else {
                    for v in &values {
                        black_box(conv.from_connect("t", None, v).unwrap());
                    }
                }
            }
        });
        let read = time(n, || {
            for _ in 0..batches {
                if batched {
                    black_box(conv.to_connect_batch(&raw));
                } else {
                    for b in &bytes {
                        black_box(conv.to_connect("t", Some(b)).unwrap());
                    }
                }
            }
        });
        (write, read)
    };
    let (bw, br) = run(&builtin, false);
    let (pw1, pr1) = run(&plugin, false);
    let (pwb, prb) = run(&plugin, true);
    println!(
        "{n} records of about 100 B, batches of {batch}, median of {ROUNDS} rounds, ns per record"
    );
    println!("                                   from_connect   to_connect");
    println!("built-in StringConverter           {bw:12.1} {br:12.1}");
    println!(
        "plugin converter, one per call     {pw1:12.1} {pr1:12.1}   ratio {:.2} / {:.2}",
        pw1 / bw,
        pr1 / br
    );
    println!(
        "plugin converter, batch per call   {pwb:12.1} {prb:12.1}   ratio {:.2} / {:.2}",
        pwb / bw,
        prb / br
    );
}
