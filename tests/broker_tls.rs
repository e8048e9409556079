//! The worker against a broker that speaks only TLS: the test broker behind socat (started by
//! `scripts/test.sh` with `scripts/broker.sh start-tls`), a file source and a file sink in one
//! `tributary standalone` process, every Kafka client over TLS with the test CA, configured
//! with a Java worker's property names.

mod support;

use std::time::Duration;

use serde_json::json;
use support::cluster::ClusterSpec;
use support::RestAccess;
use support::*;

/// The TLS broker's address and the CA that signed its certificate.
fn tls_broker() -> (String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run scripts/test.sh, or start a TLS broker with \
                 `scripts/broker.sh start-tls 19093 20093` and set TRIBUTARY_TEST_TLS_BOOTSTRAP \
                 and TRIBUTARY_TEST_TLS_CA (.tributary/tls/ca.pem)"
            )
        })
    };
    (
        var("TRIBUTARY_TEST_TLS_BOOTSTRAP"),
        var("TRIBUTARY_TEST_TLS_CA"),
    )
}

#[test]
fn a_pipeline_runs_over_tls_and_fails_without_the_ca() {
    let (bootstrap, ca) = tls_broker();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let lines = mixed_lines(3_000);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, file_text(&lines)).unwrap();
    let topic = unique("tls");
    let source = dir.path().join("src.properties");
    write_props(
        &source,
        &[
            ("name", "tls-src".into()),
            ("connector.class", "FileStreamSource".into()),
            ("file", input.display().to_string()),
            ("topic", topic.clone()),
        ],
    );
    let sink = dir.path().join("sink.properties");
    write_props(
        &sink,
        &[
            ("name", "tls-sink".into()),
            ("connector.class", "FileStreamSink".into()),
            ("file", output.display().to_string()),
            ("topics", topic.clone()),
        ],
    );
    let port = free_port();
    let props = Worker::props(
        dir.path(),
        port,
        &plugins,
        &[
            ("bootstrap.servers", &bootstrap),
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
            ("ssl.endpoint.identification.algorithm", "https"),
            // Java needs the settings again for the task clients; the same values work here.
            ("producer.security.protocol", "SSL"),
            ("producer.ssl.truststore.type", "PEM"),
            ("producer.ssl.truststore.location", &ca),
        ],
    );
    let worker = Worker::start(dir.path(), &props, &[source, sink]);
    let got = wait_for(
        "3,000 lines in the sink file, through the TLS broker",
        Duration::from_secs(90),
        || {
            let text = std::fs::read_to_string(&output).unwrap_or_default();
            let got: Vec<String> = text.lines().map(str::to_owned).collect();
            (got.len() >= lines.len()).then_some(got)
        },
    );
    // The topic is auto-created with several partitions: each line once, in any order.
    let (mut got, mut want) = (got, lines.clone());
    got.sort();
    want.sort();
    assert_same_lines(&got, &want, "sink file: every line once");
    drop(worker);

    // Without the CA, the broker's certificate is not trusted: the task fails, nothing moves.
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let source = dir.path().join("src.properties");
    write_props(
        &source,
        &[
            ("name", "untrusted-src".into()),
            ("connector.class", "FileStreamSource".into()),
            ("file", input.display().to_string()),
            ("topic", unique("tls-untrusted")),
            ("producer.override.message.timeout.ms", "3000".into()),
        ],
    );
    let port = free_port();
    let props = Worker::props(
        dir.path(),
        port,
        &plugins,
        &[
            ("bootstrap.servers", &bootstrap),
            ("security.protocol", "SSL"),
        ],
    );
    let worker = Worker::start(dir.path(), &props, &[source]);
    let failed = worker.wait_task_state("untrusted-src", 0, "FAILED");
    assert!(
        failed.to_string().contains("Failed to produce"),
        "the trace says the records were not produced: {failed}"
    );
}

