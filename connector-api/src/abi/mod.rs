//! The plugin boundary.
//!
//! A plugin is a shared library exporting one C symbol, [`ENTRY_SYMBOL`], that returns a
//! pointer to a `#[repr(C)]` [`PluginTable`]. The table's first field is the ABI version: the
//! host reads it before anything else and refuses a mismatch. Only bytes cross the boundary:
//! requests and responses are postcard encodings of the enums below (a source task's poll answers
//! a flat record batch instead, see [`batch`]), and each side frees
//! what it allocated (the plugin exports `free_buf`), so host and plugin may be built by
//! different compilers with different allocators. Every exported function catches panics and
//! reports them as [`STATUS_PANIC`] with the message, location and backtrace.
//!
//! Connector authors never touch this module: they implement the traits in
//! [`crate::connector`] and write one [`crate::export_plugin!`] line.

use std::ffi::c_void;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigDef, ConfigValueInfo};
use crate::connector::{ExactlyOnceSupport, SinkOffsets, SinkTaskContext};
use crate::error::ConnectError;
use crate::record::{OffsetMap, Props, RecordMetadata, SourceRecord, TopicPartition};

/// Bumped on any change to [`PluginTable`] or to the wire messages.
pub const ABI_VERSION: u32 = 8;
/// The version of this crate, reported by plugins for diagnostics.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The symbol every plugin exports: `extern "C" fn() -> *const PluginTable`.
pub const ENTRY_SYMBOL: &[u8] = b"tributary_plugin_entry\0";

/// The call succeeded; the buffer holds the encoded response.
pub const STATUS_OK: i32 = 0;
/// The connector or task returned an error; the buffer holds an encoded [`CallFailure`].
pub const STATUS_ERROR: i32 = 1;
/// The plugin panicked; the buffer holds UTF-8 text (message, location, backtrace).
pub const STATUS_PANIC: i32 = 2;
/// The request could not be decoded or named an unknown class; the buffer holds UTF-8 text.
pub const STATUS_BAD_REQUEST: i32 = 3;

/// Bytes borrowed from the caller for the duration of a call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FfiSlice {
    pub ptr: *const u8,
    pub len: usize,
}

impl FfiSlice {
    pub fn new(bytes: &[u8]) -> FfiSlice {
        FfiSlice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive the returned slice.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }
}

/// Bytes allocated by the plugin; the host hands them back to `free_buf`.
#[repr(C)]
#[derive(Debug)]
pub struct FfiBuf {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

impl FfiBuf {
    pub fn from_vec(v: Vec<u8>) -> FfiBuf {
        let mut v = std::mem::ManuallyDrop::new(v);
        FfiBuf {
            ptr: v.as_mut_ptr(),
            len: v.len(),
            cap: v.capacity(),
        }
    }

    /// # Safety
    /// The buffer must be live (not yet freed).
    pub unsafe fn as_bytes(&self) -> &[u8] {
        if self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }
}

/// A call's outcome: one of the `STATUS_*` codes and a buffer.
#[repr(C)]
#[derive(Debug)]
pub struct FfiResult {
    pub status: i32,
    pub data: FfiBuf,
}

/// The table a plugin exports. Field order is part of the ABI; `abi_version` stays first.
#[repr(C)]
pub struct PluginTable {
    pub abi_version: u32,
    /// UTF-8 version of the `connector-api` crate the plugin was built with.
    pub api_version_ptr: *const u8,
    pub api_version_len: usize,
    /// Encoded [`PluginManifest`].
    pub manifest: extern "C" fn() -> FfiResult,
    /// Creates a connector of the class named by the UTF-8 slice; the handle goes to `out`.
    pub connector_new: extern "C" fn(class: FfiSlice, out: *mut *mut c_void) -> FfiResult,
    /// One [`ConnectorRequest`] → one [`ConnectorResponse`].
    pub connector_call: extern "C" fn(handle: *mut c_void, request: FfiSlice) -> FfiResult,
    pub connector_free: extern "C" fn(handle: *mut c_void),
    /// Creates a task for the connector class named by the UTF-8 slice.
    pub task_new: extern "C" fn(class: FfiSlice, out: *mut *mut c_void) -> FfiResult,
    /// One [`TaskRequest`] → one [`TaskResponse`].
    pub task_call: extern "C" fn(handle: *mut c_void, request: FfiSlice) -> FfiResult,
    pub task_free: extern "C" fn(handle: *mut c_void),
    pub free_buf: extern "C" fn(buf: FfiBuf),
    /// Creates a converter, header converter, transformation, predicate or config provider
    /// from an encoded [`ComponentNew`]; the handle goes to `out`. (ABI 5.)
    pub component_new: extern "C" fn(request: FfiSlice, out: *mut *mut c_void) -> FfiResult,
    /// One [`ComponentRequest`] (a whole batch) → one [`ComponentResponse`].
    pub component_call: extern "C" fn(handle: *mut c_void, request: FfiSlice) -> FfiResult,
    pub component_free: extern "C" fn(handle: *mut c_void),
    /// Hands a connector instance (before `Start`) its context: the worker's callbacks for
    /// [`crate::ConnectorContext`]. The plugin owns `context` from the call on, whatever the
    /// call returns. (ABI 7.)
    pub connector_initialize: extern "C" fn(handle: *mut c_void, context: HostContext) -> FfiResult,
}

/// The worker's side of a connector's [`crate::ConnectorContext`], passed by value to
/// `connector_initialize` (ABI 7).
///
/// `handle` is one counted reference to the worker's state for that connector instance. The
/// plugin owns it from the call on and hands it back exactly once, with `release`, when it no
/// longer needs it (also when the call fails or panics); until then the worker keeps the state
/// alive, so the callbacks may be called from any thread at any time, even after the connector
/// was stopped (they do nothing then). The callbacks never block and never unwind.
#[repr(C)]
#[derive(Debug)]
pub struct HostContext {
    pub handle: *const c_void,
    pub request_task_reconfiguration: extern "C" fn(handle: *const c_void),
    /// `message` is UTF-8 (lossily read), borrowed for the call.
    pub raise_error: extern "C" fn(handle: *const c_void, message: FfiSlice),
    pub release: extern "C" fn(handle: *const c_void),
}

// The worker's callbacks are thread-safe and its state lives until `release`.
unsafe impl Send for HostContext {}
unsafe impl Sync for HostContext {}

// The table holds only function pointers and a pointer to static bytes.
unsafe impl Sync for PluginTable {}
unsafe impl Send for PluginTable {}

/// Source or sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectorKind {
    Source,
    Sink,
}

