//! The request guard in front of every route (metrics, landing page,
//! health endpoints and 404s alike, as exporter-toolkit guards its whole
//! handler): request size, rate limit, configured response headers, then
//! basic authentication.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::basic_auth::BasicAuth;
use super::rate_limit::RateLimiter;
use super::web_config::WebConfig;

/// The largest request body accepted: every endpoint is a GET, so anything
/// bigger is not a scrape.
pub const MAX_REQUEST_BODY: u64 = 4096;

/// What one web configuration asks of every request and response.
pub struct Guard {
    headers: Vec<(HeaderName, HeaderValue)>,
    limiter: Option<Arc<RateLimiter>>,
    auth: Option<Arc<BasicAuth>>,
}

/// Where each request finds the guard in force (the web configuration is
/// re-read when its file changes).
pub type CurrentGuard = Arc<dyn Fn() -> Arc<Guard> + Send + Sync>;

impl Guard {
    /// The guard `config` describes. Given the guard of the configuration
    /// it replaces, it keeps that one's rate-limit bucket when the limit is
    /// the same (a reload must not refill it) and its users' verified
    /// credentials when the users are the same.
    pub fn new(config: &WebConfig, replacing: Option<(&WebConfig, &Guard)>) -> Guard {
        let headers = config
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect();
        let limiter = match replacing {
            Some((old, guard)) if old.rate_limit == config.rate_limit => guard.limiter.clone(),
            _ => config
                .rate_limit
                .map(|limit| Arc::new(RateLimiter::new(limit))),
        };
        let auth = match replacing {
            Some((old, guard)) if old.basic_auth_users == config.basic_auth_users => {
                guard.auth.clone()
            }
            _ => BasicAuth::new(&config.basic_auth_users).map(Arc::new),
        };
        Guard {
            headers,
            limiter,
            auth,
        }
    }

    /// `router` with every request passing the guard `current` gives first.
    pub fn protect(router: Router, current: CurrentGuard) -> Router {
        router.layer(axum::middleware::from_fn_with_state(current, guard))
    }
}

async fn guard(State(current): State<CurrentGuard>, request: Request, next: Next) -> Response {
    let guard = current();
    if too_big(&request) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            "Payload Too Large\n",
        )
            .into_response();
    }
    if guard.limiter.as_ref().is_some_and(|l| !l.allow()) {
        return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response();
    }
    let mut response = match &guard.auth {
        None => next.run(request).await,
        Some(auth) => {
            let credentials = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            if auth.authorize(credentials).await {
                next.run(request).await
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Basic")],
                    "Unauthorized\n",
                )
                    .into_response()
            }
        }
    };
    for (name, value) in &guard.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// A declared body over the limit, or a chunked one of unknown size.
fn too_big(request: &Request) -> bool {
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().parse::<u64>().unwrap_or(u64::MAX));
    declared.is_some_and(|length| length > MAX_REQUEST_BODY)
        || headers.contains_key(header::TRANSFER_ENCODING)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use base64::Engine;
    use std::path::Path;
    use tower::ServiceExt;

    fn app(config: &str) -> Router {
        let config = WebConfig::parse(config, Path::new(".")).unwrap();
        let guard = Arc::new(Guard::new(&config, None));
        Guard::protect(
            Router::new().route("/", get(|| async { "ok" })),
            Arc::new(move || Arc::clone(&guard)),
        )
    }

    async fn send(app: &Router, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::builder().uri("/");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        app.clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn basic(user: &str, password: &str) -> String {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}")
    }

    #[tokio::test]
    async fn headers_on_every_response() {
        let app = app(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    \
             Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\n",
        );
        let response = send(&app, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-frame-options"], "deny");
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        assert!(
            !response.headers().contains_key("x-xss-protection"),
            "blank means unset"
        );
    }

    #[tokio::test]
    async fn basic_auth_401_and_200() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let app = app(&format!(
            "basic_auth_users:\n  alice: '{hash}'\nhttp_server_config:\n  headers:\n    \
             X-Content-Type-Options: nosniff\n"
        ));
        let denied = send(&app, &[]).await;
        assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(denied.headers()["www-authenticate"], "Basic");
        assert_eq!(
            denied.headers()["x-content-type-options"],
            "nosniff",
            "headers are set on refusals too"
        );
        let wrong = send(&app, &[("authorization", &basic("alice", "nope"))]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let unknown = send(&app, &[("authorization", &basic("eve", "pw"))]).await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        let allowed = send(&app, &[("authorization", &basic("alice", "pw"))]).await;
        assert_eq!(allowed.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn rate_limit_429() {
        let app = app("rate_limit:\n  interval: 1h\n  burst: 2\n");
        assert_eq!(send(&app, &[]).await.status(), StatusCode::OK);
        assert_eq!(send(&app, &[]).await.status(), StatusCode::OK);
        assert_eq!(
            send(&app, &[]).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test]
    async fn request_bodies_are_refused() {
        let app = app("");
        assert_eq!(
            send(&app, &[("content-length", "1000000")]).await.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            send(&app, &[("transfer-encoding", "chunked")])
                .await
                .status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            send(&app, &[("content-length", "0")]).await.status(),
            StatusCode::OK
        );
    }
}