#[test]
fn a_three_worker_cluster_runs_over_tls_with_https_rest_and_basic_auth() {
    let (bootstrap, ca) = tls_broker();
    let pki = std::path::Path::new(&ca).parent().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let creds = dir.path().join("connect.password");
    std::fs::write(&creds, "alice=alice-secret\n").unwrap();
    let jaas = dir.path().join("connect_jaas.conf");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{ org.apache.kafka.connect.rest.basic.auth.extension.\
             PropertyFileLoginModule required file=\"{}\"; }};",
            creds.display()
        ),
    )
    .unwrap();
    let mut spec = ClusterSpec::new(dir.path(), &plugins);
    // The group member, the internal topics' clients and the task clients all go through
    // the TLS terminator, with a Java worker's settings. The REST API is HTTPS with client
    // certificates required and basic authentication, so forwarding to the leader and task
    // configs sent between workers go through both.
    spec.extra = vec![
        ("bootstrap.servers", bootstrap),
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.type", "PEM".into()),
        ("ssl.truststore.location", ca.clone()),
        ("consumer.session.timeout.ms", "6000".into()),
        // The sink may subscribe before the source's first record creates the topic: find
        // it within a second rather than at the next 5-minute metadata refresh.
        ("consumer.topic.metadata.refresh.interval.ms", "1000".into()),
        (
            "listeners.https.ssl.keystore.location",
            pki.join("server.p12").display().to_string(),
        ),
        ("listeners.https.ssl.keystore.password", "changeit".into()),
        ("listeners.https.ssl.truststore.location", ca.clone()),
        ("listeners.https.ssl.client.auth", "required".into()),
        (
            "rest.extension.classes",
            "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
                .into(),
        ),
        (
            "java.security.auth.login.config",
            jaas.display().to_string(),
        ),
    ];
    spec.rest = RestAccess {
        https: true,
        ca_pem: Some(std::fs::read(&ca).unwrap()),
        identity: Some((
            std::fs::read(pki.join("server.pem")).unwrap(),
            std::fs::read(pki.join("server.key")).unwrap(),
        )),
        basic: Some(("alice".into(), "alice-secret".into())),
    };
    let workers = spec.start(3);
    let lines = mixed_lines(1_000);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, file_text(&lines)).unwrap();
    let topic = unique("tls-dist");
    workers[0].create(
        "tls-dist-src",
        json!({"connector.class": "FileStreamSource", "file": input.display().to_string(),
               "topic": topic}),
    );
    workers[2].create(
        "tls-dist-sink",
        json!({"connector.class": "FileStreamSink", "file": output.display().to_string(),
               "topics": topic}),
    );
    let got = std::panic::catch_unwind(|| {
        wait_for(
            "1,000 lines in the sink file, through a cluster on the TLS broker",
            Duration::from_secs(120),
            || {
                let text = std::fs::read_to_string(&output).unwrap_or_default();
                let got: Vec<String> = text.lines().map(str::to_owned).collect();
                (got.len() >= lines.len()).then_some(got)
            },
        )
    })
    .unwrap_or_else(|e| {
        for w in &workers {
            eprintln!("--- worker {} ---\n{}", w.id(), w.log_text());
            eprintln!("{:?}", w.status("tls-dist-src"));
            eprintln!("{:?}", w.status("tls-dist-sink"));
        }
        std::panic::resume_unwind(e)
    });
    let (mut got, mut want) = (got, lines);
    got.sort();
    want.sort();
    assert_same_lines(&got, &want, "sink file: every line once");

    // Every worker answers with the same view, and only to authenticated clients.
    for w in &workers {
        assert!(w.status("tls-dist-src").is_some(), "{}", w.id());
        let anonymous = RestAccess {
            basic: None,
            ..w.rest.clone()
        };
        assert_eq!(
            anonymous.code("GET", &w.url("/connectors")),
            401,
            "{}",
            w.id()
        );
    }
}