/// One connector class a plugin provides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorManifest {
    pub class: String,
    pub kind: ConnectorKind,
    pub version: String,
    pub config_def: ConfigDef,
}

/// What a plugin describes itself with, so the worker can list and validate without starting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginManifest {
    pub api_version: String,
    pub connectors: Vec<ConnectorManifest>,
    /// Converters, header converters, transformations, predicates and config providers.
    pub components: Vec<ComponentManifest>,
}

/// A call to a connector instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConnectorRequest {
    Start(Props),
    TaskConfigs(u32),
    Stop,
    Validate(Props),
    ExactlyOnceSupport(Props),
    AlterSourceOffsets(
        Props,
        #[serde(with = "intern::offset_updates")] Vec<(OffsetMap, Option<OffsetMap>)>,
    ),
    AlterSinkOffsets(Props, SinkOffsets),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConnectorResponse {
    Done,
    TaskConfigs(Vec<Props>),
    Validation(Vec<ConfigValueInfo>),
    ExactlyOnce(ExactlyOnceSupport),
    /// Whether the connector manages offsets itself.
    OffsetsAltered(bool),
}

/// A call to a task instance. Records travel in batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskRequest {
    StartSource {
        props: Props,
        #[serde(with = "intern::offset_pairs")]
        offsets: Vec<(OffsetMap, OffsetMap)>,
    },
    /// Answered with a [`batch`] record batch, not a [`TaskResponse`].
    Poll,
    /// Offsets were written: the (source partition, offset) pairs of this commit.
    Commit(#[serde(with = "intern::offset_pairs")] Vec<(OffsetMap, OffsetMap)>),
    /// Acknowledged records by the sequence numbers of their batches (see [`batch`]).
    CommitRecords(Vec<(u64, Option<RecordMetadata>)>),
    StartSink {
        props: Props,
    },
    Open(Vec<TopicPartition>),
    Close(Vec<TopicPartition>),
    /// Records to put, as a [`batch`] record batch.
    Put(component::ByteBuf),
    PreCommit(SinkOffsets),
    Stop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskResponse {
    Done,
    /// Offsets safe to commit.
    Committable(SinkOffsets),
    /// What a sink task asked of the worker during the call.
    SinkContext(SinkTaskContext),
}

/// The payload of [`STATUS_ERROR`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallFailure {
    pub error: ConnectError,
    /// For sink tasks: what the task asked of the worker before failing (e.g. a retry timeout).
    pub context: Option<Box<SinkTaskContext>>,
}

/// Encodes a wire message: postcard (compact, not self-describing: both sides share these
/// types through the ABI version), with schemas interned and
/// offset maps as typed entries (see [`intern`]).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let _scope = intern::EncodeScope::start();
    postcard::to_allocvec(value).map_err(|e| format!("cannot encode plugin message: {e}"))
}

/// Appends a wire message to `buf` (as [`encode`]); on an error `buf` is as it was.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut Vec<u8>,
) -> Result<(), String> {
    struct Append<'a>(&'a mut Vec<u8>);
    impl Extend<u8> for Append<'_> {
        fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
            self.0.extend(iter)
        }
    }
    let _scope = intern::EncodeScope::start();
    let len = buf.len();
    if let Err(e) = postcard::to_extend(value, Append(buf)) {
        buf.truncate(len);
        return Err(format!("cannot encode plugin message: {e}"));
    }
    Ok(())
}

/// Decodes a wire message.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    let _scope = intern::DecodeScope::start();
    crate::nesting::clear_refusal();
    postcard::from_bytes(bytes).map_err(|e| {
        // postcard drops custom messages; the nesting limit says why it refused.
        let why = crate::nesting::take_refusal().unwrap_or_else(|| e.to_string());
        format!("cannot decode plugin message: {why}")
    })
}

pub mod batch;
pub mod component;
pub mod guest;
pub mod intern;

pub use component::{
    ComponentManifest, ComponentNew, ComponentRequest, ComponentResponse, FromConnectRef,
    ToConnectRef, WireRecord,
};
