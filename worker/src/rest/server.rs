//! The REST server: binds every `listeners` and `admin.listeners` entry, terminates TLS on the
//! `https` ones, and serves HTTP/1.1 (as Connect's Jetty) under limits a slow or hostile
//! client cannot get around:
//!
//! * at most [`Limits::max_connections`] connections at once (more wait in the listen queue);
//! * a TLS handshake must finish within [`Limits::handshake_timeout`];
//! * a request's head must arrive within [`Limits::header_timeout`], which is also how long an
//!   idle keep-alive connection stays open; heads are capped at [`Limits::max_header_bytes`]
//!   (431 beyond);
//! * a body must arrive within [`Limits::body_timeout`] (408) and is capped before it is
//!   buffered (413; see [`forward`](super::forward));
//! * a client that stops reading its answer is cut off after [`Limits::write_timeout`].
//!
//! On shutdown the listeners close at once, requests under way finish (for at most
//! [`Limits::drain_timeout`]), and idle connections are closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use openssl::ssl::{Ssl, SslAcceptor};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::config::rest_server::{AdminListeners, RestListener, RestServerConfig};

use super::tls::{self, TlsError};

/// The server's limits.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub max_header_bytes: usize,
    /// Read by the routers ([`crate::rest::app`]), which buffer bodies.
    pub body_timeout: Duration,
    pub write_timeout: Duration,
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            max_header_bytes: 64 << 10,
            body_timeout: super::forward::BODY_TIMEOUT,
            write_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(60),
        }
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Which router a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Main,
    Admin,
}

struct Bound {
    listener: TcpListener,
    tls: Option<Arc<SslAcceptor>>,
    role: Role,
}

/// The bound listeners, ready to serve.
pub struct RestServer {
    bound: Vec<Bound>,
    limits: Limits,
}

async fn bind_one(
    listener: &RestListener,
    tls: &Option<Arc<SslAcceptor>>,
    role: Role,
) -> Result<Bound, ServerError> {
    let address = format!("{}:{}", listener.bind_host(), listener.port);
    let socket = TcpListener::bind((listener.bind_host(), listener.port))
        .await
        .map_err(|source| ServerError::Bind {
            address: address.clone(),
            source,
        })?;
    tracing::info!(
        listen = %address,
        https = listener.https,
        admin = role == Role::Admin,
        "REST server listening"
    );
    Ok(Bound {
        listener: socket,
        tls: if listener.https { tls.clone() } else { None },
        role,
    })
}

impl RestServer {
    /// Binds every listener of `config` (TLS settings are loaded now, so a bad store stops
    /// start-up).
    pub async fn bind(config: &RestServerConfig, limits: Limits) -> Result<Self, ServerError> {
        let main_tls = if config.listeners.iter().any(|l| l.https) {
            Some(Arc::new(tls::acceptor(&config.https)?))
        } else {
            None
        };
        let mut bound = Vec::new();
        for listener in &config.listeners {
            bound.push(bind_one(listener, &main_tls, Role::Main).await?);
        }
        if let AdminListeners::Separate(admin) = &config.admin_listeners {
            let admin_tls = if admin.iter().any(|l| l.https) {
                Some(Arc::new(tls::acceptor(&config.admin_https)?))
            } else {
                None
            };
            for listener in admin {
                bound.push(bind_one(listener, &admin_tls, Role::Admin).await?);
            }
        }
        Ok(RestServer { bound, limits })
    }

    /// The limits this server was bound with (the routers need the body timeout).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The local addresses, main listeners first (for tests that bind port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.bound
            .iter()
            .filter_map(|b| b.listener.local_addr().ok())
            .collect()
    }

    /// Serves `main` (and `admin` on the admin listeners) until `shutdown` resolves, then
    /// drains the connections.
    pub async fn serve(
        self,
        main: Router,
        admin: Option<Router>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let limits = Arc::new(self.limits);
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut loops = tokio::task::JoinSet::new();
        for bound in self.bound {
            let router = match bound.role {
                Role::Main => main.clone(),
                Role::Admin => match &admin {
                    Some(admin) => admin.clone(),
                    None => continue,
                },
            };
            loops.spawn(accept_loop(
                bound,
                router,
                Arc::clone(&limits),
                Arc::clone(&permits),
                stop_rx.clone(),
            ));
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        while loops.join_next().await.is_some() {}
        // Every connection holds a permit until it ends.
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("REST connections still open after the drain timeout");
        }
    }
}

async fn accept_loop(
    bound: Bound,
    router: Router,
    limits: Arc<Limits>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = bound.listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "REST server cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = bound.tls.clone();
        let limits = Arc::clone(&limits);
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, router, &limits, stop).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(
                        limits.handshake_timeout,
                        handshake(&acceptor, stream),
                    )
                    .await;
                    match handshake {
                        Ok(Ok(stream)) => serve_connection(stream, router, &limits, stop).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "REST TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "REST TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn handshake(
    acceptor: &SslAcceptor,
    stream: TcpStream,
) -> Result<tokio_openssl::SslStream<TcpStream>, Box<dyn std::error::Error + Send + Sync>> {
    let ssl = Ssl::new(acceptor.context())?;
    let mut stream = tokio_openssl::SslStream::new(ssl, stream)?;
    std::pin::Pin::new(&mut stream).accept().await?;
    Ok(stream)
}

async fn serve_connection<S>(
    stream: S,
    router: Router,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
    stream.set_write_timeout(Some(limits.write_timeout));
    let io = TokioIo::new(Box::pin(stream));
    let service = TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "REST connection ended");
            }
            return;
        }
        _ = stop.changed() => conn.as_mut().graceful_shutdown(),
    }
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "REST connection ended");
    }
}
