//! The worker's side of a connector's context (Java's `HerderConnectorContext`): the state a
//! plugin's [`ConnectorContext`](tributary_connector_api::ConnectorContext) refers to, the
//! `extern "C"` callbacks it calls, and the events they hand to the herder.
//!
//! Each connector instance the Worker starts gets its own [`ContextState`], numbered by a
//! generation. The plugin holds a counted reference to it (an `Arc` turned into the ABI's
//! opaque handle) until it calls `release`, so the state outlives any thread the connector
//! keeps it in; the Worker closes it when it stops the instance, after which calls are
//! ignored. The callbacks only send an event on an unbounded channel: they never block (a
//! connector may call them from `start` or `task_configs`, while the worker waits on it) and
//! never unwind into the plugin.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tributary_connector_api::abi::{FfiSlice, HostContext};

/// What a running connector asked of the worker. `generation` names the connector instance,
/// so that a request from an instance since stopped or restarted is told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorEvent {
    /// `requestTaskReconfiguration()`.
    Reconfigure { connector: String, generation: u64 },
    /// `raiseError(message)`.
    Failed {
        connector: String,
        generation: u64,
        message: String,
    },
}

impl ConnectorEvent {
    pub fn connector(&self) -> &str {
        match self {
            ConnectorEvent::Reconfigure { connector, .. }
            | ConnectorEvent::Failed { connector, .. } => connector,
        }
    }
}

/// Where the contexts send their events (the herder reads the other end).
pub type EventSender = UnboundedSender<ConnectorEvent>;

/// The state behind one connector instance's context.
#[derive(Debug)]
pub struct ContextState {
    connector: String,
    generation: u64,
    open: AtomicBool,
    events: EventSender,
}

impl ContextState {
    pub fn new(connector: &str, generation: u64, events: EventSender) -> Arc<ContextState> {
        Arc::new(ContextState {
            connector: connector.to_owned(),
            generation,
            open: AtomicBool::new(true),
            events,
        })
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// From now on the connector's calls are ignored (it was stopped, restarted or failed).
    pub fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// The callbacks for the plugin, holding one counted reference to this state that the
    /// plugin gives back with `release`.
    pub fn host_context(self: &Arc<Self>) -> HostContext {
        HostContext {
            handle: Arc::into_raw(Arc::clone(self)).cast(),
            request_task_reconfiguration,
            raise_error,
            release,
        }
    }

    /// Asks the worker to regenerate the connector's task configs.
    pub fn request_task_reconfiguration(&self) {
        if !self.is_open() {
            tracing::debug!(
                connector = %self.connector,
                "task reconfiguration requested by a stopped connector instance; ignored"
            );
            return;
        }
        tracing::debug!(connector = %self.connector, "connector requested task reconfiguration");
        self.send(ConnectorEvent::Reconfigure {
            connector: self.connector.clone(),
            generation: self.generation,
        });
    }

    /// Fails the connector with `message`.
    pub fn raise_error(&self, message: &str) {
        if !self.is_open() {
            tracing::warn!(
                connector = %self.connector,
                error = message,
                "error raised by a stopped connector instance; ignored"
            );
            return;
        }
        self.send(ConnectorEvent::Failed {
            connector: self.connector.clone(),
            generation: self.generation,
            message: message.to_owned(),
        });
    }

    fn send(&self, event: ConnectorEvent) {
        if self.events.send(event).is_err() {
            tracing::debug!(connector = %self.connector, "the herder no longer listens; ignored");
        }
    }
}

/// Closes a context when the Worker forgets the connector instance it belongs to.
#[derive(Debug)]
pub struct ContextGuard(pub Arc<ContextState>);

impl Drop for ContextGuard {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Runs `f` on the state behind a handle, never letting a panic reach the plugin.
fn with_state(handle: *const c_void, f: impl FnOnce(&ContextState)) {
    if handle.is_null() {
        return;
    }
    // Safety: a non-null handle is one made by `host_context` and not yet released: the plugin
    // holds a counted reference, so the state is alive.
    let state = unsafe { &*handle.cast::<ContextState>() };
    let _ = catch_unwind(AssertUnwindSafe(|| f(state)));
}

extern "C" fn request_task_reconfiguration(handle: *const c_void) {
    with_state(handle, ContextState::request_task_reconfiguration);
}

extern "C" fn raise_error(handle: *const c_void, message: FfiSlice) {
    with_state(handle, |state| {
        // Safety: the plugin passes a slice that lives for the call.
        let bytes = unsafe { message.as_bytes() };
        state.raise_error(&String::from_utf8_lossy(bytes));
    });
}

extern "C" fn release(handle: *const c_void) {
    if handle.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // Safety: the handle came from `Arc::into_raw` in `host_context`, and the plugin
        // releases it once.
        drop(unsafe { Arc::from_raw(handle.cast::<ContextState>()) });
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (
        Arc<ContextState>,
        tokio::sync::mpsc::UnboundedReceiver<ConnectorEvent>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (ContextState::new("c", 7, tx), rx)
    }

    #[test]
    fn callbacks_send_events_until_the_context_is_closed() {
        let (state, mut rx) = state();
        let host = state.host_context();
        (host.request_task_reconfiguration)(host.handle);
        let message = "tables vanished";
        (host.raise_error)(host.handle, FfiSlice::new(message.as_bytes()));
        assert_eq!(
            rx.try_recv().ok(),
            Some(ConnectorEvent::Reconfigure {
                connector: "c".into(),
                generation: 7
            })
        );
        assert_eq!(
            rx.try_recv().ok(),
            Some(ConnectorEvent::Failed {
                connector: "c".into(),
                generation: 7,
                message: message.into()
            })
        );
        drop(ContextGuard(Arc::clone(&state)));
        assert!(!state.is_open());
        (host.request_task_reconfiguration)(host.handle);
        (host.raise_error)(host.handle, FfiSlice::new(b"late"));
        assert!(rx.try_recv().is_err(), "a closed context sends nothing");
        (host.release)(host.handle);
    }

    #[test]
    fn the_plugin_reference_keeps_the_state_alive_until_released() {
        let (state, mut rx) = state();
        let host = state.host_context();
        let weak = Arc::downgrade(&state);
        assert_eq!(Arc::strong_count(&state), 2);
        // The worker forgets the instance; the plugin still holds its reference.
        drop(ContextGuard(state));
        assert_eq!(weak.strong_count(), 1);
        (host.request_task_reconfiguration)(host.handle);
        assert!(rx.try_recv().is_err());
        (host.release)(host.handle);
        assert_eq!(weak.strong_count(), 0, "released: freed");
    }

    #[test]
    fn calls_after_the_herder_stopped_listening_are_harmless() {
        let (state, rx) = state();
        drop(rx);
        let host = state.host_context();
        (host.request_task_reconfiguration)(host.handle);
        (host.raise_error)(host.handle, FfiSlice::new(&[0xff, b'x']));
        (host.release)(host.handle);
        assert_eq!(Arc::strong_count(&state), 1);
        // A null handle (never made by the worker) is ignored.
        (host.request_task_reconfiguration)(std::ptr::null());
        (host.release)(std::ptr::null());
    }
}
