//! The HTTP side: routes, the metrics handler with node_exporter's
//! semantics, listen-address parsing, and serving until a shutdown signal.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Once};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::code_pages;
use crate::exposition::gzip::GzipPool;
use crate::exposition::negotiate::{accepts_gzip, negotiate_format};
use crate::in_flight::InFlight;
use crate::scrape::Scraper;

/// The share of Prometheus's scrape timeout that a scrape may spend
/// collecting; the rest is left for encoding and transfer.
const SCRAPE_TIMEOUT_SHARE: f64 = 0.9;

/// Everything the handlers share.
pub struct AppState {
    scraper: Arc<Scraper>,
    /// Bounds concurrent metric requests; `None` when unlimited.
    limiter: Option<Semaphore>,
    max_requests: usize,
    landing_page: String,
    gzip: GzipPool,
    in_flight: InFlight,
}

impl AppState {
    /// State for serving `scraper` with at most `max_requests` concurrent
    /// scrapes (0 = unlimited).
    pub fn new(scraper: Arc<Scraper>, max_requests: usize, telemetry_path: &str) -> AppState {
        let landing_page = landing_page(&scraper.enabled(), telemetry_path);
        AppState {
            scraper,
            limiter: (max_requests > 0).then(|| Semaphore::new(max_requests)),
            max_requests,
            landing_page,
            gzip: GzipPool::new(),
            in_flight: InFlight::new(),
        }
    }
}

/// The router: the telemetry path, `/` (landing page, unless it is the
/// telemetry path), `/-/healthy`, `/-/ready`; 404 elsewhere, 405 for
/// methods other than GET and HEAD.
pub fn router(state: Arc<AppState>, telemetry_path: &str) -> Router {
    let mut router = Router::new()
        .route(telemetry_path, get(metrics).fallback(method_not_allowed))
        .route(
            "/-/healthy",
            get(|| async { "Healthy\n" }).fallback(method_not_allowed),
        )
        .route(
            "/-/ready",
            get(|| async { "Ready\n" }).fallback(method_not_allowed),
        );
    if telemetry_path != "/" {
        router = router.route("/", get(landing).fallback(method_not_allowed));
    }
    router
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(state)
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "GET, HEAD")],
        "method not allowed: use GET or HEAD\n",
    )
        .into_response()
}

async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(state.landing_page.clone())
}

fn landing_page(collectors: &[&str], telemetry_path: &str) -> String {
    let path = html_escape(telemetry_path);
    let items: String = collectors
        .iter()
        .map(|c| format!("<li><a href=\"{path}?collect[]={c}\">{c}</a></li>\n"))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html>\n<head><title>hostwatch</title></head>\n<body>\n\
         <h1>hostwatch</h1>\n<p>Node metrics agent, node_exporter compatible. Version {}.</p>\n\
         <p><a href=\"{path}\">Metrics</a> &middot; <a href=\"/-/healthy\">Health</a> &middot; \
         <a href=\"/-/ready\">Readiness</a></p>\n<h2>Enabled collectors</h2>\n<ul>\n{items}</ul>\n\
         </body>\n</html>\n",
        crate::version::VERSION_LINE
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `collect[]` and `exclude[]` values from a raw query string.
fn collector_params(query: Option<&str>) -> (Vec<String>, Vec<String>) {
    let (mut collect, mut exclude) = (Vec::new(), Vec::new());
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "collect[]" => collect.push(value.into_owned()),
            "exclude[]" => exclude.push(value.into_owned()),
            _ => {}
        }
    }
    (collect, exclude)
}

/// When this scrape must be answered by: Prometheus's
/// `X-Prometheus-Scrape-Timeout-Seconds` (a share of it) if sent and
/// shorter than the default, else the default.
fn scrape_deadline(headers: &HeaderMap, default: Duration) -> Instant {
    let requested = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s * SCRAPE_TIMEOUT_SHARE).ok());
    let budget = requested.map_or(default, |r| r.min(default));
    Instant::now() + budget
}

async fn metrics(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let _permit = match &state.limiter {
        None => None,
        Some(limiter) => match limiter.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "Limit of concurrent requests reached ({}), try again later.\n",
                        state.max_requests
                    ),
                )
                    .into_response()
            }
        },
    };

    let _request = state.in_flight.enter();
    let (collect, exclude) = collector_params(query.as_deref());
    let selection = match state.scraper.select(&collect, &exclude) {
        Ok(selection) => selection,
        Err(e) => {
            tracing::debug!(err = %e.0, "refused collector selection");
            return (
                StatusCode::BAD_REQUEST,
                format!("Couldn't create filtered metrics handler: {}\n", e.0),
            )
                .into_response();
        }
    };

    let deadline = scrape_deadline(&headers, state.scraper.default_timeout());
    let format = negotiate_format(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = accepts_gzip(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let scrape = state.scraper.scrape(&selection, deadline).await;
    let body = scrape.encode(format);

    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let body = if gzip {
        match state.gzip.compress(&body) {
            Ok(compressed) => {
                response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                compressed
            }
            Err(_) => body,
        }
    } else {
        body
    };
    release_start_up_code();
    (StatusCode::OK, response_headers, body).into_response()
}

/// After the first scrape, lets go of the code pages start-up mapped (see
/// [`crate::code_pages`]), off the server thread.
fn release_start_up_code() {
    static FIRST_SCRAPE: Once = Once::new();
    FIRST_SCRAPE.call_once(|| {
        tokio::task::spawn_blocking(|| match code_pages::release() {
            Ok(bytes) => tracing::debug!(bytes, "released the start-up code pages"),
            Err(e) => tracing::debug!(err = %e, "cannot release the start-up code pages"),
        });
    });
}

/// A parsed `--web.listen-address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// `:port`: every interface, IPv6 and IPv4.
    AllInterfaces(u16),
    /// A literal IP and port, e.g. `127.0.0.1:9100` or `[::1]:9100`.
    Socket(SocketAddr),
    /// A host name and port, resolved when binding.
    Named(String, u16),
}

