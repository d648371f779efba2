//! Where the Kubernetes API server is and how the agent authenticates to
//! it: from a kubeconfig file (`--web.auth.kubernetes.kubeconfig`) or the
//! pod's service account (the `KUBERNETES_SERVICE_HOST`/`_PORT` environment,
//! the mounted CA and token). The token is read from its file for every
//! call, so the kubelet's rotation of a projected token needs no restart.
//! Calls are HTTPS POSTs of one JSON body each, on a fresh connection:
//! reviews are rare (their results are cached), so no pool is kept.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The service account's files in a pod.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The largest answer read from the API server; a review is a few KiB.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Where the agent's own bearer token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Re-read for every call (a projected token rotates).
    File(PathBuf),
    /// Given in the kubeconfig itself.
    Inline(String),
}

/// The API server as configured: address, CA and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerConfig {
    /// Host name or IP address (without brackets).
    pub host: String,
    pub port: u16,
    /// A path prefix the server is served under (usually empty).
    pub path_prefix: String,
    /// PEM certificates the server's certificate must chain to.
    pub ca_pem: Vec<u8>,
    pub token: Token,
}

impl ApiServerConfig {
    /// The pod's own service account, as client-go's in-cluster
    /// configuration finds it.
    pub fn in_cluster() -> Result<ApiServerConfig, String> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").unwrap_or_default();
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_default();
        if host.is_empty() || port.is_empty() {
            return Err("--web.auth.kubernetes: not running in a Kubernetes pod \
                 (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset); \
                 give --web.auth.kubernetes.kubeconfig"
                .to_string());
        }
        let port = port.parse().map_err(|_| {
            format!("--web.auth.kubernetes: KUBERNETES_SERVICE_PORT {port:?} is not a port")
        })?;
        let dir = Path::new(SERVICE_ACCOUNT_DIR);
        let ca_path = dir.join("ca.crt");
        let ca_pem = fs::read(&ca_path).map_err(|e| {
            format!(
                "--web.auth.kubernetes: cannot read the service account's CA {}: {e}",
                ca_path.display()
            )
        })?;
        Ok(ApiServerConfig {
            host,
            port,
            path_prefix: String::new(),
            ca_pem,
            token: Token::File(dir.join("token")),
        })
    }

    /// The cluster and user of `path`'s current context (or of its only
    /// context). An error names the file and what is wrong.
    pub fn from_kubeconfig(path: &Path) -> Result<ApiServerConfig, String> {
        let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        parse_kubeconfig(&text, dir)
    }

    /// The TLS client configuration trusting the configured CA alone.
    pub fn client_tls(&self) -> Result<Arc<ClientConfig>, String> {
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_slice_iter(&self.ca_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("certificate authority: {e}"))?;
        if certs.is_empty() {
            return Err("certificate authority: no PEM certificate found".to_string());
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("certificate authority: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS client: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

#[derive(Deserialize)]
struct Kubeconfig {
    #[serde(rename = "current-context", default)]
    current_context: String,
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
    #[serde(default)]
    users: Vec<Named<User>>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    value: T,
}

#[derive(Deserialize)]
struct Cluster {
    server: String,
    #[serde(rename = "certificate-authority", default)]
    certificate_authority: Option<PathBuf>,
    #[serde(rename = "certificate-authority-data", default)]
    certificate_authority_data: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default)]
    insecure_skip_tls_verify: bool,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    token: Option<String>,
    #[serde(rename = "tokenFile", default)]
    token_file: Option<PathBuf>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Deserialize)]
struct Context {
    cluster: String,
    user: String,
}

/// Reads a kubeconfig's current context; relative file names are taken
/// from `dir`, the kubeconfig's own directory, as kubectl does.
pub fn parse_kubeconfig(text: &str, dir: &Path) -> Result<ApiServerConfig, String> {
    let config: Kubeconfig =
        serde_yaml::from_str(text).map_err(|e| format!("not a kubeconfig: {e}"))?;
    let context = if config.current_context.is_empty() {
        match config.contexts.as_slice() {
            [only] => only,
            _ => return Err("no current-context, and not exactly one context".to_string()),
        }
    } else {
        find(&config.contexts, &config.current_context, "context")?
    };
    let cluster = &find(&config.clusters, &context.value.cluster, "cluster")?.value;
    let user = &find(&config.users, &context.value.user, "user")?.value;
    if cluster.insecure_skip_tls_verify {
        return Err(format!(
            "cluster {:?}: insecure-skip-tls-verify would send tokens to any server; \
             give its certificate-authority",
            context.value.cluster
        ));
    }
    let ca_pem = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(data), _) => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("certificate-authority-data: {e}"))?,
        (None, Some(file)) => {
            let file = dir.join(file);
            fs::read(&file).map_err(|e| format!("certificate-authority {}: {e}", file.display()))?
        }
        (None, None) => {
            return Err(format!(
                "cluster {:?} has no certificate-authority or certificate-authority-data",
                context.value.cluster
            ))
        }
    };
    let token = match (&user.token, &user.token_file) {
        (Some(token), _) if !token.is_empty() => Token::Inline(token.clone()),
        (_, Some(file)) => Token::File(dir.join(file)),
        _ => {
            let others: Vec<&str> = user.other.keys().map(String::as_str).collect();
            return Err(format!(
                "user {:?} has no token or tokenFile (only bearer tokens are supported{})",
                context.value.user,
                if others.is_empty() {
                    String::new()
                } else {
                    format!("; it has {}", others.join(", "))
                }
            ));
        }
    };
    let (host, port, path_prefix) = parse_server(&cluster.server)?;
    Ok(ApiServerConfig {
        host,
        port,
        path_prefix,
        ca_pem,
        token,
    })
}

