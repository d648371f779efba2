//! The `--web.config.file` format shared by Prometheus exporters
//! (exporter-toolkit): parsed strictly, so that a typo or a value hostwatch
//! cannot honour stops start-up instead of silently weakening security.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::rate_limit::RateLimit;
use super::tls::{self, ClientAuth, Source, TlsSettings, TlsVersion};

/// A validated web configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// TLS settings; `None` serves plain HTTP.
    pub tls: Option<TlsSettings>,
    /// Whether HTTP/2 is offered over TLS (exporter-toolkit's default);
    /// plain HTTP is HTTP/1.1 only, as in Go.
    pub http2: bool,
    /// Users and their bcrypt hashes; empty means no authentication.
    pub basic_auth_users: BTreeMap<String, String>,
    /// Extra response headers, already checked against the allowed set.
    pub headers: Vec<(String, String)>,
    /// The request rate limit, if any.
    pub rate_limit: Option<RateLimit>,
}

/// No file: plain HTTP, no authentication.
impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            tls: None,
            http2: true,
            basic_auth_users: BTreeMap::new(),
            headers: Vec::new(),
            rate_limit: None,
        }
    }
}

/// Response headers the configuration may set, with the values allowed
/// (empty: any value). The same set exporter-toolkit allows, so that one
/// file works for every exporter.
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Content-Security-Policy", &[]),
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RawRateLimit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_ca_file: Option<String>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<String>,
    burst: Option<u32>,
}

impl WebConfig {
    /// Reads and validates the file at `path`; relative file names inside it
    /// are resolved against its directory, as exporter-toolkit does.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read web config {}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, dir)
            .map_err(|e| format!("invalid web config {}: {e}", path.display()))
    }

    /// Parses and validates configuration text; `dir` anchors relative file
    /// names. Files are not opened here.
    pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
        // An empty file is a valid, empty configuration.
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| e.to_string())?
        };
        let tls = match raw.tls_server_config {
            Some(tls) => tls_settings(tls, dir)?,
            None => None,
        };
        let http = raw.http_server_config.unwrap_or_default();
        let headers = header_policy(http.headers.unwrap_or_default())?;
        let basic_auth_users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &basic_auth_users {
            check_bcrypt_hash(user, hash)?;
        }
        let rate_limit = match raw.rate_limit {
            Some(limit) => rate_limit(limit)?,
            None => None,
        };
        Ok(WebConfig {
            tls,
            http2: http.http2.unwrap_or(true),
            basic_auth_users,
            headers,
            rate_limit,
        })
    }
}

/// The source of one PEM item given either inline (`key`) or as a file
/// (`key_file`), but not both.
fn source(
    inline: Option<String>,
    file: Option<String>,
    key: &str,
    dir: &Path,
) -> Result<Option<Source>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: {key} and {key}_file are mutually exclusive"
        )),
        (Some(text), None) if !text.trim().is_empty() => Ok(Some(Source::Inline(text))),
        (None, Some(name)) if !name.is_empty() => Ok(Some(Source::File(dir.join(name)))),
        _ => Ok(None),
    }
}

fn tls_settings(raw: RawTls, dir: &Path) -> Result<Option<TlsSettings>, String> {
    let cert = source(raw.cert, raw.cert_file, "cert", dir)?;
    let key = source(raw.key, raw.key_file, "key", dir)?;
    let client_ca = source(raw.client_ca, raw.client_ca_file, "client_ca", dir)?;
    let client_auth = ClientAuth::parse(raw.client_auth_type.as_deref().unwrap_or(""))?;
    let (cert, key) = match (cert, key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => {
            return Err(
                "tls_server_config: cert_file (or cert) and key_file (or key) are required"
                    .to_string(),
            )
        }
        (None, Some(_)) => return Err("tls_server_config: missing cert_file (or cert)".to_string()),
        (Some(_), None) => return Err("tls_server_config: missing key_file (or key)".to_string()),
    };
    if client_auth.verifies() && client_ca.is_none() {
        return Err(format!(
            "tls_server_config: client_auth_type {client_auth:?} needs client_ca_file"
        ));
    }
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err(
            "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert"
                .to_string(),
        );
    }
    let client_allowed_sans = raw.client_allowed_sans.unwrap_or_default();
    // Go never asks for a certificate under NoClientCert, so the list would
    // silently allow everyone: refused rather than ignored.
    if !client_allowed_sans.is_empty() && client_auth == ClientAuth::NoClientCert {
        return Err(
            "tls_server_config.client_allowed_sans: needs a client_auth_type that asks for a \
             client certificate (e.g. RequireAndVerifyClientCert)"
                .to_string(),
        );
    }
    let min_version = match raw.min_version.as_deref() {
        None | Some("") => TlsVersion::Tls12,
        Some(name) => TlsVersion::parse("min_version", name)?,
    };
    let max_version = match raw.max_version.as_deref() {
        None | Some("") => TlsVersion::Tls13,
        Some(name) => TlsVersion::parse("max_version", name)?,
    };
    if min_version > max_version {
        return Err("tls_server_config: min_version is above max_version".to_string());
    }
    let settings = TlsSettings {
        cert,
        key,
        client_ca,
        client_auth,
        min_version,
        max_version,
        cipher_suites: raw.cipher_suites.unwrap_or_default(),
        prefer_server_cipher_suites: raw.prefer_server_cipher_suites.unwrap_or(true),
        curve_preferences: raw.curve_preferences.unwrap_or_default(),
        client_allowed_sans,
    };
    // Names are checked now so that a typo fails start-up, not a handshake.
    tls::check_names(&settings)?;
    Ok(Some(settings))
}

