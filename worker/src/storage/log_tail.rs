//! A thread that keeps reading one [`KafkaLog`] and hands every record to the store that owns
//! it, and that serves "read to the end" requests in between (Java's `KafkaBasedLog` work
//! thread). Only this thread touches the reader, so the stores never lock around a poll.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::kafka_log::{KafkaLog, LogRecord, LogWriter};

/// How long one idle poll waits before looking for requests again.
const POLL_WAIT: Duration = Duration::from_millis(50);

enum Request {
    ReadToEnd(Duration, tokio::sync::oneshot::Sender<Result<(), String>>),
}

/// The running reader thread of one log, plus its write side.
pub struct LogTail {
    topic: String,
    requests: Option<mpsc::Sender<Request>>,
    writer: LogWriter,
    thread: Option<JoinHandle<()>>,
}

impl LogTail {
    /// Starts the reader thread. `apply` sees every record once, in offset order per
    /// partition, on the reader thread.
    pub fn spawn(
        mut log: KafkaLog,
        mut apply: impl FnMut(Vec<LogRecord>) + Send + 'static,
    ) -> std::io::Result<LogTail> {
        let topic = log.topic().to_owned();
        let writer = log.writer();
        let (tx, rx) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name(format!("log-{topic}"))
            .spawn(move || loop {
                match rx.try_recv() {
                    Ok(Request::ReadToEnd(timeout, reply)) => {
                        let answer = match log.read_to_end(timeout) {
                            Ok(records) => {
                                if !records.is_empty() {
                                    apply(records);
                                }
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        };
                        let _ = reply.send(answer);
                    }
                    Err(mpsc::TryRecvError::Empty) => {
                        let records = log.poll(POLL_WAIT);
                        if !records.is_empty() {
                            apply(records);
                        }
                    }
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            })?;
        Ok(LogTail {
            topic,
            requests: Some(tx),
            writer,
            thread: Some(thread),
        })
    }

    fn request(
        &self,
        timeout: Duration,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<(), String>>, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.requests
            .as_ref()
            .ok_or_else(|| format!("{}: reader stopped", self.topic))?
            .send(Request::ReadToEnd(timeout, tx))
            .map_err(|_| format!("{}: reader stopped", self.topic))?;
        Ok(rx)
    }

    /// Waits until every record up to the current end of the log has been applied. Blocks;
    /// never call it from an async task (use [`LogTail::read_to_end`]).
    pub fn read_to_end_blocking(&self, timeout: Duration) -> Result<(), String> {
        self.request(timeout)?
            .blocking_recv()
            .map_err(|_| format!("{}: reader stopped", self.topic))?
    }

    /// [`LogTail::read_to_end_blocking`] for async callers.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), String> {
        self.request(timeout)?
            .await
            .map_err(|_| format!("{}: reader stopped", self.topic))?
    }

    /// The write side of the log.
    pub fn writer(&self) -> &LogWriter {
        &self.writer
    }
}

impl Drop for LogTail {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
