//! Shared helpers: start real `tributary` processes against the test broker, talk REST,
//! read topics, and poll for conditions.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod cluster;
pub mod txn;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// The broker started by scripts/test.sh.
pub fn bootstrap() -> String {
    std::env::var("TRIBUTARY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

/// target/debug (or release): where the worker binary and plugin libraries are.
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_owned()
}

pub fn worker_binary() -> PathBuf {
    let bin = build_dir().join("tributary");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build --workspace` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A library built in this workspace, e.g. `tributary_connector_file`.
pub fn library(name: &str) -> PathBuf {
    let lib = build_dir().join(format!("lib{name}.so"));
    assert!(
        lib.exists(),
        "{} missing: run `cargo build --workspace` first",
        lib.display()
    );
    lib
}

/// A fresh plugin directory holding copies of the named libraries.
pub fn plugin_dir(root: &Path, names: &[&str]) -> PathBuf {
    let dir = root.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    for name in names {
        std::fs::copy(library(name), dir.join(format!("lib{name}.so"))).unwrap();
    }
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A unique name for topics and connectors, so tests never share broker state.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn write_props(path: &Path, props: &[(&str, String)]) {
    let mut f = std::fs::File::create(path).unwrap();
    for (k, v) in props {
        writeln!(f, "{k}={}", v.replace('\\', "\\\\")).unwrap();
    }
}

/// How tests reach a worker's REST API: plain HTTP by default; HTTPS trusting a CA, with a
/// client certificate, with basic authentication.
#[derive(Clone, Default)]
pub struct RestAccess {
    pub https: bool,
    /// PEM of the CA the worker's certificate is signed by.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM certificate chain and PKCS8 PEM key of a client certificate.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// User and password for `Authorization: Basic`.
    pub basic: Option<(String, String)>,
}

impl RestAccess {
    fn client(&self) -> reqwest::blocking::Client {
        let mut b = reqwest::blocking::Client::builder().no_proxy();
        if let Some(ca) = &self.ca_pem {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap());
        }
        if let Some((chain, key)) = &self.identity {
            b = b.identity(reqwest::Identity::from_pkcs8_pem(chain, key).unwrap());
        }
        b.build().unwrap()
    }

    /// The status code of `method url` without a body.
    pub fn code(&self, method: &str, url: &str) -> u16 {
        self.request(method.parse().unwrap(), url)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::blocking::RequestBuilder {
        let req = self.client().request(method, url);
        match &self.basic {
            Some((user, password)) => req.basic_auth(user, Some(password)),
            None => req,
        }
    }
}

/// A running worker process.
pub struct Worker {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    pub rest: RestAccess,
}

impl Worker {
    /// Worker properties for a standalone worker in `dir` (overridable by `extra`).
    pub fn props(
        dir: &Path,
        port: u16,
        plugins: &Path,
        extra: &[(&str, &str)],
    ) -> Vec<(&'static str, String)> {
        let mut props: Vec<(&'static str, String)> = vec![
            ("bootstrap.servers", bootstrap()),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
            (
                "offset.storage.file.filename",
                dir.join("offsets.json").display().to_string(),
            ),
            ("offset.flush.interval.ms", "500".into()),
            ("listeners", format!("http://127.0.0.1:{port}")),
            ("plugin.path", plugins.display().to_string()),
            // Tansu answers a group's first JoinGroup only after about half the session
            // timeout (22 s with librdkafka's 45 s default; Kafka waits
            // group.initial.rebalance.delay.ms, 3 s). A short session keeps sink tests fast.
            ("consumer.session.timeout.ms", "6000".into()),
        ];
        for (k, v) in extra {
            props.retain(|(pk, _)| pk != k);
            props.push((Box::leak(k.to_string().into_boxed_str()), v.to_string()));
        }
        props
    }

    /// Starts `tributary standalone` and waits until `/health` says healthy.
    pub fn start(dir: &Path, worker_props: &[(&str, String)], connectors: &[PathBuf]) -> Worker {
        Worker::start_mode("standalone", dir, worker_props, connectors)
    }

    /// Starts `tributary <mode>` (`standalone` or `distributed`) and waits until `/health`
    /// says healthy (a distributed worker is healthy once it has its first assignment).
    pub fn start_mode(
        mode: &str,
        dir: &Path,
        worker_props: &[(&str, String)],
        connectors: &[PathBuf],
    ) -> Worker {
        Worker::start_with(
            mode,
            dir,
            worker_props,
            connectors,
            RestAccess::default(),
            &[],
        )
    }

    /// [`Worker::start_mode`] reached through `rest`, with extra environment variables.
    pub fn start_with(
        mode: &str,
        dir: &Path,
        worker_props: &[(&str, String)],
        connectors: &[PathBuf],
        rest: RestAccess,
        env: &[(&str, String)],
    ) -> Worker {
        let port: u16 = worker_props
            .iter()
            .find(|(k, _)| *k == "listeners")
            .and_then(|(_, v)| v.rsplit(':').next()?.parse().ok())
            .expect("listeners with a port");
        let worker_file = dir.join("worker.properties");
        write_props(&worker_file, worker_props);
        let log = dir.join(format!(
            "worker-{}.log",
            Instant::now().elapsed().as_nanos() + port as u128
        ));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(worker_binary())
            .arg(mode)
            .arg(&worker_file)
            .args(connectors)
            .stdout(Stdio::null())
            .stderr(log_file)
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .spawn()
            .unwrap();
        let mut worker = Worker {
            child,
            port,
            log,
            rest,
        };
        worker.wait_healthy();
        worker
    }

    fn wait_healthy(&mut self) {
        let url = self.url("/health");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("worker exited with {status}; log:\n{}", self.log_text());
            }
            if let Ok(r) = self.rest.request(reqwest::Method::GET, &url).send() {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "worker not healthy in 30 s; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.rest.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The worker's log, without terminal colour codes.
    pub fn log_text(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // ESC [ ... m
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .rest
            .request(reqwest::Method::GET, &self.url(path))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let mut req = self.rest.request(method.parse().unwrap(), &self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            headers,
        )
    }

    /// The state of a connector's task, once it has one.
    pub fn task_state(&self, name: &str, task: u32) -> Option<(String, serde_json::Value)> {
        let (code, body) = self.get(&format!("/connectors/{name}/tasks/{task}/status"));
        (code == 200).then(|| (body["state"].as_str().unwrap_or("").to_owned(), body))
    }

    /// Waits for a task to reach `state`; returns its status body.
    pub fn wait_task_state(&self, name: &str, task: u32, state: &str) -> serde_json::Value {
        wait_for(
            &format!("task {name}-{task} {state}"),
            Duration::from_secs(30),
            || {
                self.task_state(name, task)
                    .filter(|(s, _)| s == state)
                    .map(|(_, b)| b)
            },
        )
    }

    /// SIGKILL, no cleanup.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn terminate(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads every value of `topic` from the beginning until `expected` values arrived or
/// `timeout` passes. Asserts on records received, never on the high watermark (Tansu
/// under-reports it, see broker-notes.md).
pub fn read_topic(topic: &str, expected: usize, timeout: Duration) -> Vec<String> {
    read_topic_until(topic, timeout, |values| values.len() >= expected)
}

/// Reads `topic` from the beginning until `done` says so or `timeout` passes.
pub fn read_topic_until(
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let mut values = Vec::new();
    consume_until(topic, timeout, |records| {
        values.extend(records[values.len()..].iter().map(Consumed::value_text));
        done(&values)
    });
    values
}

/// Lines as file content, each ending in `\n`.
pub fn file_text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// 10,000-ish lines of mixed UTF-8 (ASCII, accents, CJK, emoji, RTL), numbered.
pub fn mixed_lines(n: usize) -> Vec<String> {
    const SAMPLES: &[&str] = &[
        "plain ascii",
        "café crème",
        "日本語のテキスト",
        "emoji 🚀🦀",
        "עברית וערבية",
        "tab\there",
        "ß∂ƒ©˙∆˚¬",
    ];
    (0..n)
        .map(|i| format!("{i:05} {}", SAMPLES[i % SAMPLES.len()]))
        .collect()
}

/// Creates a topic with one partition, so records keep one order. (Kafka auto-creates topics
/// with `num.partitions=1` by default; Tansu auto-creates several partitions, which would make
/// "in order" undefined for records without a key.)
pub fn create_topic(name: &str) {
    create_topic_with_partitions(name, 1);
}

/// Creates a topic with `partitions` partitions.
pub fn create_topic_with_partitions(name: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let results =
        futures::executor::block_on(admin.create_topics([&topic], &AdminOptions::new())).unwrap();
    for r in results {
        if let Err((t, e)) = r {
            assert_eq!(
                e,
                rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                "create topic {t}"
            );
        }
    }
}

/// Asserts two line sequences are equal, reporting the first difference instead of both lists.
pub fn assert_same_lines(got: &[String], want: &[String], what: &str) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: first difference at line {i}: got {:?}, want {:?}",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: line counts differ");
}

/// One record read back from a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Consumed {
    pub fn value_text(&self) -> String {
        String::from_utf8_lossy(self.value.as_deref().unwrap_or_default()).into_owned()
    }

    /// The last header with this key, as text.
    pub fn header(&self, key: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned())
    }
}

/// Reads `topic` from the beginning until `expected` records arrived or `timeout` passes,
/// with keys and headers.
pub fn read_records(topic: &str, expected: usize, timeout: Duration) -> Vec<Consumed> {
    consume_until(topic, timeout, |records| records.len() >= expected)
}

/// Reads every partition of `topic` from the beginning until `done` says so or `timeout`
/// passes. Asserts on records received, never on the high watermark (Tansu under-reports it,
/// see broker-notes.md).
pub fn consume_until(
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Consumed]) -> bool,
) -> Vec<Consumed> {
    use rdkafka::message::Headers as _;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let parts = wait_for("topic metadata", Duration::from_secs(20), || {
        let m = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()?;
        let parts: Vec<i32> = m
            .topics()
            .first()?
            .partitions()
            .iter()
            .map(|p| p.id())
            .collect();
        (!parts.is_empty()).then_some(parts)
    });
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while !done(&out) && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push(Consumed {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// Produces `(value, headers)` records to partition 0 of `topic` and waits until they are
/// all delivered.
pub fn produce(topic: &str, records: &[(&str, &[(&str, &str)])]) {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("acks", "all")
        .create()
        .unwrap();
    for (value, headers) in records {
        let mut h = OwnedHeaders::new();
        for (k, v) in headers.iter() {
            h = h.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        let record = BaseRecord::<(), str>::to(topic)
            .partition(0)
            .payload(value)
            .headers(h);
        if let Err((e, _)) = producer.send(record) {
            panic!("produce to {topic}: {e}");
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("every record delivered");
}

/// Produces `(key, value)` records (`None` value: a tombstone) to partition 0 of `topic` and
/// waits until they are all delivered.
pub fn produce_keyed(topic: &str, records: &[(Option<String>, Option<String>)]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("acks", "all")
        .create()
        .unwrap();
    for (key, value) in records {
        let mut record = BaseRecord::<str, str>::to(topic).partition(0);
        if let Some(k) = key {
            record = record.key(k.as_str());
        }
        if let Some(v) = value {
            record = record.payload(v.as_str());
        }
        if let Err((e, _)) = producer.send(record) {
            panic!("produce to {topic}: {e}");
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("every record delivered");
}
