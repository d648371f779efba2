//! Access control by the Kubernetes API (`--web.auth.kubernetes`), as
//! kube-rbac-proxy does it: a request's bearer token is reviewed with a
//! TokenReview, then whether its user may `get` the request's path with a
//! SubjectAccessReview on the non-resource URL. No or bad token: 401;
//! authenticated but not allowed: 403; reviews that fail or time out: 503.
//! The probes (`/-/healthy`, `/-/ready`) stay open, since the kubelet sends
//! no token. Both answers are cached ([`cache`]) and reviews rate-limited, so
//! neither scrapes nor a flood of forged tokens load the API server.
//!
//! May import: the rest of the HTTP layer below it.

pub mod api_server;
pub mod cache;
pub mod review;
pub mod self_signed;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use self::api_server::{ApiServer, ApiServerConfig};
use self::cache::TtlCache;
use self::review::{Authentication, Authorization, UserInfo};
use super::rate_limit::{RateLimit, RateLimiter};
use crate::logging::Throttle;

/// How long a request may wait for its reviews (both of them) before it
/// is refused with 503: a hung API server must not hold scrapes.
pub const REVIEW_TIMEOUT: Duration = Duration::from_secs(3);

/// Reviews started at most: 10 a second on average, 20 at once. A cache
/// miss costs one or two API calls; Prometheus scraping a node costs one
/// review per token every [`cache::ALLOWED_TTL`].
const REVIEW_RATE: RateLimit = RateLimit {
    interval: Duration::from_millis(100),
    burst: 20,
};

/// Paths answered without a token.
const OPEN_PATHS: [&str; 2] = ["/-/healthy", "/-/ready"];

static REVIEW_FAILURES: Throttle = Throttle::new(Duration::from_secs(60));
static REVIEWS_THROTTLED: Throttle = Throttle::new(Duration::from_secs(60));

/// The flags of Kubernetes access control.
#[derive(Debug, Clone, Default, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Require a Kubernetes bearer token on every request but the probes: the token is checked with a TokenReview, then access to the request's path with a SubjectAccessReview (verb get). Serves TLS with a generated certificate unless --web.config.file configures TLS.
    #[arg(long = "web.auth.kubernetes")]
    pub enabled: bool,

    /// A kubeconfig naming the API server, its certificate authority and the agent's token (token or tokenFile). Default: the pod's service account.
    #[arg(long = "web.auth.kubernetes.kubeconfig", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Audience a token must be valid for (TokenReview audiences). Repeatable, or comma-separated. Default: the API server's own.
    #[arg(long = "web.auth.kubernetes.audiences", value_name = "AUDIENCE", action = clap::ArgAction::Append, value_delimiter = ',')]
    pub audiences: Vec<String>,
}

/// Kubernetes access control for one agent.
pub struct KubernetesAuth {
    api: ApiServer,
    audiences: Vec<String>,
    /// The telemetry path: never open, even if it is a probe's path.
    telemetry_path: String,
    /// Who each token belongs to; `None` for a rejected token.
    tokens: TtlCache<Option<UserInfo>>,
    /// Whether a user may use a verb on a path.
    access: TtlCache<bool>,
    reviews: RateLimiter,
    timeout: Duration,
}

/// The outcome of the reviews for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Allowed,
    /// The token is not valid: 401.
    Unauthenticated,
    /// The token's user may not use the verb on the path: 403.
    Forbidden,
}

/// Why a request could not be decided.
#[derive(Debug)]
enum Undecided {
    /// The review rate limit was reached.
    Throttled,
    /// A review failed or timed out.
    Failed(String),
}

impl KubernetesAuth {
    /// Access control as `flags` ask for; `None` when off. An error names
    /// the flag or file at fault.
    pub fn from_flags(
        flags: &Flags,
        telemetry_path: &str,
    ) -> Result<Option<KubernetesAuth>, String> {
        if !flags.enabled {
            if flags.kubeconfig.is_some() || !flags.audiences.is_empty() {
                return Err(
                    "--web.auth.kubernetes.kubeconfig and --web.auth.kubernetes.audiences \
                            need --web.auth.kubernetes"
                        .to_string(),
                );
            }
            return Ok(None);
        }
        let config = match &flags.kubeconfig {
            Some(path) => ApiServerConfig::from_kubeconfig(path)
                .map_err(|e| format!("--web.auth.kubernetes.kubeconfig {}: {e}", path.display()))?,
            None => ApiServerConfig::in_cluster()?,
        };
        let audiences: Vec<String> = flags
            .audiences
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let api = ApiServer::new(config).map_err(|e| format!("--web.auth.kubernetes: {e}"))?;
        Ok(Some(KubernetesAuth::new(
            api,
            audiences,
            telemetry_path,
            REVIEW_TIMEOUT,
        )))
    }

