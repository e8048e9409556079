//! A Kafka classic-group-protocol member client (spec §7).
//!
//! Distributed workers join a Kafka group with protocol type `connect`
//! ([`CONNECT_PROTOCOL_TYPE`]). librdkafka only speaks the `consumer` protocol type, so the
//! worker talks to the group coordinator itself: [`GroupMember`] runs FindCoordinator, JoinGroup,
//! SyncGroup, Heartbeat and LeaveGroup over one TCP connection, encoding messages with the
//! `kafka-protocol` crate.
//!
//! * Versions: every connection sends ApiVersions first and uses, per API, the smaller of this
//!   client's maximum and the broker's maximum (see the `*_MAX` constants).
//! * Framing: 4-byte big-endian length prefix; one request in flight at a time; correlation ids
//!   are checked.
//! * Security: `PLAINTEXT`, `SSL`, and `SASL_PLAINTEXT` / `SASL_SSL` with `PLAIN`,
//!   `SCRAM-SHA-256` or `SCRAM-SHA-512` (SaslHandshake v1, then SaslAuthenticate rounds).
//! * Failures on the coordinator connection (I/O errors, timeouts, `NOT_COORDINATOR`,
//!   `COORDINATOR_NOT_AVAILABLE`, `COORDINATOR_LOAD_IN_PROGRESS`) drop the connection and yield
//!   [`MemberError::CoordinatorUnavailable`]; the next call re-discovers the coordinator.
//!   [`MemberError::Io`] means no bootstrap server could be reached to find the coordinator.
//!
//! The member never leaves the group on drop (that needs I/O): call [`GroupMember::leave`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::find_coordinator_response::FindCoordinatorResponse;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::heartbeat_response::HeartbeatResponse;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::join_group_response::JoinGroupResponse;
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::leave_group_response::LeaveGroupResponse;
use kafka_protocol::messages::sasl_authenticate_request::SaslAuthenticateRequest;
use kafka_protocol::messages::sasl_authenticate_response::SaslAuthenticateResponse;
use kafka_protocol::messages::sasl_handshake_request::SaslHandshakeRequest;
use kafka_protocol::messages::sasl_handshake_response::SaslHandshakeResponse;
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::sync_group_response::SyncGroupResponse;
use kafka_protocol::messages::{ApiKey, GroupId, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use super::oauthbearer;
use super::protocol::CONNECT_PROTOCOL_TYPE;
use super::scram::{Next, Scram};
pub use super::security::Security;
use super::security::{SaslCredentials, SaslMechanism, Stream};

// Highest version of each API this client speaks.
const API_VERSIONS_MAX: i16 = 3;
const FIND_COORDINATOR_MAX: i16 = 4;
const JOIN_GROUP_MAX: i16 = 7;
const SYNC_GROUP_MAX: i16 = 5;
const HEARTBEAT_MAX: i16 = 4;
const LEAVE_GROUP_MAX: i16 = 4;
const SASL_HANDSHAKE_MAX: i16 = 1;
const SASL_AUTHENTICATE_MAX: i16 = 2;

// Kafka error codes this client interprets.
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const UNSUPPORTED_VERSION: i16 = 35;
const MEMBER_ID_REQUIRED: i16 = 79;

/// Largest response frame accepted (a JoinGroup response of a large group stays far below).
const MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

/// How many MEMBER_ID_REQUIRED round trips one `join` tolerates.
const MAX_MEMBER_ID_ROUNDS: usize = 3;

/// How the member reaches the brokers.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// `host:port` entries.
    pub bootstrap_servers: Vec<String>,
    pub group_id: String,
    pub client_id: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// Timeout of ordinary requests; JoinGroup waits `rebalance_timeout_ms` + this.
    pub request_timeout: Duration,
    pub security: Security,
}

/// A connection to one broker for plain requests outside the group protocol (the raw Fetch
/// and Metadata requests of [`super::batches`]), with the member's security settings.
pub(crate) struct BrokerConnection(Connection);

impl BrokerConnection {
    /// Connects, negotiates versions and authenticates (`config`'s group fields are unused).
    pub(crate) async fn open(
        addr: &str,
        config: &MemberConfig,
    ) -> Result<BrokerConnection, MemberError> {
        Connection::open(addr, config).await.map(BrokerConnection)
    }

    /// The version to use for `key`: the smaller of `ours_max` and the broker's maximum.
    pub(crate) fn version(&self, key: ApiKey, ours_max: i16) -> Result<i16, MemberError> {
        self.0.pick(key, ours_max)
    }

    /// Sends one request and decodes its response; after an error, drop the connection.
    pub(crate) async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, MemberError> {
        self.0.call(key, version, request, timeout).await
    }
}

/// The result of a completed JoinGroup.
#[derive(Debug, Clone)]
pub struct JoinOutcome {
    pub generation: i32,
    pub member_id: String,
    pub leader_id: String,
    /// The sub-protocol the coordinator chose.
    pub protocol: String,
    /// (member id, metadata for the chosen protocol); non-empty only for the leader.
    pub members: Vec<(String, Vec<u8>)>,
}

/// Why a group request failed.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("rebalance in progress")]
    RebalanceInProgress,
    #[error("unknown member id")]
    UnknownMemberId,
    #[error("illegal generation")]
    IllegalGeneration,
    /// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, or the
    /// coordinator connection failed: the member dropped the connection and re-discovers the
    /// coordinator on the next call.
    #[error("coordinator unavailable: {0}")]
    CoordinatorUnavailable(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    /// No bootstrap server could be reached.
    #[error("i/o: {0}")]
    Io(String),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("kafka error {code} in {api}")]
    Kafka { api: &'static str, code: i16 },
}

fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(e) => format!("{e} ({code})"),
        None => "no error (0)".to_owned(),
    }
}

/// One broker connection: framing, correlation ids and version negotiation.
struct Connection {
    addr: String,
    stream: Box<dyn Stream>,
    client_id: StrBytes,
    next_correlation_id: i32,
    /// The broker's (min, max) version per API key.
    versions: HashMap<i16, (i16, i16)>,
}

impl Connection {
    /// Connects, negotiates versions and authenticates. Failures are `Io` (unreachable, timeout),
    /// `Protocol` or `Auth`.
    async fn open(addr: &str, config: &MemberConfig) -> Result<Connection, MemberError> {
        let timeout = config.request_timeout;
        let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(MemberError::Io(format!("cannot connect to {addr}: {e}"))),
            Err(_) => {
                return Err(MemberError::Io(format!(
                    "connecting to {addr} timed out after {timeout:?}"
                )))
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            debug!(%addr, error = %e, "cannot set TCP_NODELAY");
        }
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let stream = match tokio::time::timeout(timeout, config.security.wrap(host, tcp)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(MemberError::Io(format!("cannot connect to {addr}: {e}"))),
            Err(_) => {
                return Err(MemberError::Io(format!(
                    "the TLS handshake with {addr} timed out after {timeout:?}"
                )))
            }
        };
        let mut conn = Connection {
            addr: addr.to_owned(),
            stream,
            client_id: StrBytes::from_string(config.client_id.clone()),
            next_correlation_id: 0,
            versions: HashMap::new(),
        };
        conn.negotiate_versions(timeout).await?;
        if let Some(sasl) = &config.security.sasl {
            conn.authenticate(sasl, timeout).await?;
        }
        debug!(%addr, "connected to broker");
        Ok(conn)
    }