fn header_policy(headers: BTreeMap<String, String>) -> Result<Vec<(String, String)>, String> {
    let mut policy = Vec::new();
    for (name, value) in headers {
        let Some((canonical, allowed)) = ALLOWED_HEADERS
            .iter()
            .find(|(allowed, _)| allowed.eq_ignore_ascii_case(&name))
        else {
            return Err(format!(
                "http_server_config.headers: HTTP header {name:?} can not be configured \
                 (allowed: Content-Security-Policy, Strict-Transport-Security, \
                 X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)"
            ));
        };
        if value.is_empty() {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(format!(
                "http_server_config.headers: invalid value {value:?} for {canonical} \
                 (expected one of: {})",
                allowed.join(", ")
            ));
        }
        if axum::http::HeaderValue::from_str(&value).is_err() {
            return Err(format!(
                "http_server_config.headers: {canonical}: value is not a valid header value"
            ));
        }
        policy.push((canonical.to_string(), value));
    }
    Ok(policy)
}

/// The highest bcrypt cost accepted. Each step doubles a check's work: a
/// check at cost 16 takes some 5 s of a core on a 2-vCPU VM, one at 17
/// longer than Prometheus's default scrape timeout, and one at 31 days.
pub const MAX_BCRYPT_COST: u32 = 16;

/// A bcrypt hash must be given, never the password itself, and of a cost a
/// scrape can wait for. The message names the user, never the value.
fn check_bcrypt_hash(user: &str, hash: &str) -> Result<(), String> {
    let parts: bcrypt::HashParts = hash.parse().map_err(|_| {
        format!("basic_auth_users.{user}: not a bcrypt hash (a plaintext password?); hash it, e.g. with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`")
    })?;
    let cost = parts.get_cost();
    if cost < 4 {
        return Err(format!(
            "basic_auth_users.{user}: bcrypt cost {cost} is below bcrypt's minimum of 4"
        ));
    }
    if cost > MAX_BCRYPT_COST {
        return Err(format!(
            "basic_auth_users.{user}: bcrypt cost {cost} is above {MAX_BCRYPT_COST}: each check would take a core for longer than a scrape waits (10 s and more); hash the password again with a cost of 10 to 12 (htpasswd -nBC 10)"
        ));
    }
    Ok(())
}