    fn new(
        api: ApiServer,
        audiences: Vec<String>,
        telemetry_path: &str,
        timeout: Duration,
    ) -> KubernetesAuth {
        KubernetesAuth {
            api,
            audiences,
            telemetry_path: telemetry_path.to_string(),
            tokens: TtlCache::default(),
            access: TtlCache::default(),
            reviews: RateLimiter::new(REVIEW_RATE),
            timeout,
        }
    }

    /// The API server reviews go to, for the start-up log.
    pub fn api_server_url(&self) -> String {
        self.api.url()
    }

    /// `router` with every request but the probes checked first.
    pub fn protect(router: Router, auth: Arc<KubernetesAuth>) -> Router {
        router.layer(axum::middleware::from_fn_with_state(auth, check))
    }

    /// The decision for `token` asking to `verb` `path`, within the review
    /// timeout.
    async fn decide(&self, token: &str, verb: &str, path: &str) -> Result<Decision, Undecided> {
        tokio::time::timeout(self.timeout, self.decide_untimed(token, verb, path))
            .await
            .map_err(|_| {
                Undecided::Failed(format!(
                    "no answer from {} within {:?}",
                    self.api.url(),
                    self.timeout
                ))
            })?
    }

    /// Who the token belongs to, then whether that user may `verb` `path`:
    /// each from its cache, else from a review (then cached).
    async fn decide_untimed(
        &self,
        token: &str,
        verb: &str,
        path: &str,
    ) -> Result<Decision, Undecided> {
        let token_key = cache::token_key(token);
        let user = match self.tokens.get(&token_key, Instant::now()) {
            Some(user) => user,
            None => {
                self.take_review()?;
                let user = self.authenticate(token).await.map_err(Undecided::Failed)?;
                let ttl = if user.is_some() {
                    cache::ALLOWED_TTL
                } else {
                    cache::DENIED_TTL
                };
                self.tokens
                    .put(token_key, user.clone(), ttl, Instant::now());
                user
            }
        };
        let Some(user) = user else {
            return Ok(Decision::Unauthenticated);
        };
        let access_key = cache::access_key(&user, verb, path);
        let allowed = match self.access.get(&access_key, Instant::now()) {
            Some(allowed) => allowed,
            None => {
                self.take_review()?;
                let allowed = self
                    .authorize(&user, verb, path)
                    .await
                    .map_err(Undecided::Failed)?;
                let ttl = if allowed {
                    cache::ALLOWED_TTL
                } else {
                    cache::DENIED_TTL
                };
                self.access.put(access_key, allowed, ttl, Instant::now());
                allowed
            }
        };
        Ok(if allowed {
            Decision::Allowed
        } else {
            Decision::Forbidden
        })
    }

    fn take_review(&self) -> Result<(), Undecided> {
        if self.reviews.allow() {
            Ok(())
        } else {
            Err(Undecided::Throttled)
        }
    }

    /// The token's user by TokenReview; `None` when the token is rejected.
    async fn authenticate(&self, token: &str) -> Result<Option<UserInfo>, String> {
        let answer = self
            .api
            .create(
                review::TOKEN_REVIEW_PATH,
                review::token_review_request(token, &self.audiences),
            )
            .await?;
        match review::parse_token_review(&answer, &self.audiences)? {
            Authentication::Authenticated(user) => Ok(Some(user)),
            Authentication::Rejected(reason) => {
                tracing::debug!(reason, "token rejected");
                Ok(None)
            }
        }
    }

    /// Whether `user` may `verb` `path`, by SubjectAccessReview.
    async fn authorize(&self, user: &UserInfo, verb: &str, path: &str) -> Result<bool, String> {
        let answer = self
            .api
            .create(
                review::SUBJECT_ACCESS_REVIEW_PATH,
                review::subject_access_review_request(user, path, verb),
            )
            .await?;
        match review::parse_subject_access_review(&answer)? {
            Authorization::Allowed => Ok(true),
            Authorization::Denied(reason) => {
                tracing::debug!(user = user.username, path, verb, reason, "access denied");
                Ok(false)
            }
        }
    }

    fn is_open(&self, path: &str) -> bool {
        OPEN_PATHS.contains(&path) && path != self.telemetry_path
    }
}

