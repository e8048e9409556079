//! Raw record-batch reads for [`crate::storage::aborted::AbortedFilter`]: Metadata to find a
//! partition's leader, then Fetch (read-uncommitted, so transaction markers are included),
//! over the group member's own Kafka protocol client (same TLS and SASL settings).
//!
//! The filter runs on a log's reader thread, which is not a Tokio thread: each reader owns a
//! small current-thread runtime for these calls.

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::fetch_response::FetchResponse;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::metadata_response::MetadataResponse;
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::member::{BrokerConnection, MemberConfig};
use crate::storage::aborted::BatchSource;

/// Fetch v12 is the last version that names topics (v13 on uses topic ids).
const FETCH_MAX: i16 = 12;
const METADATA_MAX: i16 = 9;
/// Bytes one fetch asks for.
const FETCH_BYTES: i32 = 4 * 1024 * 1024;
const OFFSET_OUT_OF_RANGE: i16 = 1;

/// Reads record batches of one topic with raw Fetch requests.
pub struct RawBatchSource {
    config: MemberConfig,
    runtime: Option<tokio::runtime::Runtime>,
    /// Connections by broker address.
    connections: HashMap<String, BrokerConnection>,
    /// Partition → leader address, from the last Metadata answer.
    leaders: HashMap<i32, String>,
}

impl RawBatchSource {
    /// `config`: the worker's member settings (bootstrap servers, security, client id).
    pub fn new(config: MemberConfig) -> RawBatchSource {
        RawBatchSource {
            config,
            runtime: None,
            connections: HashMap::new(),
            leaders: HashMap::new(),
        }
    }

    fn runtime(&mut self) -> Result<&tokio::runtime::Runtime, String> {
        if self.runtime.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for raw fetches: {e}"))?;
            self.runtime = Some(rt);
        }
        self.runtime
            .as_ref()
            .ok_or_else(|| "no runtime for raw fetches".to_owned())
    }
}

/// A connection to `addr`, opened if needed.
async fn connection<'a>(
    connections: &'a mut HashMap<String, BrokerConnection>,
    addr: &str,
    config: &MemberConfig,
) -> Result<&'a mut BrokerConnection, String> {
    if !connections.contains_key(addr) {
        let c = BrokerConnection::open(addr, config)
            .await
            .map_err(|e| e.to_string())?;
        connections.insert(addr.to_owned(), c);
    }
    connections
        .get_mut(addr)
        .ok_or_else(|| format!("no connection to {addr}"))
}

async fn leaders(
    connections: &mut HashMap<String, BrokerConnection>,
    config: &MemberConfig,
    topic: &str,
) -> Result<HashMap<i32, String>, String> {
    let mut last = String::from("no bootstrap server");
    for addr in &config.bootstrap_servers {
        let conn = match connection(connections, addr, config).await {
            Ok(c) => c,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let version = conn
            .version(ApiKey::Metadata, METADATA_MAX)
            .map_err(|e| e.to_string())?;
        let request = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_string(topic.to_owned())),
            ))]))
            .with_allow_auto_topic_creation(false);
        let response: MetadataResponse = match conn
            .call(ApiKey::Metadata, version, &request, config.request_timeout)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                connections.remove(addr);
                last = e.to_string();
                continue;
            }
        };
        let brokers: HashMap<i32, String> = response
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        let mut out = HashMap::new();
        for t in response
            .topics
            .iter()
            .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        {
            for p in &t.partitions {
                if let Some(addr) = brokers.get(&p.leader_id.0) {
                    out.insert(p.partition_index, addr.clone());
                }
            }
        }
        return Ok(out);
    }
    Err(format!("cannot read the metadata of {topic}: {last}"))
}

async fn fetch(
    conn: &mut BrokerConnection,
    timeout: Duration,
    topic: &str,
    partition: i32,
    from: i64,
) -> Result<(i16, i64, Vec<u8>), String> {
    let version = conn
        .version(ApiKey::Fetch, FETCH_MAX)
        .map_err(|e| e.to_string())?;
    // The test broker answers a Fetch with max_wait_ms=0 with no partitions at all; a short
    // wait gets the data (and returns at once when there is some).
    let request = FetchRequest::default()
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(FETCH_BYTES)
        .with_isolation_level(0)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(from)
                .with_partition_max_bytes(FETCH_BYTES)])]);
    let response: FetchResponse = conn
        .call(ApiKey::Fetch, version, &request, timeout)
        .await
        .map_err(|e| e.to_string())?;
    if response.error_code != 0 {
        return Err(format!(
            "Fetch failed with error code {}",
            response.error_code
        ));
    }
    let data = response
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| format!("no data for {topic}-{partition} in the Fetch v{version} answer"))?;
    Ok((
        data.error_code,
        data.log_start_offset,
        data.records
            .as_ref()
            .map(|b| b.to_vec())
            .unwrap_or_default(),
    ))
}

