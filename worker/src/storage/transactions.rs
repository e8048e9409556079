//! Kafka transactions through librdkafka, for exactly-once source support (KIP-618): the
//! error classes the worker acts on, a commit that does not pay rdkafka's flush floor, the
//! fencing of a transactional id, and the leader's transactional writer of the config topic.
//!
//! **Why commits call librdkafka directly.** rdkafka 0.39's `commit_transaction` first calls
//! its own `flush`, which polls in steps of 100 ms and returns only at the end of a step, so
//! every commit costs at least ~100 ms (about ten transactions per second; measured in
//! `/work/notes/eos-broker-probe.md` §7 and again in README "Exactly-once source"). librdkafka's
//! `rd_kafka_commit_transaction` flushes by itself, and with rdkafka's event-mode delivery
//! reports it waits until the application's poller (the `ThreadedProducer`'s thread) has
//! served them; so the worker calls it on the producer's native handle, which takes a few
//! milliseconds. That one call, and reading the error object it returns, are the only unsafe
//! code here.

use std::ffi::CStr;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ProducerContext, ThreadedProducer,
};
use rdkafka::ClientContext;

/// What a failed transactional call means for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnErrorKind {
    /// A newer producer with the same `transactional.id` exists: this one is a zombie and
    /// must stop (its transaction is, or will be, aborted by the newer one).
    Fenced,
    /// The transaction failed and must be aborted; the producer can go on afterwards.
    Abortable,
    /// The call may succeed if made again (e.g. it timed out).
    Retriable,
    /// The producer is unusable.
    Fatal,
}

/// A failed transactional call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TxnError {
    pub kind: TxnErrorKind,
    pub message: String,
}

impl TxnError {
    pub fn new(kind: TxnErrorKind, message: impl Into<String>) -> TxnError {
        TxnError {
            kind,
            message: message.into(),
        }
    }

    pub fn is_fenced(&self) -> bool {
        self.kind == TxnErrorKind::Fenced
    }

    /// Classifies a librdkafka error code and its flags.
    fn classify(
        code: RDKafkaErrorCode,
        fatal: bool,
        retriable: bool,
        abortable: bool,
        message: String,
    ) -> TxnError {
        let fenced = matches!(
            code,
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
        );
        let kind = if fenced {
            TxnErrorKind::Fenced
        } else if fatal {
            TxnErrorKind::Fatal
        } else if abortable {
            TxnErrorKind::Abortable
        } else if retriable {
            TxnErrorKind::Retriable
        } else {
            // librdkafka's other transactional errors (state errors, a commit after a failed
            // delivery) leave the transaction to be aborted.
            TxnErrorKind::Abortable
        };
        TxnError { kind, message }
    }

    /// From an error of rdkafka's transactional API (`init_transactions`, `begin_transaction`,
    /// `abort_transaction`) or of a send.
    pub fn from_kafka(e: &KafkaError) -> TxnError {
        match e {
            KafkaError::Transaction(t) => TxnError::classify(
                t.code(),
                t.is_fatal(),
                t.is_retriable(),
                t.txn_requires_abort(),
                format!("{} ({:?})", t.string(), t.code()),
            ),
            other => TxnError::classify(
                other.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
                false,
                false,
                false,
                other.to_string(),
            ),
        }
    }
}

/// librdkafka's timeout argument: milliseconds, capped.
fn millis(timeout: Duration) -> i32 {
    i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX)
}

/// Commits the open transaction of the producer behind `client` with librdkafka's
/// `rd_kafka_commit_transaction`: it flushes what is outstanding, waits until the delivery
/// reports are served (the producer must be polled meanwhile: use a `ThreadedProducer`), and
/// commits, within `timeout`. See the module docs for why rdkafka's own method is not used.
pub fn commit_transaction<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<(), TxnError> {
    // SAFETY: `native_ptr` is the live handle of the producer `client` owns, valid for the whole
    // call because `client` is borrowed across it; librdkafka's transactional API may be called
    // from any thread. The returned pointer is null or an error object we own, which
    // `take_error` destroys exactly once.
    let error = unsafe { rdsys::rd_kafka_commit_transaction(client.native_ptr(), millis(timeout)) };
    take_error(error)
}

/// Reads and destroys an error object librdkafka handed to us (null: no error).
fn take_error(error: *mut rdsys::rd_kafka_error_t) -> Result<(), TxnError> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: `error` is a non-null error object owned by the caller (librdkafka's
    // transactional calls transfer ownership); it is only read here, then destroyed once, and
    // the message is copied out before that.
    let (code, fatal, retriable, abortable, message) = unsafe {
        let text = rdsys::rd_kafka_error_string(error);
        let message = if text.is_null() {
            String::new()
        } else {
            CStr::from_ptr(text).to_string_lossy().into_owned()
        };
        let found = (
            RDKafkaErrorCode::from(rdsys::rd_kafka_error_code(error)),
            rdsys::rd_kafka_error_is_fatal(error) != 0,
            rdsys::rd_kafka_error_is_retriable(error) != 0,
            rdsys::rd_kafka_error_txn_requires_abort(error) != 0,
            message,
        );
        rdsys::rd_kafka_error_destroy(error);
        found
    };
    Err(TxnError::classify(
        code,
        fatal,
        retriable,
        abortable,
        format!("{message} ({code:?})"),
    ))
}

/// Settings every transactional producer of the worker gets over its base config.
pub fn make_transactional(config: &mut ClientConfig, transactional_id: &str) {
    config
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all");
}

