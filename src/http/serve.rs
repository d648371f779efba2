//! Serving a router on a listener, over TLS or plain TCP, with the limits
//! that keep slow, idle or flooding clients from holding the agent: the
//! connection table ([`super::connections`]), which bounds connections and
//! closes idle ones, and a cap on the request head.
//!
//! HTTP/1.1 everywhere; HTTP/2 too over TLS when the client asks for it and
//! the web configuration allows it, as Go's server (and so node_exporter)
//! does.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::connections::{Activity, Admitted, Connections, IDLE_TIMEOUT};
use super::watched_config::WatchedConfig;
use crate::logging::Throttle;

/// Largest request head (request line and headers) accepted; a bigger one
/// is answered 431. A scrape's head is a few hundred bytes; this leaves
/// room for large bearer tokens (identity providers' JWTs with many group
/// claims pass 8 KiB) while bounding what a connection can make the agent
/// buffer.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// HTTP/2 streams a connection may run at once: scrapes are limited by
/// `--web.max-requests` anyway.
const MAX_STREAMS_PER_CONNECTION: u32 = 16;

/// Pause after a failed accept that closing an idle connection could not
/// cure, so the loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How often a limit that bites is logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

static HEADS_TOO_LARGE: Throttle = Throttle::new(WARN_EVERY);
static ACCEPT_FAILURES: Throttle = Throttle::new(WARN_EVERY);

/// Serves `app` on `listener` until `stop` turns true, then waits for the
/// requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: Arc<WatchedConfig>,
    connections: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e, &connections).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let admitted = match connections.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refused) => {
                tracing::debug!(peer = %peer, ?refused, "every connection is busy; closing a new one");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            app: app.clone(),
            tls: config.current().tls.clone(),
            watcher: graceful.watcher(),
        };
        tokio::spawn(connection.run(stream, admitted));
        // The new connection's first look at its socket comes before the
        // next accept: a client that sent its request at once is then busy
        // (or known to have spoken) before a flood can push it out.
        tokio::task::yield_now().await;
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Out of descriptors, the oldest idle connection is closed to make room;
/// anything else is waited out.
async fn accept_failed(e: &io::Error, connections: &Connections) {
    let out_of_descriptors = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    if out_of_descriptors && connections.shed_idle() {
        return;
    }
    if let Some(count) = ACCEPT_FAILURES.event() {
        tracing::warn!(err = %e, failures = count, open = connections.open(), "accepting a connection failed");
    }
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// What serving one accepted connection needs.
struct Connection {
    app: Router,
    tls: Option<TlsAcceptor>,
    watcher: Watcher,
}

impl Connection {
    /// Serves the connection until it ends, is pushed out of the table, or
    /// stays idle too long.
    async fn run(self, stream: TcpStream, mut admitted: Admitted) {
        let activity = admitted.activity.clone();
        tokio::select! {
            () = self.serve(stream, activity.clone()) => {}
            _ = &mut admitted.pushed_out => {}
            () = idle_too_long(&activity) => {}
        }
    }

    async fn serve(self, stream: TcpStream, activity: Activity) {
        if stream.readable().await.is_err() {
            return;
        }
        activity.spoke();
        let service = TrackedService {
            app: TowerToHyperService::new(self.app),
            activity,
        };
        let Some(acceptor) = self.tls else {
            return serve_http1(stream, service, self.watcher).await;
        };
        let stream = match acceptor.accept(stream).await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::debug!(err = %e, "TLS handshake failed");
                return;
            }
        };
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            let connection = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
                .max_header_list_size(MAX_HEAD_BYTES as u32)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = self.watcher.watch(connection).await {
                tracing::debug!(err = %e, "HTTP/2 connection ended with an error");
            }
        } else {
            serve_http1(stream, service, self.watcher).await;
        }
    }
}

async fn serve_http1<S>(stream: S, service: TrackedService, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .max_header_size(MAX_HEAD_BYTES)
        // Buffers hold a head, or the response bytes on their way out.
        .max_buf_size(2 * MAX_HEAD_BYTES)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    match watcher.watch(connection).await {
        Err(e) if e.is_parse_too_large() => {
            if let Some(count) = HEADS_TOO_LARGE.event() {
                tracing::warn!(
                    limit_bytes = MAX_HEAD_BYTES,
                    refused = count,
                    "refused request heads over the limit with 431"
                );
            }
        }
        Err(e) => tracing::debug!(err = %e, "connection ended with an error"),
        Ok(()) => {}
    }
}

/// The router as a hyper service that marks each request in progress on
/// the connection until its response body is done with, so the connection
/// table never closes a connection in the middle of a response.
#[derive(Clone)]
struct TrackedService {
    app: TowerToHyperService<Router>,
    activity: Activity,
}

impl hyper::service::Service<Request<Incoming>> for TrackedService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_progress = self.activity.request();
        let response = self.app.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(move |body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &in_progress;
                    frame
                }))
            }))
        })
    }
}

/// Resolves once the connection has had no request in progress for
/// [`IDLE_TIMEOUT`]: a request head or TLS handshake sent too slowly, or a
/// keep-alive connection nobody uses.
async fn idle_too_long(activity: &Activity) {
    loop {
        match activity.idle_deadline() {
            Some(deadline) if deadline <= std::time::Instant::now() => return,
            Some(deadline) => tokio::time::sleep_until(Instant::from_std(deadline)).await,
            None => tokio::time::sleep(IDLE_TIMEOUT).await,
        }
    }
}