/// The bearer token of an `Authorization` header, if any.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The Kubernetes verb of an HTTP method on a non-resource URL.
fn verb(method: &Method) -> String {
    match *method {
        Method::GET | Method::HEAD => "get".to_string(),
        Method::POST => "create".to_string(),
        Method::PUT => "update".to_string(),
        _ => method.as_str().to_ascii_lowercase(),
    }
}

async fn check(State(auth): State<Arc<KubernetesAuth>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if auth.is_open(path) {
        return next.run(request).await;
    }
    let Some(token) = bearer_token(request.headers()) else {
        return unauthorized();
    };
    let verb = verb(request.method());
    match auth.decide(token, &verb, path).await {
        Ok(Decision::Allowed) => next.run(request).await,
        Ok(Decision::Unauthenticated) => unauthorized(),
        Ok(Decision::Forbidden) => (
            StatusCode::FORBIDDEN,
            format!("Forbidden: the token's user may not {verb} {path}\n"),
        )
            .into_response(),
        Err(Undecided::Throttled) => {
            if let Some(count) = REVIEWS_THROTTLED.event() {
                tracing::warn!(
                    refused = count,
                    "token reviews over their rate limit; refusing with 503"
                );
            }
            unavailable("too many token reviews; try again later")
        }
        Err(Undecided::Failed(err)) => {
            if let Some(count) = REVIEW_FAILURES.event() {
                tracing::warn!(
                    err,
                    failures = count,
                    "token review failed; refusing with 503"
                );
            }
            unavailable("cannot review the token with the Kubernetes API")
        }
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "Unauthorized\n",
    )
        .into_response()
}

fn unavailable(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        format!("Service Unavailable: {reason}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tokio::net::TcpListener;
    use tower::ServiceExt;

    /// The protected router, reviewing with an API server at `port` on
    /// loopback, giving up after `timeout`.
    fn app(port: u16, timeout: Duration) -> Router {
        let ca = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let config = ApiServerConfig {
            host: "127.0.0.1".into(),
            port,
            path_prefix: String::new(),
            ca_pem: ca.cert.pem().into_bytes(),
            token: api_server::Token::Inline("agent".into()),
        };
        let auth = KubernetesAuth::new(
            ApiServer::new(config).unwrap(),
            Vec::new(),
            "/metrics",
            timeout,
        );
        let router = Router::new()
            .route("/metrics", get(|| async { "metrics" }))
            .route("/-/healthy", get(|| async { "Healthy" }));
        KubernetesAuth::protect(router, Arc::new(auth))
    }

    async fn send(app: &Router, path: &str, token: Option<&str>) -> Response {
        let mut request = Request::builder().uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        app.clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    /// A port nothing listens on.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn probes_open_others_need_a_token() {
        let app = app(closed_port().await, Duration::from_secs(1));
        assert_eq!(
            send(&app, "/-/healthy", None).await.status(),
            StatusCode::OK
        );
        let refused = send(&app, "/metrics", None).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            send(&app, "/elsewhere", None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn an_unreachable_api_server_fails_closed() {
        let app = app(closed_port().await, Duration::from_secs(1));
        let response = send(&app, "/metrics", Some("t")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[tokio::test]
    async fn a_hung_api_server_fails_closed_in_time() {
        // Accepts connections and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let app = app(port, Duration::from_millis(300));
        let started = std::time::Instant::now();
        let response = send(&app, "/metrics", Some("t")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            send(&app, "/-/healthy", None).await.status(),
            StatusCode::OK
        );
        held.abort();
    }

    #[tokio::test]
    async fn reviews_are_rate_limited() {
        let app = app(closed_port().await, Duration::from_secs(1));
        let mut throttled = 0;
        for i in 0..60 {
            let response = send(&app, "/metrics", Some(&format!("forged-{i}"))).await;
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            if body.starts_with(b"Service Unavailable: too many token reviews") {
                throttled += 1;
            }
        }
        assert!(
            throttled >= 4,
            "{throttled} of {} throttled",
            REVIEW_RATE.burst + 5
        );
    }

    #[test]
    fn bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        for (value, expected) in [
            ("Bearer abc.def", Some("abc.def")),
            ("bearer  abc ", Some("abc")),
            ("Basic YTpi", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer_token(&headers), expected, "{value:?}");
        }
    }

    #[test]
    fn verbs_follow_the_api_server() {
        assert_eq!(verb(&Method::GET), "get");
        assert_eq!(verb(&Method::HEAD), "get");
        assert_eq!(verb(&Method::POST), "create");
        assert_eq!(verb(&Method::DELETE), "delete");
    }
}