/// Fences `transactional_id` (what Java's `Admin.fenceProducers` does, which librdkafka lacks):
/// a producer with that id is created and initialised, which bumps the id's epoch, aborts its
/// open transaction and makes the broker refuse the older producers; then it is dropped.
pub fn fence(
    base: &ClientConfig,
    transactional_id: &str,
    timeout: Duration,
) -> Result<(), TxnError> {
    let mut config = base.clone();
    make_transactional(&mut config, transactional_id);
    let producer: ThreadedProducer<DefaultProducerContext> = config
        .create()
        .map_err(|e| TxnError::new(TxnErrorKind::Fatal, e.to_string()))?;
    producer
        .init_transactions(timeout)
        .map_err(|e| TxnError::from_kafka(&e))
}

/// A transactional producer for one topic that writes each group of records in a transaction
/// of its own (the leader's config-topic writes, KIP-618). Creating it fences the writers made
/// before it with the same `transactional.id` (an earlier leader).
pub struct TransactionalWriter {
    producer: ThreadedProducer<DefaultProducerContext>,
    topic: String,
    timeout: Duration,
}

impl std::fmt::Debug for TransactionalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionalWriter")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl TransactionalWriter {
    /// Creates the producer from `config` (which carries `transactional.id`: see
    /// [`make_transactional`]) and initialises its transactions. Blocks up to `timeout`, which
    /// also bounds each later write.
    pub fn open(
        config: &ClientConfig,
        topic: &str,
        timeout: Duration,
    ) -> Result<TransactionalWriter, TxnError> {
        let producer: ThreadedProducer<DefaultProducerContext> = config
            .create()
            .map_err(|e| TxnError::new(TxnErrorKind::Fatal, e.to_string()))?;
        producer
            .init_transactions(timeout)
            .map_err(|e| TxnError::from_kafka(&e))?;
        Ok(TransactionalWriter {
            producer,
            topic: topic.to_owned(),
            timeout,
        })
    }

    /// Writes `records` (key, value; `None` = tombstone) in one transaction. On failure the
    /// transaction is aborted (best effort) and the error returned; the caller should drop the
    /// writer unless the error is only `Abortable`.
    pub fn write(&self, records: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), TxnError> {
        self.producer
            .begin_transaction()
            .map_err(|e| TxnError::from_kafka(&e))?;
        let written = self
            .send_all(records)
            .and_then(|()| commit_transaction(self.producer.client(), self.timeout));
        if let Err(e) = &written {
            if e.kind == TxnErrorKind::Abortable || e.kind == TxnErrorKind::Retriable {
                if let Err(abort) = self.producer.abort_transaction(self.timeout) {
                    tracing::warn!(topic = %self.topic, error = %abort, "cannot abort the failed transaction");
                }
            }
        }
        written
    }

    fn send_all(&self, records: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), TxnError> {
        for (key, value) in records {
            let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic).key(key.as_slice());
            record.payload = value.as_deref();
            send_waiting(&self.producer, record, self.timeout)?;
        }
        Ok(())
    }
}

/// Hands `record` to `producer`, waiting up to `timeout` while its queue is full.
pub fn send_waiting<'a, C: ProducerContext + 'static>(
    producer: &ThreadedProducer<C>,
    mut record: BaseRecord<'a, [u8], [u8], C::DeliveryOpaque>,
    timeout: Duration,
) -> Result<(), TxnError> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                if std::time::Instant::now() < deadline =>
            {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(TxnError::from_kafka(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_as_the_worker_acts_on_them() {
        let c = |code, fatal, retriable, abortable| {
            TxnError::classify(code, fatal, retriable, abortable, String::new()).kind
        };
        assert_eq!(
            c(RDKafkaErrorCode::ProducerFenced, false, false, true),
            TxnErrorKind::Fenced
        );
        assert_eq!(
            c(RDKafkaErrorCode::Fenced, true, false, false),
            TxnErrorKind::Fenced
        );
        assert_eq!(
            c(RDKafkaErrorCode::InvalidProducerEpoch, false, false, true),
            TxnErrorKind::Fenced
        );
        assert_eq!(
            c(RDKafkaErrorCode::OperationTimedOut, false, true, false),
            TxnErrorKind::Retriable
        );
        assert_eq!(
            c(RDKafkaErrorCode::MessageTimedOut, false, false, true),
            TxnErrorKind::Abortable
        );
        assert_eq!(
            c(RDKafkaErrorCode::Fatal, true, false, false),
            TxnErrorKind::Fatal
        );
        assert_eq!(
            c(RDKafkaErrorCode::State, false, false, false),
            TxnErrorKind::Abortable
        );
    }

    #[test]
    fn a_null_error_object_is_success() {
        assert_eq!(take_error(std::ptr::null_mut()), Ok(()));
    }

    #[test]
    fn an_error_object_is_read_and_classified() {
        let text = std::ffi::CString::new("fenced by a newer instance").unwrap();
        // SAFETY: a fresh error object with a plain format string; `take_error` destroys it.
        let error = unsafe {
            rdsys::rd_kafka_error_new(
                rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FENCED,
                c"%s".as_ptr(),
                text.as_ptr(),
            )
        };
        let e = take_error(error).unwrap_err();
        assert_eq!(e.kind, TxnErrorKind::Fenced);
        assert!(e.message.contains("fenced by a newer instance"), "{e}");
    }
}