    /// ApiVersions: tries our highest version and falls back to v0 when the broker answers
    /// UNSUPPORTED_VERSION (which it does in the v0 layout, per KIP-511).
    async fn negotiate_versions(&mut self, timeout: Duration) -> Result<(), MemberError> {
        let mut version = API_VERSIONS_MAX;
        let response = loop {
            let request = if version >= 3 {
                ApiVersionsRequest::default()
                    .with_client_software_name(StrBytes::from_static_str("tributary"))
                    .with_client_software_version(StrBytes::from_static_str(env!(
                        "CARGO_PKG_VERSION"
                    )))
            } else {
                ApiVersionsRequest::default()
            };
            let mut body = self
                .roundtrip(ApiKey::ApiVersions, version, &request, timeout)
                .await?;
            let code = body
                .get(..2)
                .map(|b| i16::from_be_bytes([b[0], b[1]]))
                .unwrap_or(0);
            if code == UNSUPPORTED_VERSION && version > 0 {
                debug!(addr = %self.addr, version, "ApiVersions version unsupported; retrying with v0");
                version = 0;
                continue;
            }
            let response = ApiVersionsResponse::decode(&mut body, version).map_err(|e| {
                MemberError::Protocol(format!(
                    "cannot decode ApiVersions v{version} response from {}: {e}",
                    self.addr
                ))
            })?;
            break response;
        };
        if response.error_code != 0 {
            return Err(MemberError::Protocol(format!(
                "ApiVersions to {} failed: {}",
                self.addr,
                error_name(response.error_code)
            )));
        }
        self.versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(())
    }

    /// The version to use for `key`: the smaller of our maximum and the broker's.
    fn pick(&self, key: ApiKey, ours_max: i16) -> Result<i16, MemberError> {
        let ours_min = key.valid_versions().min;
        let Some(&(broker_min, broker_max)) = self.versions.get(&(key as i16)) else {
            return Err(MemberError::Protocol(format!(
                "broker {} does not support {key:?}",
                self.addr
            )));
        };
        let version = ours_max.min(broker_max);
        if version < broker_min || version < ours_min {
            return Err(MemberError::Protocol(format!(
                "no common {key:?} version with broker {}: it supports {broker_min}..={broker_max}, \
                 this client {ours_min}..={ours_max}",
                self.addr
            )));
        }
        Ok(version)
    }

    /// SASL: SaslHandshake v1 naming the mechanism, then SaslAuthenticate rounds: one carrying
    /// `\0user\0password` for PLAIN; for SCRAM, the client-first and client-final messages,
    /// the broker's final message checked by [`Scram`](super::scram::Scram).
    async fn authenticate(
        &mut self,
        sasl: &SaslCredentials,
        timeout: Duration,
    ) -> Result<(), MemberError> {
        let mechanism = sasl.mechanism.name();
        let username = sasl.username.as_str();
        // v0 handshakes carry raw SASL tokens instead of SaslAuthenticate; not supported.
        let handshake_version = self.pick(ApiKey::SaslHandshake, SASL_HANDSHAKE_MAX)?;
        if handshake_version < 1 {
            return Err(MemberError::Auth(format!(
                "broker {} only supports SaslHandshake v0",
                self.addr
            )));
        }
        let request =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_string(mechanism.into()));
        // Some brokers (Tansu) close the connection instead of answering
        // UNSUPPORTED_SASL_MECHANISM; say so in the error.
        let hint = |e: MemberError| match e {
            MemberError::Io(m) => MemberError::Io(format!(
                "{m} (during the SASL/{mechanism} handshake; a broker that closes the connection \
                 here usually does not enable {mechanism})"
            )),
            other => other,
        };
        let response: SaslHandshakeResponse = self
            .call(ApiKey::SaslHandshake, handshake_version, &request, timeout)
            .await
            .map_err(hint)?;
        match response.error_code {
            0 => {}
            UNSUPPORTED_SASL_MECHANISM => {
                let enabled: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
                return Err(MemberError::Auth(format!(
                    "broker {} does not enable SASL mechanism {mechanism} (enabled: {})",
                    self.addr,
                    enabled.join(", ")
                )));
            }
            code => {
                return Err(MemberError::Auth(format!(
                    "SaslHandshake with {} failed: {}",
                    self.addr,
                    error_name(code)
                )))
            }
        }

        let failed = |addr: &str, detail: String| {
            MemberError::Auth(format!(
                "SASL/{mechanism} authentication of {username} with {addr} failed: {detail}"
            ))
        };
        if sasl.mechanism == SaslMechanism::OAuthBearer {
            let token = oauthbearer::fetch_token(sasl)
                .await
                .map_err(|e| failed(&self.addr, e))?;
            let login = sasl
                .oidc
                .as_ref()
                .ok_or_else(|| failed(&self.addr, "no token endpoint".into()))?;
            let message =
                oauthbearer::initial_response(&token, login).map_err(|e| failed(&self.addr, e))?;
            self.sasl_round(Bytes::from(message), timeout).await?;
        } else if sasl.mechanism == SaslMechanism::Plain {
            let mut token = BytesMut::with_capacity(2 + username.len() + sasl.password.len());
            token.put_u8(0);
            token.put_slice(username.as_bytes());
            token.put_u8(0);
            token.put_slice(sasl.password.as_bytes());
            self.sasl_round(token.freeze(), timeout).await?;
        } else {
            let mut scram = Scram::start(sasl.mechanism, username, &sasl.password)
                .map_err(|e| failed(&self.addr, e))?;
            let mut answer: Option<Bytes> = None;
            // Client-first, client-final, then the broker's final message to check.
            for _ in 0..3 {
                match scram
                    .step(answer.as_deref())
                    .map_err(|e| failed(&self.addr, e))?
                {
                    Next::Send(bytes) => {
                        answer = Some(self.sasl_round(Bytes::from(bytes), timeout).await?);
                    }
                    Next::Done => {
                        debug!(addr = %self.addr, %username, mechanism, "authenticated");
                        return Ok(());
                    }
                }
            }
            return Err(failed(
                &self.addr,
                "the exchange did not end after the broker's final message".into(),
            ));
        }
        debug!(addr = %self.addr, %username, mechanism, "authenticated");
        Ok(())
    }

    /// One SaslAuthenticate round: sends `token`, returns the broker's answer bytes.
    async fn sasl_round(&mut self, token: Bytes, timeout: Duration) -> Result<Bytes, MemberError> {
        let version = self.pick(ApiKey::SaslAuthenticate, SASL_AUTHENTICATE_MAX)?;
        let request = SaslAuthenticateRequest::default().with_auth_bytes(token);
        let response: SaslAuthenticateResponse = self
            .call(ApiKey::SaslAuthenticate, version, &request, timeout)
            .await?;
        if response.error_code != 0 {
            let detail = response
                .error_message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Err(MemberError::Auth(format!(
                "SASL authentication with {} failed: {}{detail}",
                self.addr,
                error_name(response.error_code)
            )));
        }
        Ok(response.auth_bytes)
    }

    /// Sends one request and decodes its response.
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, MemberError> {
        let mut body = self.roundtrip(key, version, request, timeout).await?;
        Resp::decode(&mut body, version).map_err(|e| {
            MemberError::Protocol(format!(
                "cannot decode {key:?} v{version} response from {}: {e}",
                self.addr
            ))
        })
    }

    /// Writes one framed request and reads its framed response; returns the response body
    /// after the (checked) response header. I/O failures and timeouts are `Io`; after any error
    /// the connection must be dropped (the stream may be out of step).
    async fn roundtrip<Req: Encodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Bytes, MemberError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let encode_error = |e: anyhow::Error| {
            MemberError::Protocol(format!("cannot encode {key:?} v{version} request: {e}"))
        };
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        header
            .encode(&mut frame, key.request_header_version(version))
            .map_err(encode_error)?;
        request.encode(&mut frame, version).map_err(encode_error)?;
        let length = i32::try_from(frame.len() - 4)
            .map_err(|_| MemberError::Protocol(format!("{key:?} request too large")))?;
        frame[..4].copy_from_slice(&length.to_be_bytes());

        let addr = &self.addr;
        let stream = &mut self.stream;
        let exchange = async {
            stream.write_all(&frame).await.map_err(|e| {
                MemberError::Io(format!("writing {key:?} request to {addr} failed: {e}"))
            })?;
            let read_error = |e: std::io::Error| {
                MemberError::Io(format!("reading {key:?} response from {addr} failed: {e}"))
            };
            let length = stream.read_i32().await.map_err(read_error)?;
            let length = usize::try_from(length).unwrap_or(usize::MAX);
            if !(4..=MAX_FRAME_BYTES).contains(&length) {
                return Err(MemberError::Protocol(format!(
                    "{key:?} response from {addr} has invalid frame length {length}"
                )));
            }
            let mut body = vec![0u8; length];
            stream.read_exact(&mut body).await.map_err(read_error)?;
            Ok(body)
        };
        let body = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(MemberError::Io(format!(
                    "{key:?} request to {addr} timed out after {timeout:?}"
                )))
            }
        };
        let mut body = Bytes::from(body);
        let response_header =
            ResponseHeader::decode(&mut body, key.response_header_version(version)).map_err(
                |e| {
                    MemberError::Protocol(format!(
                        "cannot decode {key:?} response header from {addr}: {e}"
                    ))
                },
            )?;
        if response_header.correlation_id != correlation_id {
            return Err(MemberError::Protocol(format!(
                "{key:?} response from {addr} has correlation id {}, expected {correlation_id}",
                response_header.correlation_id
            )));
        }
        Ok(body)
    }
}