impl BatchSource for RawBatchSource {
    fn fetch(&mut self, topic: &str, partition: i32, from: i64) -> Result<Vec<u8>, String> {
        self.runtime()?;
        let RawBatchSource {
            config,
            runtime,
            connections,
            leaders: known,
        } = self;
        let runtime = runtime
            .as_ref()
            .ok_or_else(|| "no runtime for raw fetches".to_owned())?;
        runtime.block_on(async {
            if !known.contains_key(&partition) {
                *known = leaders(connections, config, topic).await?;
            }
            let addr = known
                .get(&partition)
                .cloned()
                .ok_or_else(|| format!("no leader known for {topic}-{partition}"))?;
            let conn = match connection(connections, &addr, config).await {
                Ok(c) => c,
                Err(e) => {
                    known.clear();
                    return Err(e);
                }
            };
            let mut offset = from;
            for _ in 0..2 {
                match fetch(conn, config.request_timeout, topic, partition, offset).await {
                    Ok((0, _, bytes)) => return Ok(bytes),
                    // Compacted or deleted away: start at the log's start.
                    Ok((OFFSET_OUT_OF_RANGE, start, _)) if start > offset => offset = start,
                    Ok((code, _, _)) => {
                        known.clear();
                        return Err(format!(
                            "Fetch of {topic}-{partition} failed with error code {code}"
                        ));
                    }
                    Err(e) => {
                        connections.remove(&addr);
                        known.clear();
                        return Err(e);
                    }
                }
            }
            Ok(Vec::new())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    use rdkafka::ClientConfig;

    use super::*;
    use crate::coordination::member::Security;
    use crate::storage::kafka_log::{IsolationLevel, KafkaLog, KafkaLogOptions};
    use crate::storage::transactions;

    fn bootstrap() -> String {
        std::env::var("TRIBUTARY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".to_owned())
    }

    fn base() -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", bootstrap());
        c
    }

    fn unique(tag: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("batches-{tag}-{}-{nanos}", std::process::id())
    }

    fn member() -> MemberConfig {
        MemberConfig {
            bootstrap_servers: vec![bootstrap()],
            group_id: String::new(),
            client_id: "batches-test".into(),
            session_timeout_ms: 3000,
            rebalance_timeout_ms: 10000,
            request_timeout: Duration::from_secs(10),
            security: Security::default(),
        }
    }

    fn values(log: &mut KafkaLog) -> Vec<String> {
        log.read_to_end(Duration::from_secs(30))
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
            .collect()
    }

    /// Against the real broker: a transaction left open by a producer and aborted by the
    /// next producer with its id (as a kill -9'd exactly-once task and its next instance)
    /// does not reach a read-committed reader with the filter, whether or not the broker
    /// lists aborted transactions (the test broker does not).
    #[tokio::test(flavor = "multi_thread")]
    async fn a_read_committed_log_with_the_filter_skips_aborted_transactions() {
        let topic = unique("aborted");
        let admin: AdminClient<DefaultClientContext> = base().create().unwrap();
        admin
            .create_topics(
                [&NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            )
            .await
            .unwrap();
        let id = unique("txn");
        tokio::task::block_in_place(|| {
            let mut config = base();
            transactions::make_transactional(&mut config, &id);
            let p: ThreadedProducer<DefaultProducerContext> = config.create().unwrap();
            let timeout = Duration::from_secs(30);
            p.init_transactions(timeout).unwrap();
            let send = |value: &str| {
                p.send(BaseRecord::<[u8], str>::to(&topic).payload(value))
                    .map_err(|(e, _)| e)
                    .unwrap();
            };
            p.begin_transaction().unwrap();
            send("committed-1");
            transactions::commit_transaction(p.client(), timeout).unwrap();
            p.begin_transaction().unwrap();
            send("aborted-1");
            send("aborted-2");
            p.flush(timeout).unwrap();
            // The next instance's init aborts the open transaction.
            transactions::fence(&base(), &id, timeout).unwrap();
            let plain: ThreadedProducer<DefaultProducerContext> = base().create().unwrap();
            plain
                .send(BaseRecord::<[u8], str>::to(&topic).payload("plain"))
                .map_err(|(e, _)| e)
                .unwrap();
            plain.flush(timeout).unwrap();

            let options = || KafkaLogOptions {
                isolation_level: IsolationLevel::ReadCommitted,
                ..KafkaLogOptions::default()
            };
            let mut unfiltered = KafkaLog::open(&base(), &topic, options()).unwrap();
            let seen = values(&mut unfiltered);
            eprintln!("a read-committed reader without the filter reads {seen:?}");
            let mut filtered = KafkaLog::open(&base(), &topic, options()).unwrap();
            filtered.filter_aborted(Box::new(RawBatchSource::new(member())));
            assert_eq!(values(&mut filtered), ["committed-1", "plain"]);
        });
    }
}