impl ListenAddress {
    /// Parses Go's `host:port` forms: `:9100`, `0.0.0.0:9100`,
    /// `[::1]:9100`, `localhost:9100`.
    pub fn parse(text: &str) -> Result<ListenAddress, String> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?}: missing port (expected host:port or :port)"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{text:?}: invalid port {port:?}"))?;
        if host.is_empty() {
            return Ok(ListenAddress::AllInterfaces(port));
        }
        // Go accepts any IP in brackets, and the prometheus-node-exporter
        // chart passes `[$(HOST_IP)]:9100`, which is an IPv4 address on most
        // clusters.
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(ListenAddress::Socket(SocketAddr::new(ip, port)));
        }
        if host.starts_with('[') || host.contains(':') {
            return Err(format!("{text:?}: invalid IP address"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(format!("{text:?}: invalid host {host:?}"));
        }
        Ok(ListenAddress::Named(host.to_string(), port))
    }

    /// Binds a listener on this address.
    pub async fn bind(&self) -> std::io::Result<TcpListener> {
        match self {
            ListenAddress::AllInterfaces(port) => {
                match bind_socket(SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port)), true) {
                    // Hosts with IPv6 disabled cannot open an IPv6 socket at all.
                    Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
                        bind_socket(SocketAddr::from(([0, 0, 0, 0], *port)), false)
                    }
                    other => other,
                }
            }
            ListenAddress::Socket(addr) => bind_socket(*addr, false),
            ListenAddress::Named(host, port) => {
                let mut last_error = None;
                for addr in tokio::net::lookup_host((host.as_str(), *port)).await? {
                    match bind_socket(addr, false) {
                        Ok(listener) => return Ok(listener),
                        Err(e) => last_error = Some(e),
                    }
                }
                Err(last_error.unwrap_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{host} resolves to no address"),
                    )
                }))
            }
        }
    }
}

fn bind_socket(addr: SocketAddr, dual_stack: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if dual_stack {
        use std::os::fd::AsRawFd;
        let off: libc::c_int = 0;
        // SAFETY: a valid socket fd and a correctly sized int option value.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                (&off as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            ListenAddress::parse(":9100").unwrap(),
            ListenAddress::AllInterfaces(9100)
        );
        assert_eq!(
            ListenAddress::parse("127.0.0.1:9100").unwrap(),
            ListenAddress::Socket("127.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(
            ListenAddress::parse("[::1]:9100").unwrap(),
            ListenAddress::Socket("[::1]:9100".parse().unwrap())
        );
        assert_eq!(
            ListenAddress::parse("[10.0.0.1]:9100").unwrap(),
            ListenAddress::Socket("10.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(
            ListenAddress::parse("localhost:9100").unwrap(),
            ListenAddress::Named("localhost".into(), 9100)
        );
        for bad in [
            "9100",
            "host:",
            ":99999",
            "[::1:9100",
            "a b:1",
            "1.2.3.4.5:x",
        ] {
            assert!(ListenAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn collector_params_repeat_and_decode() {
        let (c, e) = collector_params(Some("collect[]=cpu&collect%5B%5D=meminfo&x=1"));
        assert_eq!(c, vec!["cpu", "meminfo"]);
        assert!(e.is_empty());
        let (c, e) = collector_params(Some("exclude[]=netdev"));
        assert!(c.is_empty());
        assert_eq!(e, vec!["netdev"]);
        assert_eq!(collector_params(None), (vec![], vec![]));
    }

    #[test]
    fn scrape_deadline_honours_prometheus_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-prometheus-scrape-timeout-seconds",
            HeaderValue::from_static("2"),
        );
        let left = scrape_deadline(&headers, Duration::from_secs(10)) - Instant::now();
        assert!(
            left <= Duration::from_millis(1800) && left > Duration::from_millis(1500),
            "{left:?}"
        );
        headers.insert(
            "x-prometheus-scrape-timeout-seconds",
            HeaderValue::from_static("junk"),
        );
        let left = scrape_deadline(&headers, Duration::from_secs(10)) - Instant::now();
        assert!(left > Duration::from_secs(9));
        headers.insert(
            "x-prometheus-scrape-timeout-seconds",
            HeaderValue::from_static("60"),
        );
        let left = scrape_deadline(&headers, Duration::from_secs(10)) - Instant::now();
        assert!(left <= Duration::from_secs(10));
    }
}