/// A member of one Kafka group with protocol type `connect`.
pub struct GroupMember {
    config: MemberConfig,
    member_id: String,
    generation: i32,
    /// The sub-protocol chosen in the current generation (SyncGroup v5 repeats it).
    protocol: Option<String>,
    coordinator: Option<Connection>,
}

impl fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupMember")
            .field("group_id", &self.config.group_id)
            .field("member_id", &self.member_id)
            .field("generation", &self.generation)
            .field(
                "coordinator",
                &self.coordinator.as_ref().map(|c| c.addr.as_str()),
            )
            .finish()
    }
}

impl GroupMember {
    /// A member that has not joined yet. Does no I/O.
    pub fn new(config: MemberConfig) -> GroupMember {
        GroupMember {
            config,
            member_id: String::new(),
            generation: -1,
            protocol: None,
            coordinator: None,
        }
    }

    /// The member id the coordinator assigned; `""` before the first join.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The current generation; -1 before the first join.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// JoinGroup with protocol type `connect` and the given `(name, metadata)` sub-protocols in
    /// preference order. Discovers and connects to the coordinator first when needed. Handles
    /// MEMBER_ID_REQUIRED by rejoining with the id the coordinator returned. On
    /// UNKNOWN_MEMBER_ID the member id is reset to `""` and the error returned (rejoin).
    pub async fn join(
        &mut self,
        protocols: &[(String, Vec<u8>)],
    ) -> Result<JoinOutcome, MemberError> {
        if protocols.is_empty() {
            return Err(MemberError::Protocol(
                "JoinGroup needs at least one protocol".to_owned(),
            ));
        }
        let timeout =
            Duration::from_millis(u64::try_from(self.config.rebalance_timeout_ms).unwrap_or(0))
                + self.config.request_timeout;
        for _ in 0..MAX_MEMBER_ID_ROUNDS {
            let group_id = self.group_id();
            let member_id = StrBytes::from_string(self.member_id.clone());
            let session_timeout_ms = self.config.session_timeout_ms;
            let rebalance_timeout_ms = self.config.rebalance_timeout_ms;
            let request_protocols: Vec<JoinGroupRequestProtocol> = protocols
                .iter()
                .map(|(name, metadata)| {
                    JoinGroupRequestProtocol::default()
                        .with_name(StrBytes::from_string(name.clone()))
                        .with_metadata(Bytes::copy_from_slice(metadata))
                })
                .collect();
            let (version, response): (i16, JoinGroupResponse) = self
                .coordinator_call(ApiKey::JoinGroup, JOIN_GROUP_MAX, timeout, |version| {
                    let mut request = JoinGroupRequest::default()
                        .with_group_id(group_id)
                        .with_session_timeout_ms(session_timeout_ms)
                        .with_member_id(member_id)
                        .with_protocol_type(StrBytes::from_static_str(CONNECT_PROTOCOL_TYPE))
                        .with_protocols(request_protocols);
                    if version >= 1 {
                        request = request.with_rebalance_timeout_ms(rebalance_timeout_ms);
                    }
                    request
                })
                .await?;
            match response.error_code {
                0 => {
                    let protocol = response
                        .protocol_name
                        .as_ref()
                        .map(|p| p.to_string())
                        .filter(|p| !p.is_empty())
                        .ok_or_else(|| {
                            MemberError::Protocol(
                                "JoinGroup succeeded without a protocol name".to_owned(),
                            )
                        })?;
                    self.member_id = response.member_id.to_string();
                    self.generation = response.generation_id;
                    self.protocol = Some(protocol.clone());
                    let outcome = JoinOutcome {
                        generation: response.generation_id,
                        member_id: self.member_id.clone(),
                        leader_id: response.leader.to_string(),
                        protocol,
                        members: response
                            .members
                            .iter()
                            .map(|m| (m.member_id.to_string(), m.metadata.to_vec()))
                            .collect(),
                    };
                    debug!(
                        group = %self.config.group_id,
                        version,
                        generation = outcome.generation,
                        member_id = %outcome.member_id,
                        leader = %outcome.leader_id,
                        protocol = %outcome.protocol,
                        members = outcome.members.len(),
                        "joined group"
                    );
                    return Ok(outcome);
                }
                MEMBER_ID_REQUIRED => {
                    self.member_id = response.member_id.to_string();
                    debug!(
                        group = %self.config.group_id,
                        member_id = %self.member_id,
                        "coordinator requires a member id; rejoining with it"
                    );
                }
                code => return Err(self.group_error("JoinGroup", code)),
            }
        }
        Err(MemberError::Protocol(format!(
            "coordinator answered MEMBER_ID_REQUIRED {MAX_MEMBER_ID_ROUNDS} times in a row"
        )))
    }

