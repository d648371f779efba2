//! The routes: the metrics handler with node_exporter's semantics
//! (`collect[]`/`exclude[]`, client_golang's `name[]` filter, the scrape
//! deadline, the concurrency limit, format negotiation and gzip), the
//! landing page and the probes.

use std::sync::{Arc, Once};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::gzip::GzipPool;
use super::negotiate::{accepts_gzip, negotiate};
use super::readiness::Readiness;
use crate::process::code_pages;
use crate::process::in_flight::InFlight;
use crate::scrape::Scraper;

/// The share of Prometheus's scrape timeout that a scrape may spend
/// collecting; the rest is left for encoding and transfer.
const SCRAPE_TIMEOUT_SHARE: f64 = 0.9;

/// Everything the handlers share.
pub struct AppState {
    scraper: Arc<Scraper>,
    /// Where the metrics are served, matched literally.
    telemetry_path: String,
    /// Bounds concurrent metric requests; `None` when unlimited.
    limiter: Option<Semaphore>,
    max_requests: usize,
    landing_page: String,
    gzip: GzipPool,
    in_flight: InFlight,
    readiness: Readiness,
    /// Whether OpenMetrics is offered in negotiation.
    openmetrics: bool,
}

impl AppState {
    /// State for serving `scraper` at `telemetry_path` with at most
    /// `max_requests` concurrent scrapes (0 = unlimited).
    pub fn new(scraper: Arc<Scraper>, max_requests: usize, telemetry_path: &str) -> AppState {
        let landing_page = landing_page(&scraper.enabled(), telemetry_path);
        let readiness = Readiness::new(scraper.host());
        AppState {
            readiness,
            scraper,
            telemetry_path: telemetry_path.to_string(),
            limiter: (max_requests > 0).then(|| Semaphore::new(max_requests)),
            max_requests,
            landing_page,
            gzip: GzipPool::new(),
            in_flight: InFlight::new(),
            openmetrics: false,
        }
    }

    /// Offers OpenMetrics to clients that prefer it (node_exporter does
    /// not).
    pub fn with_openmetrics(mut self, enabled: bool) -> AppState {
        self.openmetrics = enabled;
        self
    }
}

/// The router: the telemetry path, `/` (landing page), `/-/healthy`,
/// `/-/ready` (see [`Readiness`]); 404 elsewhere, 405 for methods other than
/// GET and HEAD.
///
/// The telemetry path is compared with the request's path as it is, not
/// given to the router as a pattern: any path node_exporter accepts works,
/// `{x}`, `*` and `:` included, and one of the fixed pages' paths serves the
/// metrics instead of that page.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    let fixed: [(&str, MethodRouter<Arc<AppState>>); 3] = [
        ("/-/healthy", get(|| async { "Healthy\n" })),
        ("/-/ready", get(ready)),
        ("/", get(landing)),
    ];
    for (path, page) in fixed {
        if path != state.telemetry_path {
            router = router.route(path, page.fallback(method_not_allowed));
        }
    }
    router.fallback(telemetry_or_not_found).with_state(state)
}

/// The metrics at the telemetry path, 404 elsewhere.
async fn telemetry_or_not_found(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    query: RawQuery,
    headers: HeaderMap,
) -> Response {
    if uri.path() != state.telemetry_path {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed().await;
    }
    metrics(State(state), query, headers).await
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match state.readiness.probe().await {
        Ok(()) => (StatusCode::OK, "Ready\n").into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Not ready: {reason}\n"),
        )
            .into_response(),
    }
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
        crate::process::version::VERSION_LINE
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The query parameters the metrics handler reads.
#[derive(Debug, Default, PartialEq)]
struct MetricsQuery {
    /// `collect[]`: the collectors to run.
    collect: Vec<String>,
    /// `exclude[]`: the enabled collectors not to run.
    exclude: Vec<String>,
    /// `name[]`: the metric families to answer with, by exact name, as
    /// client_golang filters what it gathered; none means all.
    names: Vec<String>,
}

/// `collect[]`, `exclude[]` and `name[]` values from a raw query string.
fn metrics_query(query: Option<&str>) -> MetricsQuery {
    let mut params = MetricsQuery::default();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "collect[]" => params.collect.push(value.into_owned()),
            "exclude[]" => params.exclude.push(value.into_owned()),
            "name[]" => params.names.push(value.into_owned()),
            _ => {}
        }
    }
    params
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
    let query = metrics_query(query.as_deref());
    let selection = match state.scraper.select(&query.collect, &query.exclude) {
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
    let negotiated = negotiate(
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()),
        state.openmetrics,
    );
    let gzip = accepts_gzip(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let scrape = state.scraper.scrape(&selection, deadline).await;
    let mut families = scrape.families();
    if !query.names.is_empty() {
        families.retain(|family| query.names.iter().any(|name| name == family.name()));
    }
    let mut body = Vec::with_capacity(64 * 1024);
    negotiated
        .format
        .encode_escaped(&families, negotiated.escaping, &mut body);
    drop(families);
    // Its families, freed before the request ends (see `InFlight`).
    drop(scrape);

    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(negotiated.content_type()),
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
/// [`crate::process::code_pages`]), off the server thread.
fn release_start_up_code() {
    static FIRST_SCRAPE: Once = Once::new();
    FIRST_SCRAPE.call_once(|| {
        tokio::task::spawn_blocking(|| match code_pages::release() {
            Ok(bytes) => tracing::debug!(bytes, "released the start-up code pages"),
            Err(e) => tracing::debug!(err = %e, "cannot release the start-up code pages"),
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_repeat_and_decode() {
        let q = metrics_query(Some("collect[]=cpu&collect%5B%5D=meminfo&x=1&name=y"));
        assert_eq!(q.collect, vec!["cpu", "meminfo"]);
        assert!(q.exclude.is_empty() && q.names.is_empty());
        let q = metrics_query(Some("exclude[]=netdev"));
        assert!(q.collect.is_empty());
        assert_eq!(q.exclude, vec!["netdev"]);
        let q = metrics_query(Some("name[]=node_load1&name%5B%5D=a%2Eb&name[]="));
        assert_eq!(q.names, vec!["node_load1", "a.b", ""]);
        assert_eq!(metrics_query(None), MetricsQuery::default());
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