fn find<'a, T>(items: &'a [Named<T>], name: &str, what: &str) -> Result<&'a Named<T>, String> {
    items
        .iter()
        .find(|item| item.name == name)
        .ok_or_else(|| format!("no {what} named {name:?}"))
}

/// Splits `https://host[:port][/prefix]` into its parts; only HTTPS is
/// accepted, since bearer tokens travel in the requests.
fn parse_server(server: &str) -> Result<(String, u16, String), String> {
    let rest = server
        .strip_prefix("https://")
        .ok_or_else(|| format!("server {server:?}: only https:// servers are accepted"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let bad = || format!("server {server:?}: not host[:port]");
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port {
        Some(port) => port.parse().map_err(|_| bad())?,
        None => 443,
    };
    Ok((host.to_string(), port, prefix.to_string()))
}

/// A client for the configured API server.
pub struct ApiServer {
    config: ApiServerConfig,
    connector: TlsConnector,
    server_name: ServerName<'static>,
    /// The Host header: the host, bracketed if IPv6, and the port.
    authority: String,
}

impl ApiServer {
    pub fn new(config: ApiServerConfig) -> Result<ApiServer, String> {
        let connector = TlsConnector::from(config.client_tls()?);
        let server_name = match config.host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(config.host.clone())
                .map_err(|e| format!("server host {:?}: {e}", config.host))?,
        };
        let authority = if config.host.contains(':') {
            format!("[{}]:{}", config.host, config.port)
        } else {
            format!("{}:{}", config.host, config.port)
        };
        Ok(ApiServer {
            config,
            connector,
            server_name,
            authority,
        })
    }

    /// `https://host:port`, for logs.
    pub fn url(&self) -> String {
        format!("https://{}{}", self.authority, self.config.path_prefix)
    }

    /// The agent's bearer token now.
    fn token(&self) -> Result<String, String> {
        match &self.config.token {
            Token::Inline(token) => Ok(token.clone()),
            Token::File(path) => {
                let token = fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the token {}: {e}", path.display()))?;
                let token = token.trim();
                if token.is_empty() {
                    return Err(format!("the token file {} is empty", path.display()));
                }
                Ok(token.to_string())
            }
        }
    }

    /// POSTs `body` (JSON) to `path` and returns the answer's body when the
    /// API server created the object (200 or 201).
    pub async fn create(&self, path: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
        let token = self.token()?;
        let tcp = TcpStream::connect((self.config.host.as_str(), self.config.port))
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.url()))?;
        let _ = tcp.set_nodelay(true);
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS with {}: {e}", self.url()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP with {}: {e}", self.url()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.config.path_prefix))
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("hostwatch/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request to {path}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = response.status();
        let answer = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| format!("POST {path}: reading the answer: {e}"))?
            .to_bytes();
        if status != StatusCode::OK && status != StatusCode::CREATED {
            let shown = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
            return Err(format!("POST {path}: {status}: {}", shown.trim()));
        }
        Ok(answer.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n";

    fn kubeconfig(user: &str, cluster_extra: &str) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(CA);
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: ctx\nclusters:\n- name: c\n  cluster:\n    \
             server: https://10.96.0.1:6443\n    certificate-authority-data: {ca}\n{cluster_extra}\
             contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n{user}"
        )
    }

    #[test]
    fn reads_the_current_context() {
        let config =
            parse_kubeconfig(&kubeconfig("    token: abc\n", ""), Path::new("/etc/k")).unwrap();
        assert_eq!(config.host, "10.96.0.1");
        assert_eq!(config.port, 6443);
        assert_eq!(config.path_prefix, "");
        assert_eq!(config.ca_pem, CA.as_bytes());
        assert_eq!(config.token, Token::Inline("abc".into()));
        let config = parse_kubeconfig(
            &kubeconfig("    tokenFile: token\n", ""),
            Path::new("/etc/k"),
        )
        .unwrap();
        assert_eq!(config.token, Token::File("/etc/k/token".into()));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let cases = [
            (
                kubeconfig("    client-certificate: c.pem\n    client-key: k.pem\n", ""),
                "client-certificate",
            ),
            (
                kubeconfig("    token: abc\n", "    insecure-skip-tls-verify: true\n"),
                "insecure",
            ),
            (
                kubeconfig("    token: abc\n", "").replace("https://", "http://"),
                "only https",
            ),
            (
                kubeconfig("    token: abc\n", "")
                    .replace("current-context: ctx", "current-context: other"),
                "no context named",
            ),
            ("clusters: [".to_string(), "not a kubeconfig"),
            (String::new(), "not exactly one context"),
        ];
        for (text, expected) in cases {
            let err = parse_kubeconfig(&text, Path::new(".")).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn splits_server_urls() {
        assert_eq!(
            parse_server("https://k8s.example:443").unwrap(),
            ("k8s.example".into(), 443, String::new())
        );
        assert_eq!(
            parse_server("https://k8s.example").unwrap(),
            ("k8s.example".into(), 443, String::new())
        );
        assert_eq!(
            parse_server("https://[fd00::1]:6443/").unwrap(),
            ("fd00::1".into(), 6443, String::new())
        );
        assert_eq!(
            parse_server("https://[fd00::1]").unwrap(),
            ("fd00::1".into(), 443, String::new())
        );
        assert_eq!(
            parse_server("https://rancher.example/k8s/clusters/c-1").unwrap(),
            ("rancher.example".into(), 443, "/k8s/clusters/c-1".into())
        );
        for bad in [
            "http://a",
            "https://",
            "https://a:b",
            "https://a:99999",
            "https://[::1",
            "https://[::1]x",
        ] {
            assert!(parse_server(bad).is_err(), "{bad}");
        }
    }
}