fn rate_limit(raw: RawRateLimit) -> Result<Option<RateLimit>, String> {
    let interval = match raw.interval.as_deref() {
        None => Duration::ZERO,
        Some(text) => {
            crate::parse::duration(text).map_err(|e| format!("rate_limit.interval: {e}"))?
        }
    };
    if interval.is_zero() {
        return Ok(None);
    }
    let burst = raw.burst.unwrap_or(0);
    if burst == 0 {
        return Err("rate_limit.burst: must be at least 1 when interval is set".to_string());
    }
    Ok(Some(RateLimit { interval, burst }))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const HASH: &str = "$2y$04$3hD3k6BO3BrLlMoM2ROK9eg1bDOYm1ujr8/wxTxPX.8MfBYJXUpHW";

    fn parse(text: &str) -> Result<WebConfig, String> {
        WebConfig::parse(text, Path::new("/etc/hostwatch"))
    }

    fn error(text: &str) -> String {
        parse(text).expect_err(text)
    }

    const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

    #[test]
    fn empty_file_is_plain_http_without_auth() {
        for text in ["", "\n", "{}"] {
            let config = parse(text).unwrap();
            assert!(config.tls.is_none());
            assert!(config.basic_auth_users.is_empty());
            assert!(config.headers.is_empty());
            assert!(config.rate_limit.is_none());
            assert!(config.http2, "HTTP/2 is on unless turned off");
        }
    }

    #[test]
    fn full_configuration() {
        let text = format!(
            "{TLS}  client_ca_file: /abs/ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n  \
             min_version: TLS13\n  max_version: TLS13\n  \
             cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  \
             prefer_server_cipher_suites: false\n  curve_preferences: [X25519, CurveP256]\n  \
             client_allowed_sans: [scraper.example, 10.0.0.9]\n\
             http_server_config:\n  http2: false\n  headers:\n    x-frame-options: sameorigin\n\
             basic_auth_users:\n  alice: '{HASH}'\n\
             rate_limit:\n  interval: 100ms\n  burst: 5\n"
        );
        let config = parse(&text).unwrap();
        assert!(!config.http2);
        let tls = config.tls.unwrap();
        assert_eq!(tls.client_allowed_sans, ["scraper.example", "10.0.0.9"]);
        assert_eq!(
            tls.cert,
            Source::File(PathBuf::from("/etc/hostwatch/server.crt"))
        );
        assert_eq!(
            tls.key,
            Source::File(PathBuf::from("/etc/hostwatch/server.key"))
        );
        assert_eq!(
            tls.client_ca,
            Some(Source::File(PathBuf::from("/abs/ca.crt")))
        );
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert!(!tls.prefer_server_cipher_suites);
        assert_eq!(tls.curve_preferences, ["X25519", "CurveP256"]);
        assert_eq!(
            config.headers,
            [("X-Frame-Options".to_string(), "sameorigin".to_string())]
        );
        assert_eq!(config.basic_auth_users["alice"], HASH);
        assert_eq!(
            config.rate_limit,
            Some(RateLimit {
                interval: Duration::from_millis(100),
                burst: 5
            })
        );
    }

    #[test]
    fn tls_defaults() {
        let tls = parse(TLS).unwrap().tls.unwrap();
        assert_eq!(tls.client_auth, ClientAuth::NoClientCert);
        assert_eq!(tls.min_version, TlsVersion::Tls12);
        assert_eq!(tls.max_version, TlsVersion::Tls13);
        assert!(tls.prefer_server_cipher_suites);
        assert!(tls.client_ca.is_none());
    }

    #[test]
    fn inline_pem() {
        let text = "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n  key: k\n";
        let tls = parse(text).unwrap().tls.unwrap();
        assert!(matches!(tls.cert, Source::Inline(_)));
        assert_eq!(tls.key, Source::Inline("k".to_string()));
    }

    #[test]
    fn every_client_auth_type() {
        for (name, auth) in [
            ("NoClientCert", ClientAuth::NoClientCert),
            ("RequestClientCert", ClientAuth::RequestClientCert),
            ("RequireAnyClientCert", ClientAuth::RequireAnyClientCert),
            (
                "VerifyClientCertIfGiven",
                ClientAuth::VerifyClientCertIfGiven,
            ),
            (
                "RequireAndVerifyClientCert",
                ClientAuth::RequireAndVerifyClientCert,
            ),
        ] {
            let ca = if auth == ClientAuth::NoClientCert {
                ""
            } else {
                "  client_ca_file: ca.crt\n"
            };
            let text = format!("{TLS}{ca}  client_auth_type: {name}\n");
            assert_eq!(parse(&text).unwrap().tls.unwrap().client_auth, auth);
        }
    }

    /// Each broken configuration and a fragment its error must contain.
    #[test]
    fn errors_name_the_problem() {
        let cases: &[(String, &str)] = &[
            ("tls_server_config: [".to_string(), "tls_server_config"),
            ("tls_sever_config: {}".to_string(), "unknown field `tls_sever_config`"),
            (format!("{TLS}  cert_fil: x\n"), "unknown field `cert_fil`"),
            ("http_server_config:\n  http3: true\n".to_string(), "unknown field `http3`"),
            ("rate_limit:\n  burts: 1\n".to_string(), "unknown field `burts`"),
            ("basic_auth_users: [a]\n".to_string(), "basic_auth_users"),
            ("tls_server_config:\n  key_file: k\n".to_string(), "missing cert_file"),
            ("tls_server_config:\n  cert_file: c\n".to_string(), "missing key_file"),
            ("tls_server_config: {}\n".to_string(), "are required"),
            (
                format!("{TLS}  cert: inline\n"),
                "cert and cert_file are mutually exclusive",
            ),
            (
                format!("{TLS}  client_auth_type: Sometimes\n"),
                "client_auth_type: invalid value \"Sometimes\"",
            ),
            (
                format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n"),
                "needs client_ca_file",
            ),
            (
                format!("{TLS}  client_auth_type: VerifyClientCertIfGiven\n"),
                "needs client_ca_file",
            ),
            (format!("{TLS}  client_ca_file: ca.crt\n"), "client_auth_type is NoClientCert"),
            (
                format!("{TLS}  client_allowed_sans: [a]\n"),
                "client_allowed_sans: needs a client_auth_type",
            ),
            (format!("{TLS}  min_version: TLS10\n"), "min_version: TLS10 is not supported"),
            (format!("{TLS}  min_version: TLS11\n"), "min_version: TLS11 is not supported"),
            (format!("{TLS}  max_version: TLS11\n"), "max_version: TLS11 is not supported"),
            (format!("{TLS}  min_version: SSL3\n"), "unknown TLS version \"SSL3\""),
            (
                format!("{TLS}  min_version: TLS13\n  max_version: TLS12\n"),
                "min_version is above max_version",
            ),
            (
                format!("{TLS}  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"),
                "TLS_RSA_WITH_AES_128_CBC_SHA is not offered by rustls",
            ),
            (
                format!("{TLS}  cipher_suites: [TLS_MADE_UP]\n"),
                "unknown cipher suite \"TLS_MADE_UP\"",
            ),
            (
                format!("{TLS}  curve_preferences: [CurveP521]\n"),
                "CurveP521 is not offered",
            ),
            (
                format!("{TLS}  curve_preferences: [P256]\n"),
                "unknown curve \"P256\"",
            ),
            (
                "http_server_config:\n  headers:\n    Server: hostwatch\n".to_string(),
                "HTTP header \"Server\" can not be configured",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".to_string(),
                "invalid value \"allow\" for X-Frame-Options",
            ),
            (
                "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n".to_string(),
                "for X-Content-Type-Options",
            ),
            (
                "http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\nb\"\n"
                    .to_string(),
                "not a valid header value",
            ),
            (
                "basic_auth_users:\n  alice: hunter2\n".to_string(),
                "basic_auth_users.alice: not a bcrypt hash",
            ),
            (
                "basic_auth_users:\n  bob: '$2y$99$3hD3k6BO3BrLlMoM2ROK9eg1bDOYm1ujr8/wxTxPX.8MfBYJXUpHW'\n"
                    .to_string(),
                "basic_auth_users.bob",
            ),
            ("rate_limit:\n  interval: soon\n  burst: 1\n".to_string(), "rate_limit.interval"),
            ("rate_limit:\n  interval: 1s\n".to_string(), "rate_limit.burst"),
            ("rate_limit:\n  interval: 1s\n  burst: -1\n".to_string(), "burst"),
        ];
        for (text, fragment) in cases {
            let message = error(text);
            assert!(
                message.contains(fragment),
                "{text:?}: {message:?} lacks {fragment:?}"
            );
        }
        assert!(
            !error("basic_auth_users:\n  alice: hunter2\n").contains("hunter2"),
            "a plaintext password is never echoed"
        );
    }

    #[test]
    fn disabled_rate_limit_and_blank_headers() {
        let config =
            parse("rate_limit:\n  interval: 0\n  burst: 0\nhttp_server_config:\n  headers:\n    X-Frame-Options: ''\n")
                .unwrap();
        assert!(config.rate_limit.is_none());
        assert!(config.headers.is_empty());
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("web.yml");
        assert!(WebConfig::load(&missing)
            .unwrap_err()
            .contains("cannot read web config"));
        std::fs::write(&missing, "basic_auth_users:\n  alice: plain\n").unwrap();
        let message = WebConfig::load(&missing).unwrap_err();
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        std::fs::write(&missing, TLS).unwrap();
        let tls = WebConfig::load(&missing).unwrap().tls.unwrap();
        assert_eq!(tls.cert, Source::File(dir.path().join("server.crt")));
    }
}