    /// SyncGroup for the current generation. The leader passes every member's assignment,
    /// followers an empty slice. Returns this member's assignment (may be empty).
    /// Without a member id (never joined, or reset) returns `UnknownMemberId` without I/O.
    pub async fn sync(
        &mut self,
        assignments: &[(String, Vec<u8>)],
    ) -> Result<Vec<u8>, MemberError> {
        if self.member_id.is_empty() {
            return Err(MemberError::UnknownMemberId);
        }
        let group_id = self.group_id();
        let member_id = StrBytes::from_string(self.member_id.clone());
        let generation = self.generation;
        let protocol = self.protocol.clone().map(StrBytes::from_string);
        let request_assignments: Vec<SyncGroupRequestAssignment> = assignments
            .iter()
            .map(|(member, assignment)| {
                SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member.clone()))
                    .with_assignment(Bytes::copy_from_slice(assignment))
            })
            .collect();
        let timeout = self.config.request_timeout;
        let (_, response): (i16, SyncGroupResponse) = self
            .coordinator_call(ApiKey::SyncGroup, SYNC_GROUP_MAX, timeout, |version| {
                let mut request = SyncGroupRequest::default()
                    .with_group_id(group_id)
                    .with_generation_id(generation)
                    .with_member_id(member_id)
                    .with_assignments(request_assignments);
                if version >= 5 {
                    request = request
                        .with_protocol_type(Some(StrBytes::from_static_str(CONNECT_PROTOCOL_TYPE)))
                        .with_protocol_name(protocol);
                }
                request
            })
            .await?;
        match response.error_code {
            0 => {
                debug!(
                    group = %self.config.group_id,
                    generation,
                    bytes = response.assignment.len(),
                    "synced group"
                );
                Ok(response.assignment.to_vec())
            }
            code => Err(self.group_error("SyncGroup", code)),
        }
    }

    /// Heartbeat for the current generation: REBALANCE_IN_PROGRESS → `RebalanceInProgress`,
    /// UNKNOWN_MEMBER_ID → `UnknownMemberId` (member id reset), ILLEGAL_GENERATION →
    /// `IllegalGeneration`. Without a member id returns `UnknownMemberId` without I/O.
    pub async fn heartbeat(&mut self) -> Result<(), MemberError> {
        if self.member_id.is_empty() {
            return Err(MemberError::UnknownMemberId);
        }
        let group_id = self.group_id();
        let member_id = StrBytes::from_string(self.member_id.clone());
        let generation = self.generation;
        let timeout = self.config.request_timeout;
        let (_, response): (i16, HeartbeatResponse) = self
            .coordinator_call(ApiKey::Heartbeat, HEARTBEAT_MAX, timeout, |_| {
                HeartbeatRequest::default()
                    .with_group_id(group_id)
                    .with_generation_id(generation)
                    .with_member_id(member_id)
            })
            .await?;
        match response.error_code {
            0 => Ok(()),
            code => Err(self.group_error("Heartbeat", code)),
        }
    }

    /// LeaveGroup, best effort: whatever the outcome the member id and generation are reset
    /// afterwards (the error, if any, is still returned). UNKNOWN_MEMBER_ID counts as left.
    /// A no-op without a member id.
    pub async fn leave(&mut self) -> Result<(), MemberError> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let result = self.send_leave().await;
        debug!(
            group = %self.config.group_id,
            member_id = %self.member_id,
            ok = result.is_ok(),
            "left group"
        );
        self.reset_membership();
        result
    }

    async fn send_leave(&mut self) -> Result<(), MemberError> {
        let group_id = self.group_id();
        let member_id = StrBytes::from_string(self.member_id.clone());
        let timeout = self.config.request_timeout;
        let (_, response): (i16, LeaveGroupResponse) = self
            .coordinator_call(ApiKey::LeaveGroup, LEAVE_GROUP_MAX, timeout, |version| {
                let request = LeaveGroupRequest::default().with_group_id(group_id);
                if version >= 3 {
                    request.with_members(vec![MemberIdentity::default().with_member_id(member_id)])
                } else {
                    request.with_member_id(member_id)
                }
            })
            .await?;
        let code = match response.error_code {
            0 => response
                .members
                .iter()
                .map(|m| m.error_code)
                .find(|&c| c != 0)
                .unwrap_or(0),
            code => code,
        };
        match code {
            0 | UNKNOWN_MEMBER_ID => Ok(()),
            code => Err(self.group_error("LeaveGroup", code)),
        }
    }

    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.config.group_id.clone()))
    }

    fn reset_membership(&mut self) {
        self.member_id.clear();
        self.generation = -1;
        self.protocol = None;
    }

    /// Maps a group API error code, updating the member's state as the code requires.
    fn group_error(&mut self, api: &'static str, code: i16) -> MemberError {
        debug!(group = %self.config.group_id, api, error = %error_name(code), "group request failed");
        match code {
            COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR => {
                self.coordinator = None;
                MemberError::CoordinatorUnavailable(format!("{api}: {}", error_name(code)))
            }
            UNKNOWN_MEMBER_ID => {
                self.reset_membership();
                MemberError::UnknownMemberId
            }
            ILLEGAL_GENERATION => MemberError::IllegalGeneration,
            REBALANCE_IN_PROGRESS => MemberError::RebalanceInProgress,
            code => MemberError::Kafka { api, code },
        }
    }

    /// Sends a request to the coordinator (discovering and connecting first when needed) with
    /// the negotiated version; `build` makes the request for that version. Connection failures
    /// drop the connection and become `CoordinatorUnavailable`.
    async fn coordinator_call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        ours_max: i16,
        timeout: Duration,
        build: impl FnOnce(i16) -> Req,
    ) -> Result<(i16, Resp), MemberError> {
        if self.coordinator.is_none() {
            self.coordinator = Some(self.discover().await?);
        }
        let Some(conn) = self.coordinator.as_mut() else {
            return Err(MemberError::CoordinatorUnavailable(
                "no coordinator connection".to_owned(),
            ));
        };
        let version = conn.pick(key, ours_max)?;
        let request = build(version);
        match conn.call(key, version, &request, timeout).await {
            Ok(response) => Ok((version, response)),
            Err(e) => {
                let addr = conn.addr.clone();
                self.coordinator = None;
                debug!(%addr, error = %e, "dropped coordinator connection");
                Err(match e {
                    MemberError::Io(m) => MemberError::CoordinatorUnavailable(format!(
                        "connection to coordinator {addr} lost: {m}"
                    )),
                    other => other,
                })
            }
        }
    }

    /// Finds the group coordinator through the bootstrap servers (in order) and connects to it.
    async fn discover(&self) -> Result<Connection, MemberError> {
        let mut failures = Vec::new();
        let mut coordinator_unavailable = false;
        for addr in self
            .config
            .bootstrap_servers
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            match self.find_coordinator_via(addr).await {
                Ok(conn) => return Ok(conn),
                Err(e @ MemberError::Auth(_)) => return Err(e),
                Err(e) => {
                    debug!(%addr, error = %e, "coordinator discovery failed");
                    coordinator_unavailable |= matches!(e, MemberError::CoordinatorUnavailable(_));
                    failures.push(format!("{addr}: {e}"));
                }
            }
        }
        if failures.is_empty() {
            return Err(MemberError::Io(
                "no bootstrap servers configured".to_owned(),
            ));
        }
        let message = failures.join("; ");
        Err(if coordinator_unavailable {
            MemberError::CoordinatorUnavailable(message)
        } else {
            MemberError::Io(message)
        })
    }

    async fn find_coordinator_via(&self, addr: &str) -> Result<Connection, MemberError> {
        let group = &self.config.group_id;
        let timeout = self.config.request_timeout;
        let mut bootstrap = Connection::open(addr, &self.config).await?;
        let version = bootstrap.pick(ApiKey::FindCoordinator, FIND_COORDINATOR_MAX)?;
        let (code, message, host, port) = if version >= 4 {
            let request = FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_coordinator_keys(vec![StrBytes::from_string(group.clone())]);
            let response: FindCoordinatorResponse = bootstrap
                .call(ApiKey::FindCoordinator, version, &request, timeout)
                .await?;
            let coordinator = response
                .coordinators
                .into_iter()
                .find(|c| c.key.as_str() == group)
                .ok_or_else(|| {
                    MemberError::Protocol(format!(
                        "FindCoordinator response from {addr} does not mention group {group}"
                    ))
                })?;
            (
                coordinator.error_code,
                coordinator.error_message,
                coordinator.host,
                coordinator.port,
            )
        } else {
            let mut request =
                FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.clone()));
            if version >= 1 {
                request = request.with_key_type(0);
            }
            let response: FindCoordinatorResponse = bootstrap
                .call(ApiKey::FindCoordinator, version, &request, timeout)
                .await?;
            (
                response.error_code,
                response.error_message,
                response.host,
                response.port,
            )
        };
        if code != 0 {
            let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
            return Err(match code {
                COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR => {
                    MemberError::CoordinatorUnavailable(format!(
                        "FindCoordinator via {addr}: {}{detail}",
                        error_name(code)
                    ))
                }
                code => MemberError::Kafka {
                    api: "FindCoordinator",
                    code,
                },
            });
        }
        let coordinator = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        debug!(group = %group, via = %addr, %coordinator, version, "found group coordinator");
        if coordinator == bootstrap.addr {
            return Ok(bootstrap);
        }
        drop(bootstrap);
        Connection::open(&coordinator, &self.config)
            .await
            .map_err(|e| match e {
                MemberError::Io(m) => MemberError::CoordinatorUnavailable(format!(
                    "cannot reach coordinator {coordinator}: {m}"
                )),
                other => other,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    use tokio::net::TcpListener;

    fn sasl(username: &str, password: &str) -> Security {
        Security {
            tls: None,
            sasl: Some(super::super::security::SaslCredentials {
                mechanism: super::super::security::SaslMechanism::Plain,
                username: username.to_owned(),
                password: password.to_owned(),
                oidc: None,
            }),
        }
    }

    // ---------------------------------------------------------------------------------------
    // SASL/PLAIN against a scripted fake broker.
    //
    // Tansu 0.6 (the test broker) only offers SCRAM-SHA-256/512 with `--authentication`: a
    // SaslHandshake for PLAIN makes it log `NoSharedMechanism` and close the connection. So the
    // PLAIN exchange is tested here against a fake broker that hand-encodes the few responses
    // involved (non-flexible versions only), which also covers the ApiVersions v0 fallback.
    // ---------------------------------------------------------------------------------------

    #[derive(Debug, Default)]
    struct FakeLog {
        requests: Vec<(i16, i16)>,
        mechanism: Option<String>,
        auth_bytes: Option<Vec<u8>>,
    }

    fn put_string(buf: &mut BytesMut, s: &str) {
        buf.put_i16(s.len() as i16);
        buf.put_slice(s.as_bytes());
    }

    fn take_string(buf: &mut Bytes) -> String {
        let len = i16::from_be_bytes([buf[0], buf[1]]) as usize;
        let s = String::from_utf8(buf[2..2 + len].to_vec()).unwrap();
        *buf = buf.slice(2 + len..);
        s
    }

    /// How the fake broker authenticates.
    #[derive(Clone, Copy)]
    enum FakeAuth {
        /// SASL/PLAIN, accepting this password.
        Plain(&'static str),
        /// SCRAM with this mechanism and password (salt `salt-of-alice`, 4096 iterations);
        /// `forge` sends a wrong final signature, as a broker that does not know the password.
        Scram(SaslMechanism, &'static str, bool),
        /// OAUTHBEARER, accepting this exact initial response (RFC 7628).
        Bearer(&'static str),
    }

    /// The SCRAM client proof and server signature for `auth_message` (RFC 5802 §3), computed
    /// here with the hash primitives to check the client independently of its library.
    fn scram_proof<D>(
        password: &str,
        salt: &[u8],
        iterations: u32,
        auth_message: &str,
    ) -> (Vec<u8>, Vec<u8>)
    where
        D: sha2::Digest + hmac::digest::core_api::BlockSizeUser + Clone + Sync,
    {
        use hmac::{Mac, SimpleHmac};
        let mut salted = vec![0u8; <D as sha2::Digest>::output_size()];
        pbkdf2::pbkdf2::<SimpleHmac<D>>(password.as_bytes(), salt, iterations, &mut salted)
            .unwrap();
        let hmac = |key: &[u8], data: &[u8]| {
            let mut mac = <SimpleHmac<D> as Mac>::new_from_slice(key).unwrap();
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        };
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = D::digest(&client_key).to_vec();
        let client_signature = hmac(&stored_key, auth_message.as_bytes());
        let proof = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(&salted, b"Server Key");
        (proof, hmac(&server_key, auth_message.as_bytes()))
    }

    fn scram_proof_for(
        mechanism: SaslMechanism,
        password: &str,
        salt: &[u8],
        iterations: u32,
        auth_message: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        match mechanism {
            SaslMechanism::ScramSha512 => {
                scram_proof::<sha2::Sha512>(password, salt, iterations, auth_message)
            }
            _ => scram_proof::<sha2::Sha256>(password, salt, iterations, auth_message),
        }
    }

    #[test]
    fn the_test_scram_verifier_reproduces_rfc_7677() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        // RFC 7677 §3: user "user", password "pencil".
        let client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                            s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final_bare = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let auth = format!("{client_first_bare},{server_first},{client_final_bare}");
        let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let (proof, signature) = scram_proof::<sha2::Sha256>("pencil", &salt, 4096, &auth);
        assert_eq!(
            b64.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            b64.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    /// Serves one connection: ApiVersions (answers v3 with UNSUPPORTED_VERSION), SaslHandshake
    /// v1, SaslAuthenticate v0 (accepting only `good_password`), FindCoordinator v0 (pointing
    /// at itself).
    async fn fake_broker(good_password: &'static str) -> (String, Arc<Mutex<FakeLog>>) {
        fake_broker_with(FakeAuth::Plain(good_password)).await
    }

    /// [`fake_broker`] with the given authentication; SCRAM takes two SaslAuthenticate rounds.
    async fn fake_broker_with(auth: FakeAuth) -> (String, Arc<Mutex<FakeLog>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(FakeLog::default()));
        let served = log.clone();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            // SCRAM: the client-first-bare and server-first messages of the exchange.
            let mut scram_first: Option<(String, String)> = None;
            loop {
                let Ok(len) = stream.read_i32().await else {
                    return;
                };
                let mut frame = vec![0u8; len as usize];
                stream.read_exact(&mut frame).await.unwrap();
                let mut frame = Bytes::from(frame);
                let key = i16::from_be_bytes([frame[0], frame[1]]);
                let version = i16::from_be_bytes([frame[2], frame[3]]);
                let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                frame = frame.slice(8..);
                let _client_id = take_string(&mut frame);
                served.lock().unwrap().requests.push((key, version));
                let mut out = BytesMut::new();
                out.put_i32(correlation_id);
                let mut close = false;
                match (key, version) {
                    (18, v) if v > 0 => {
                        out.put_i16(UNSUPPORTED_VERSION);
                        out.put_i32(1);
                        out.put_slice(&[0, 18, 0, 0, 0, 0]);
                    }
                    (18, 0) => {
                        out.put_i16(0);
                        let keys: [(i16, i16, i16); 4] =
                            [(18, 0, 0), (17, 0, 1), (36, 0, 0), (10, 0, 0)];
                        out.put_i32(keys.len() as i32);
                        for (k, min, max) in keys {
                            out.put_i16(k);
                            out.put_i16(min);
                            out.put_i16(max);
                        }
                    }
                    (17, 1) => {
                        served.lock().unwrap().mechanism = Some(take_string(&mut frame));
                        out.put_i16(0);
                        out.put_i32(1);
                        let name = match auth {
                            FakeAuth::Plain(_) => "PLAIN",
                            FakeAuth::Scram(m, _, _) => m.name(),
                            FakeAuth::Bearer(_) => "OAUTHBEARER",
                        };
                        put_string(&mut out, name);
                    }
                    (36, 0) => {
                        let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                        let token = frame[4..4 + len as usize].to_vec();
                        served.lock().unwrap().auth_bytes = Some(token.clone());
                        let answer: Result<Vec<u8>, ()> = match auth {
                            FakeAuth::Bearer(expected) => {
                                if token == expected.as_bytes() {
                                    Ok(Vec::new())
                                } else {
                                    Err(())
                                }
                            }
                            FakeAuth::Plain(good) => {
                                if token.ends_with(format!("\0{good}").as_bytes()) {
                                    Ok(Vec::new())
                                } else {
                                    Err(())
                                }
                            }
                            FakeAuth::Scram(mechanism, password, forge) => {
                                let text = String::from_utf8(token).unwrap();
                                match scram_first.take() {
                                    None => {
                                        // Client-first: "n,,n=alice,r=<nonce>".
                                        let bare = text.strip_prefix("n,,").unwrap().to_owned();
                                        let nonce = bare.split(",r=").nth(1).unwrap();
                                        let server_first = format!(
                                            "r={nonce}srv-nonce,s={},i=4096",
                                            base64::Engine::encode(
                                                &base64::engine::general_purpose::STANDARD,
                                                b"salt-of-alice"
                                            )
                                        );
                                        scram_first = Some((bare, server_first.clone()));
                                        Ok(server_first.into_bytes())
                                    }
                                    Some((bare, server_first)) => {
                                        // Client-final: "c=biws,r=<nonce>,p=<proof>".
                                        let (without_proof, proof) =
                                            text.rsplit_once(",p=").unwrap();
                                        let auth_message =
                                            format!("{bare},{server_first},{without_proof}");
                                        let (want, signature) = scram_proof_for(
                                            mechanism,
                                            password,
                                            b"salt-of-alice",
                                            4096,
                                            &auth_message,
                                        );
                                        let b64 = base64::engine::general_purpose::STANDARD;
                                        if base64::Engine::encode(&b64, want) != proof {
                                            Err(())
                                        } else {
                                            let mut signature = signature;
                                            if forge {
                                                signature[0] ^= 1;
                                            }
                                            Ok(format!(
                                                "v={}",
                                                base64::Engine::encode(&b64, signature)
                                            )
                                            .into_bytes())
                                        }
                                    }
                                }
                            }
                        };
                        match answer {
                            Ok(bytes) => {
                                out.put_i16(0);
                                out.put_i16(-1);
                                out.put_i32(bytes.len() as i32);
                                out.put_slice(&bytes);
                            }
                            Err(()) => {
                                out.put_i16(58);
                                put_string(&mut out, "Invalid username or password");
                                out.put_i32(0);
                                close = true;
                            }
                        }
                    }
                    (10, 0) => {
                        out.put_i16(0);
                        out.put_i32(1);
                        put_string(&mut out, "127.0.0.1");
                        out.put_i32(i32::from(addr.port()));
                    }
                    _ => return,
                }
                stream.write_i32(out.len() as i32).await.unwrap();
                stream.write_all(&out).await.unwrap();
                if close {
                    return;
                }
            }
        });
        (addr.to_string(), log)
    }

    fn sasl_config(bootstrap: String, password: &str) -> MemberConfig {
        MemberConfig {
            bootstrap_servers: vec![bootstrap],
            group_id: "fake-group".to_owned(),
            client_id: "member-test".to_owned(),
            session_timeout_ms: 6000,
            rebalance_timeout_ms: 6000,
            request_timeout: Duration::from_secs(5),
            security: sasl("alice", password),
        }
    }

    #[tokio::test]
    async fn sasl_plain_authenticates_before_finding_the_coordinator() {
        let (addr, log) = fake_broker("good").await;
        let member = GroupMember::new(sasl_config(addr.clone(), "good"));
        let conn = member.discover().await.expect("discover");
        assert_eq!(conn.addr, addr);
        let log = log.lock().unwrap();
        assert_eq!(
            log.requests,
            vec![(18, 3), (18, 0), (17, 1), (36, 0), (10, 0)]
        );
        assert_eq!(log.mechanism.as_deref(), Some("PLAIN"));
        assert_eq!(log.auth_bytes.as_deref(), Some(&b"\0alice\0good"[..]));
    }

    #[tokio::test]
    async fn sasl_plain_wrong_password_is_an_auth_error() {
        let (addr, log) = fake_broker("good").await;
        let member = GroupMember::new(sasl_config(addr, "bad"));
        match member.discover().await {
            Err(MemberError::Auth(message)) => {
                assert!(
                    message.contains("Invalid username or password"),
                    "{message}"
                )
            }
            other => panic!("expected an auth error, got {:?}", other.map(|c| c.addr)),
        }
        assert_eq!(log.lock().unwrap().requests.last(), Some(&(36, 0)));
    }

    fn scram_config(addr: String, mechanism: SaslMechanism, password: &str) -> MemberConfig {
        let mut config = sasl_config(addr, password);
        if let Some(sasl) = config.security.sasl.as_mut() {
            sasl.mechanism = mechanism;
        }
        config
    }

    #[tokio::test]
    async fn sasl_scram_logs_in_and_checks_the_brokers_signature() {
        for mechanism in [SaslMechanism::ScramSha256, SaslMechanism::ScramSha512] {
            // The right password: two SaslAuthenticate rounds, then FindCoordinator.
            let (addr, log) = fake_broker_with(FakeAuth::Scram(mechanism, "good", false)).await;
            let member = GroupMember::new(scram_config(addr.clone(), mechanism, "good"));
            let conn = member.discover().await.expect("SCRAM login");
            assert_eq!(conn.addr, addr);
            let log = log.lock().unwrap().requests.clone();
            assert_eq!(
                log,
                vec![(18, 3), (18, 0), (17, 1), (36, 0), (36, 0), (10, 0)]
            );

            // A wrong password: the broker refuses the proof.
            let (addr, _) = fake_broker_with(FakeAuth::Scram(mechanism, "good", false)).await;
            let member = GroupMember::new(scram_config(addr, mechanism, "bad"));
            match member.discover().await {
                Err(MemberError::Auth(m)) => assert!(m.contains("Invalid username"), "{m}"),
                other => panic!("expected an auth error, got {:?}", other.map(|c| c.addr)),
            }

            // A broker whose final signature is wrong (it does not know the password): the
            // client refuses it.
            let (addr, _) = fake_broker_with(FakeAuth::Scram(mechanism, "good", true)).await;
            let member = GroupMember::new(scram_config(addr, mechanism, "good"));
            match member.discover().await {
                Err(MemberError::Auth(m)) => assert!(m.contains(mechanism.name()), "{m}"),
                other => panic!("expected an auth error, got {:?}", other.map(|c| c.addr)),
            }
        }
    }

    /// A token endpoint in the test process: answers `token` to the client `tributary` with
    /// secret `s3cret`, 401 otherwise; records each form body.
    async fn token_endpoint(token: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
        use axum::response::IntoResponse;
        let forms = Arc::new(Mutex::new(Vec::new()));
        let seen = forms.clone();
        let app = axum::Router::new().route(
            "/token",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                seen.lock().unwrap().push(body);
                let expected = format!(
                    "Basic {}",
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        "tributary:s3cret"
                    )
                );
                let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some(expected.as_str());
                async move {
                    if ok {
                        axum::Json(serde_json::json!({"access_token": token,
                            "token_type": "bearer", "expires_in": 3600}))
                        .into_response()
                    } else {
                        axum::http::StatusCode::UNAUTHORIZED.into_response()
                    }
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, forms)
    }

    fn bearer_config(addr: String, endpoint: &str, secret: &str) -> MemberConfig {
        let mut config = sasl_config(addr, "unused");
        config.security.sasl = Some(SaslCredentials {
            mechanism: SaslMechanism::OAuthBearer,
            username: "tributary".into(),
            password: secret.into(),
            oidc: Some(super::super::security::OidcLogin {
                token_endpoint: endpoint.into(),
                scope: Some("kafka".into()),
                extensions: vec![("logicalCluster".into(), "lkc-1".into())],
            }),
        });
        config
    }

    #[tokio::test]
    async fn sasl_oauthbearer_logs_in_with_a_token_from_the_oidc_endpoint() {
        let (endpoint, forms) = token_endpoint("tok-123").await;
        // RFC 7628's initial client response: GS2 header, the extension, the bearer token.
        let (addr, log) = fake_broker_with(FakeAuth::Bearer(
            "n,,\u{1}logicalCluster=lkc-1\u{1}auth=Bearer tok-123\u{1}\u{1}",
        ))
        .await;
        let member = GroupMember::new(bearer_config(addr.clone(), &endpoint, "s3cret"));
        let conn = member.discover().await.expect("OAUTHBEARER login");
        assert_eq!(conn.addr, addr);
        assert_eq!(
            log.lock().unwrap().mechanism.as_deref(),
            Some("OAUTHBEARER")
        );
        let forms = forms.lock().unwrap().clone();
        assert_eq!(forms.len(), 1);
        assert!(
            forms[0].contains("grant_type=client_credentials"),
            "{forms:?}"
        );
        assert!(forms[0].contains("scope=kafka"), "{forms:?}");

        // A secret the endpoint refuses: an auth error naming the endpoint, and no SASL
        // exchange with the broker.
        let (addr, log) = fake_broker_with(FakeAuth::Bearer("never")).await;
        let member = GroupMember::new(bearer_config(addr, &endpoint, "wrong"));
        match member.discover().await {
            Err(MemberError::Auth(m)) => assert!(m.contains("401"), "{m}"),
            other => panic!("expected an auth error, got {:?}", other.map(|c| c.addr)),
        }
        assert!(!log.lock().unwrap().requests.contains(&(36, 0)));
    }

    #[tokio::test]
    async fn unreachable_bootstrap_is_an_io_error() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let mut config = sasl_config(addr, "x");
        config.security = Security::default();
        let mut member = GroupMember::new(config);
        match member.join(&[("p".to_owned(), vec![1])]).await {
            Err(MemberError::Io(_)) => {}
            other => panic!("expected an i/o error, got {other:?}"),
        }
        assert_eq!(member.member_id(), "");
        assert_eq!(member.generation(), -1);
        // Without a member id there is nothing to heartbeat, sync or leave.
        assert!(matches!(
            member.heartbeat().await,
            Err(MemberError::UnknownMemberId)
        ));
        assert!(matches!(
            member.sync(&[]).await,
            Err(MemberError::UnknownMemberId)
        ));
        member
            .leave()
            .await
            .expect("leave without member id is a no-op");
    }

    // ---------------------------------------------------------------------------------------
    // Against the real broker (TRIBUTARY_TEST_BOOTSTRAP, default 127.0.0.1:19092).
    // ---------------------------------------------------------------------------------------

    const DEADLINE: Duration = Duration::from_secs(60);
    const HEARTBEAT_EVERY: Duration = Duration::from_millis(200);

    fn bootstrap() -> String {
        std::env::var("TRIBUTARY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".to_owned())
    }

    fn unique_group(tag: &str) -> String {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!(
            "member-{tag}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn config(group: &str, client: &str) -> MemberConfig {
        MemberConfig {
            bootstrap_servers: vec![bootstrap()],
            group_id: group.to_owned(),
            client_id: client.to_owned(),
            session_timeout_ms: 4000,
            rebalance_timeout_ms: 10000,
            request_timeout: Duration::from_secs(10),
            security: Security::default(),
        }
    }

    fn retriable(e: &MemberError) -> bool {
        matches!(
            e,
            MemberError::RebalanceInProgress
                | MemberError::UnknownMemberId
                | MemberError::IllegalGeneration
                | MemberError::CoordinatorUnavailable(_)
        )
    }

    /// Joins, retrying what Kafka clients must retry.
    async fn join_retry(member: &mut GroupMember, protocols: &[(String, Vec<u8>)]) -> JoinOutcome {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match member.join(protocols).await {
                Ok(outcome) => return outcome,
                Err(e) if retriable(&e) && Instant::now() < deadline => {
                    if matches!(e, MemberError::CoordinatorUnavailable(_)) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                Err(e) => panic!("join failed: {e}"),
            }
        }
    }

    fn assignment_for(member_id: &str) -> Vec<u8> {
        format!("assignment-for-{member_id}").into_bytes()
    }

    /// What one member saw when it completed a join + sync.
    #[derive(Debug, Clone)]
    struct Synced {
        outcome: JoinOutcome,
        assignment: Vec<u8>,
    }

    /// The group is settled when every member synced in the same generation and that
    /// generation's leader saw all of them.
    fn settled(records: &HashMap<usize, Synced>, size: usize) -> bool {
        if records.len() < size {
            return false;
        }
        let generation = records.values().next().map(|r| r.outcome.generation);
        records
            .values()
            .all(|r| Some(r.outcome.generation) == generation)
            && records.values().any(|r| {
                r.outcome.leader_id == r.outcome.member_id && r.outcome.members.len() == size
            })
    }

    /// Runs one member until the group settles: join, sync (the leader assigns
    /// `assignment_for(id)` to every member), then heartbeat, rejoining when told to. Returns
    /// the generation of this member's first successful join.
    async fn run_until_settled(
        member: &mut GroupMember,
        index: usize,
        metadata: Vec<u8>,
        records: &RefCell<HashMap<usize, Synced>>,
        size: usize,
    ) -> i32 {
        let deadline = Instant::now() + DEADLINE;
        let protocols = vec![("sessioned".to_owned(), metadata)];
        let mut first_generation = None;
        'rejoin: loop {
            assert!(
                Instant::now() < deadline,
                "member {index}: group never settled"
            );
            let outcome = join_retry(member, &protocols).await;
            first_generation.get_or_insert(outcome.generation);
            let assignments: Vec<(String, Vec<u8>)> = if outcome.leader_id == outcome.member_id {
                outcome
                    .members
                    .iter()
                    .map(|(id, _)| (id.clone(), assignment_for(id)))
                    .collect()
            } else {
                Vec::new()
            };
            let assignment = match member.sync(&assignments).await {
                Ok(a) => a,
                Err(e) if retriable(&e) => continue 'rejoin,
                Err(e) => panic!("member {index}: sync failed: {e}"),
            };
            records.borrow_mut().insert(
                index,
                Synced {
                    outcome,
                    assignment,
                },
            );
            loop {
                if settled(&records.borrow(), size) {
                    return first_generation.unwrap_or(-1);
                }
                assert!(
                    Instant::now() < deadline,
                    "member {index}: group never settled"
                );
                match member.heartbeat().await {
                    Ok(()) => {}
                    Err(e) if retriable(&e) => continue 'rejoin,
                    Err(e) => panic!("member {index}: heartbeat failed: {e}"),
                }
                tokio::time::sleep(HEARTBEAT_EVERY).await;
            }
        }
    }

    #[tokio::test]
    async fn single_member_joins_leads_syncs_heartbeats_and_leaves() {
        let group = unique_group("single");
        let mut member = GroupMember::new(config(&group, "single"));
        assert_eq!(member.member_id(), "");
        assert_eq!(member.generation(), -1);

        let preferred = b"metadata-sessioned".to_vec();
        let fallback = b"metadata-compatible".to_vec();
        let protocols = vec![
            ("sessioned".to_owned(), preferred.clone()),
            ("compatible".to_owned(), fallback),
        ];
        let outcome = join_retry(&mut member, &protocols).await;
        {
            let conn = member.coordinator.as_ref().expect("coordinator connection");
            let mut negotiated: Vec<String> = [
                ApiKey::ApiVersions,
                ApiKey::FindCoordinator,
                ApiKey::JoinGroup,
                ApiKey::SyncGroup,
                ApiKey::Heartbeat,
                ApiKey::LeaveGroup,
                ApiKey::SaslHandshake,
                ApiKey::SaslAuthenticate,
            ]
            .iter()
            .map(|k| {
                format!(
                    "{k:?}: broker {:?}, used {:?}",
                    conn.versions.get(&(*k as i16)),
                    conn.pick(
                        *k,
                        match k {
                            ApiKey::ApiVersions => API_VERSIONS_MAX,
                            ApiKey::FindCoordinator => FIND_COORDINATOR_MAX,
                            ApiKey::JoinGroup => JOIN_GROUP_MAX,
                            ApiKey::SyncGroup => SYNC_GROUP_MAX,
                            ApiKey::Heartbeat => HEARTBEAT_MAX,
                            ApiKey::LeaveGroup => LEAVE_GROUP_MAX,
                            ApiKey::SaslHandshake => SASL_HANDSHAKE_MAX,
                            _ => SASL_AUTHENTICATE_MAX,
                        }
                    )
                    .ok()
                )
            })
            .collect();
            negotiated.sort();
            eprintln!("negotiated versions:\n  {}", negotiated.join("\n  "));
        }
        assert!(!outcome.member_id.is_empty());
        assert_eq!(outcome.member_id, member.member_id());
        assert_eq!(outcome.generation, member.generation());
        assert!(outcome.generation >= 0, "{outcome:?}");
        assert_eq!(outcome.leader_id, outcome.member_id, "a lone member leads");
        assert_eq!(outcome.protocol, "sessioned", "the first preference wins");
        assert_eq!(
            outcome.members,
            vec![(outcome.member_id.clone(), preferred)]
        );

        let assignment = b"\x00\x01opaque assignment\xff".to_vec();
        let got = member
            .sync(&[(outcome.member_id.clone(), assignment.clone())])
            .await
            .expect("sync");
        assert_eq!(got, assignment);

        member.heartbeat().await.expect("heartbeat");
        member.leave().await.expect("leave");
        assert_eq!(member.member_id(), "");
        assert_eq!(member.generation(), -1);
        member.leave().await.expect("second leave is a no-op");
    }

    #[tokio::test]
    async fn two_members_elect_one_leader_and_get_their_own_assignments() {
        let group = unique_group("pair");
        let mut first = GroupMember::new(config(&group, "pair-0"));
        let mut second = GroupMember::new(config(&group, "pair-1"));
        let metadata = [b"metadata-of-0".to_vec(), b"metadata-of-1".to_vec()];
        let records = RefCell::new(HashMap::new());
        tokio::join!(
            run_until_settled(&mut first, 0, metadata[0].clone(), &records, 2),
            run_until_settled(&mut second, 1, metadata[1].clone(), &records, 2),
        );
        let records = records.into_inner();
        let ids = [first.member_id().to_owned(), second.member_id().to_owned()];
        assert_ne!(ids[0], ids[1]);
        let leaders: Vec<&Synced> = records
            .values()
            .filter(|r| r.outcome.leader_id == r.outcome.member_id)
            .collect();
        assert_eq!(leaders.len(), 1, "exactly one leader: {records:?}");
        let leader = leaders[0];
        for record in records.values() {
            assert_eq!(record.outcome.leader_id, leader.outcome.member_id);
            assert_eq!(record.outcome.generation, leader.outcome.generation);
        }
        let mut seen = leader.outcome.members.clone();
        seen.sort();
        let mut expected = vec![
            (ids[0].clone(), metadata[0].clone()),
            (ids[1].clone(), metadata[1].clone()),
        ];
        expected.sort();
        assert_eq!(seen, expected, "the leader sees both members' metadata");
        for (index, id) in ids.iter().enumerate() {
            assert_eq!(records[&index].outcome.member_id, *id);
            assert_eq!(records[&index].assignment, assignment_for(id));
        }
        for record in records.values() {
            if record.outcome.member_id != leader.outcome.member_id {
                assert!(
                    record.outcome.members.is_empty(),
                    "followers get no members"
                );
            }
        }

        first.leave().await.expect("leave 0");
        second.leave().await.expect("leave 1");
    }

    #[tokio::test]
    async fn second_member_triggers_rebalance_and_first_rejoins_with_newer_generation() {
        let group = unique_group("rebalance");
        let mut first = GroupMember::new(config(&group, "rebalance-0"));
        let mut second = GroupMember::new(config(&group, "rebalance-1"));
        let metadata = [b"m0".to_vec(), b"m1".to_vec()];

        let alone = RefCell::new(HashMap::new());
        run_until_settled(&mut first, 0, metadata[0].clone(), &alone, 1).await;
        let initial = alone.into_inner()[&0].outcome.generation;
        assert_eq!(first.generation(), initial);

        let records = RefCell::new(HashMap::new());
        let saw_rebalance = RefCell::new(false);
        let first_side = async {
            let deadline = Instant::now() + DEADLINE;
            loop {
                assert!(
                    Instant::now() < deadline,
                    "heartbeat never reported the rebalance"
                );
                match first.heartbeat().await {
                    Ok(()) => tokio::time::sleep(HEARTBEAT_EVERY).await,
                    Err(MemberError::RebalanceInProgress) => break,
                    Err(e) => panic!("unexpected heartbeat error: {e}"),
                }
            }
            *saw_rebalance.borrow_mut() = true;
            run_until_settled(&mut first, 0, metadata[0].clone(), &records, 2).await
        };
        let second_side = run_until_settled(&mut second, 1, metadata[1].clone(), &records, 2);
        let (rejoined, _) = tokio::join!(first_side, second_side);
        assert!(*saw_rebalance.borrow());
        assert!(
            rejoined > initial,
            "rejoin generation {rejoined} must exceed {initial}"
        );
        let records = records.into_inner();
        assert_eq!(
            records[&0].outcome.generation,
            records[&1].outcome.generation
        );
        assert_eq!(records[&0].assignment, assignment_for(first.member_id()));
        assert_eq!(records[&1].assignment, assignment_for(second.member_id()));

        first.leave().await.expect("leave 0");
        second.leave().await.expect("leave 1");
    }
}
