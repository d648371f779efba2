//! `--web.config.file` on the real binary: TLS 1.2 and 1.3, client
//! certificates required and verified, basic authentication and headers,
//! certificate rotation without a restart, and broken configurations
//! stopping start-up. Certificates are generated per test.

mod common;

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::http::{self, Response};
use common::{eventually, run_to_exit, Agent, FIXTURE_TREE};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Bound for the agent to pick up rotated files (not a speed claim).
const ROTATION_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate authority that signs server and client certificates.
struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A PEM certificate and its PEM key.
struct Pair {
    cert: String,
    key: String,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Authority { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Pair {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Pair {
        self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self) -> Pair {
        self.issue(&["scraper"], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A directory holding the web config and the files it names.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `name` by renaming a staged copy over it, as a Secret volume
    /// or cert-manager replaces files.
    fn write(&self, name: &str, content: &str) {
        let staged = self.path(&format!(".{name}.staged"));
        fs::write(&staged, content).unwrap();
        fs::rename(&staged, self.path(name)).unwrap();
    }

    fn server_pair(&self, pair: &Pair) {
        self.write("server.crt", &pair.cert);
        self.write("server.key", &pair.key);
    }

    fn config(&self, text: &str) -> String {
        self.write("web.yml", text);
        format!("--web.config.file={}", self.path("web.yml").display())
    }

    fn start(&self, text: &str) -> Agent {
        let mut args: Vec<String> = FIXTURE_TREE.iter().map(|s| s.to_string()).collect();
        args.push(self.config(text));
        Agent::start_listening(&args, &[])
    }
}

const TLS_CONFIG: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

/// A TLS client trusting `ca`, limited to `version`, presenting `identity`.
struct Client {
    config: Arc<rustls::ClientConfig>,
}

impl Client {
    fn new(
        ca: &str,
        version: &'static rustls::SupportedProtocolVersion,
        identity: Option<&Pair>,
    ) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots);
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some(pair) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_slice_iter(pair.cert.as_bytes())
                        .collect::<Result<_, _>>()
                        .unwrap(),
                    PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).unwrap(),
                )
                .unwrap(),
        };
        // Every connection a full handshake: a resumed session would skip
        // the certificates these tests are about.
        config.resumption = rustls::client::Resumption::disabled();
        Client {
            config: Arc::new(config),
        }
    }

    /// `GET target` over TLS; the negotiated version with the response.
    fn get(
        &self,
        port: u16,
        target: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<(Response, rustls::ProtocolVersion)> {
        let name = ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(connection, http::connect(port)?);
        let response = http::request_on(&mut stream, port, "GET", target, headers)?;
        let version = stream
            .conn
            .protocol_version()
            .expect("a finished handshake");
        Ok((response, version))
    }
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[test]
fn tls_1_2_and_1_3_serve_metrics() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    let agent = setup.start(TLS_CONFIG);
    for (version, expected) in [
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let client = Client::new(&ca.pem(), version, None);
        let (response, negotiated) = client
            .get(agent.port(), "/metrics", &[])
            .unwrap_or_else(|e| panic!("{expected:?}: {e}; stderr:\n{}", agent.stderr()));
        assert_eq!(response.status, 200);
        assert!(response.text().contains("\nnode_load1 "));
        assert_eq!(negotiated, expected);
    }
    assert!(
        http::request(agent.port(), "GET", "/-/healthy", &[]).map_or(true, |r| r.status != 200),
        "plain HTTP is not served on a TLS port"
    );
    let stranger = Client::new(
        &Authority::new("other CA").pem(),
        &rustls::version::TLS13,
        None,
    );
    assert!(
        stranger.get(agent.port(), "/-/healthy", &[]).is_err(),
        "a client trusting another CA refuses the server"
    );
}

#[test]
fn min_version_tls13_refuses_tls12() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    let agent = setup.start(&format!("{TLS_CONFIG}  min_version: TLS13\n"));
    let old = Client::new(&ca.pem(), &rustls::version::TLS12, None);
    assert!(old.get(agent.port(), "/-/healthy", &[]).is_err());
    let new = Client::new(&ca.pem(), &rustls::version::TLS13, None);
    assert_eq!(
        new.get(agent.port(), "/-/healthy", &[]).unwrap().0.status,
        200
    );
}

#[test]
fn client_certificates_are_required_and_verified() {
    let ca = Authority::new("hostwatch test CA");
    let other = Authority::new("untrusted CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    setup.write("client-ca.crt", &ca.pem());
    let agent = setup.start(&format!(
        "{TLS_CONFIG}  client_ca_file: client-ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
    ));
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let trusted = Client::new(&ca.pem(), version, Some(&ca.client()));
        let (response, _) = trusted
            .get(agent.port(), "/-/healthy", &[])
            .unwrap_or_else(|e| panic!("{e}; stderr:\n{}", agent.stderr()));
        assert_eq!(response.status, 200);

        let anonymous = Client::new(&ca.pem(), version, None);
        assert!(
            anonymous.get(agent.port(), "/-/healthy", &[]).is_err(),
            "no client certificate"
        );
        let foreign = Client::new(&ca.pem(), version, Some(&other.client()));
        assert!(
            foreign.get(agent.port(), "/-/healthy", &[]).is_err(),
            "a client certificate from another CA"
        );
    }
}

#[test]
fn basic_auth_guards_every_path_with_configured_headers() {
    let setup = Setup::new();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let agent = setup.start(&format!(
        "basic_auth_users:\n  prometheus: '{hash}'\n\
         http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
    ));
    for path in ["/metrics", "/-/healthy", "/-/ready", "/", "/nope"] {
        let refused = agent.get(path);
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(refused.header("www-authenticate"), Some("Basic"));
        assert_eq!(refused.header("x-content-type-options"), Some("nosniff"));
    }
    for (user, password) in [("prometheus", "wrong"), ("admin", "s3cret"), ("", "")] {
        let auth = basic(user, password);
        let refused = agent.request("GET", "/metrics", &[("Authorization", &auth)]);
        assert_eq!(refused.status, 401, "{user}:{password}");
    }
    let auth = basic("prometheus", "s3cret");
    for _ in 0..3 {
        let allowed = agent.request("GET", "/metrics", &[("Authorization", &auth)]);
        assert_eq!(allowed.status, 200);
        assert_eq!(allowed.header("x-content-type-options"), Some("nosniff"));
        assert!(allowed.text().contains("\nnode_load1 "));
    }
    let missing = agent.request("GET", "/nope", &[("Authorization", &auth)]);
    assert_eq!(missing.status, 404);
}

#[test]
fn an_expensive_hash_never_holds_the_server_or_its_shutdown() {
    // A well-formed hash of the highest cost accepted: each check takes
    // seconds of a core.
    let setup = Setup::new();
    let expensive = format!("$2y$16${}", "a".repeat(53));
    let mut agent = setup.start(&format!("basic_auth_users:\n  prometheus: '{expensive}'\n"));
    let port = agent.port();
    let guesses = std::thread::spawn(move || {
        for user in ["prometheus", "nobody"] {
            let auth = basic(user, "guess");
            let _ = http::request(port, "GET", "/metrics", &[("Authorization", &auth)]);
        }
    });
    // Whatever bcrypt is busy with, requests without credentials are
    // answered at once.
    for path in ["/-/healthy", "/-/ready", "/metrics"] {
        let started = std::time::Instant::now();
        assert_eq!(agent.get(path).status, 401, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{path} waited for bcrypt"
        );
    }
    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(3))
        .expect("SIGTERM ends the agent while bcrypt runs");
    assert!(status.success(), "{status:?}");
    let _ = guesses.join();
}

#[test]
fn rate_limit_answers_429_beyond_the_burst() {
    let setup = Setup::new();
    let agent = setup.start("rate_limit:\n  interval: 1h\n  burst: 2\n");
    assert_eq!(agent.get("/-/healthy").status, 200);
    assert_eq!(agent.get("/-/healthy").status, 200);
    assert_eq!(agent.get("/-/healthy").status, 429);
}

#[test]
fn rotated_certificates_are_served_without_a_restart() {
    let first_ca = Authority::new("first CA");
    let second_ca = Authority::new("second CA");
    let setup = Setup::new();
    setup.server_pair(&first_ca.server());
    let agent = setup.start(TLS_CONFIG);
    let first = Client::new(&first_ca.pem(), &rustls::version::TLS13, None);
    let second = Client::new(&second_ca.pem(), &rustls::version::TLS13, None);
    assert_eq!(
        first.get(agent.port(), "/-/healthy", &[]).unwrap().0.status,
        200
    );
    assert!(second.get(agent.port(), "/-/healthy", &[]).is_err());

    setup.server_pair(&second_ca.server());
    assert!(
        eventually(ROTATION_TIMEOUT, || second
            .get(agent.port(), "/-/healthy", &[])
            .is_ok_and(|(r, _)| r.status == 200)),
        "the rotated certificate was not picked up; stderr:\n{}",
        agent.stderr()
    );
    assert!(first.get(agent.port(), "/-/healthy", &[]).is_err());

    // A broken rotation keeps the last good certificate and says so.
    setup.write("server.crt", "-----BEGIN CERTIFICATE-----\ntruncated");
    assert_eq!(
        second
            .get(agent.port(), "/-/healthy", &[])
            .unwrap()
            .0
            .status,
        200
    );
    assert!(
        agent.stderr().contains("cannot reload the TLS certificate"),
        "{}",
        agent.stderr()
    );
}

#[test]
fn broken_configurations_stop_start_up_naming_the_problem() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    let cases = [
        ("tls_server_config: [", "tls_server_config"),
        ("tls_server_confg: {}\n", "tls_server_confg"),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
            "missing.crt",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n",
            "tls_server_config.key_file",
        ),
        (
            "basic_auth_users:\n  prometheus: s3cret\n",
            "basic_auth_users.prometheus: not a bcrypt hash",
        ),
        (
            &format!("{TLS_CONFIG}  min_version: TLS10\n") as &str,
            "min_version: TLS10 is not supported",
        ),
        (
            "http_server_config:\n  headers:\n    Server: x\n",
            // Quoted as logfmt writes a message.
            "header \\\"Server\\\" can not be configured",
        ),
        (
            &format!(
                "basic_auth_users:\n  prometheus: '$2y$31${}'\n",
                "a".repeat(53)
            ) as &str,
            "basic_auth_users.prometheus: bcrypt cost 31 is above 16",
        ),
        (
            &format!(
                "basic_auth_users:\n  prometheus: '$2y$17${}'\n",
                "a".repeat(53)
            ) as &str,
            "basic_auth_users.prometheus: bcrypt cost 17 is above 16",
        ),
    ];
    for (text, fragment) in cases {
        let args = [
            "--web.listen-address=127.0.0.1:0".to_string(),
            setup.config(text),
        ];
        let exited = run_to_exit(&args);
        assert!(!exited.status.success(), "{text:?} started");
        assert!(
            exited.stderr.contains(fragment),
            "{text:?}: stderr lacks {fragment:?}:\n{}",
            exited.stderr
        );
        assert!(
            !exited.stderr.contains("s3cret"),
            "the password is never echoed"
        );
    }
    let missing = run_to_exit(&[
        "--web.listen-address=127.0.0.1:0",
        "--web.config.file=/nonexistent/web.yml",
    ]);
    assert!(!missing.status.success());
    assert!(
        missing.stderr.contains("/nonexistent/web.yml"),
        "{}",
        missing.stderr
    );
}

#[test]
fn oversized_requests_are_refused() {
    let setup = Setup::new();
    let mut agent = setup.start("");
    // A large bearer token fits; a head past 32 KiB does not.
    let token = format!("Bearer {}", "t".repeat(20_000));
    let with_token = agent.request("GET", "/-/healthy", &[("Authorization", &token)]);
    assert_eq!(with_token.status, 200);
    let big = "x".repeat(40_000);
    match http::request(agent.port(), "GET", "/-/healthy", &[("X-Padding", &big)]) {
        Ok(response) => assert_eq!(response.status, 431),
        Err(e) => assert_ne!(e.kind(), io::ErrorKind::TimedOut, "{e}"),
    }
    let body = agent.request("GET", "/-/healthy", &[("Content-Length", "100000")]);
    assert_eq!(body.status, 413);
    assert_eq!(
        agent.get("/-/healthy").status,
        200,
        "the agent still serves"
    );
    agent.stop();
    assert!(
        agent
            .log_lines()
            .iter()
            .any(|l| l.contains("level=WARN") && l.contains("request heads over the limit")),
        "the refusal is logged:\n{}",
        agent.stderr()
    );
}

#[test]
fn a_changed_configuration_applies_to_the_next_request() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let mut agent = setup.start(&format!(
        "basic_auth_users:\n  prometheus: '{hash}'\n  grafana: '{hash}'\n"
    ));
    let prometheus = basic("prometheus", "s3cret");
    let grafana = basic("grafana", "s3cret");
    let status = |agent: &Agent, auth: &str| {
        agent
            .request("GET", "/-/healthy", &[("Authorization", auth)])
            .status
    };
    assert_eq!(status(&agent, &prometheus), 200);

    // A revoked user is refused on the very next request; new headers apply.
    setup.config(&format!(
        "basic_auth_users:\n  grafana: '{hash}'\n\
         http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    ));
    assert_eq!(status(&agent, &prometheus), 401);
    let kept = agent.request("GET", "/-/healthy", &[("Authorization", &grafana)]);
    assert_eq!(kept.status, 200);
    assert_eq!(kept.header("x-frame-options"), Some("deny"));

    // A broken edit, and one turning TLS on, leave the last good
    // configuration in force and are reported once each.
    for broken in ["basic_auth_users: [\n", TLS_CONFIG] {
        setup.config(broken);
        for _ in 0..3 {
            assert_eq!(status(&agent, &prometheus), 401, "{broken:?}");
            assert_eq!(status(&agent, &grafana), 200, "{broken:?}");
        }
    }
    agent.stop();
    let log = agent.log_lines();
    let count = |text: &str| log.iter().filter(|l| l.contains(text)).count();
    assert_eq!(count("reloaded the web configuration"), 1, "{log:#?}");
    assert_eq!(count("cannot reload the web configuration"), 2, "{log:#?}");
    assert_eq!(
        count("turning TLS on or off takes a restart"),
        1,
        "{log:#?}"
    );
}

/// `curl --http2` over TLS: the HTTP version it ended up speaking and the body.
fn curl_http2(port: u16, ca: &std::path::Path) -> (String, String) {
    let output = std::process::Command::new("curl")
        .args(["-sS", "--http2", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .args(["-w", "\n%{http_version}"])
        .arg(format!("https://localhost:{port}/metrics"))
        .output()
        .expect("running curl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, version) = text.rsplit_once('\n').unwrap();
    (version.to_string(), body.to_string())
}

#[test]
fn http2_is_offered_over_tls_unless_turned_off() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    setup.write("ca.crt", &ca.pem());
    let agent = setup.start(TLS_CONFIG);
    let (version, body) = curl_http2(agent.port(), &setup.path("ca.crt"));
    assert_eq!(version, "2");
    assert!(body.contains("\nnode_load1 "), "{body}");

    setup.config(&format!(
        "{TLS_CONFIG}http_server_config:\n  http2: false\n"
    ));
    let (version, body) = curl_http2(agent.port(), &setup.path("ca.crt"));
    assert_eq!(version, "1.1");
    assert!(body.contains("\nnode_load1 "), "{body}");
}

#[test]
fn idle_connections_never_starve_tls_scrapes_with_basic_auth() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let agent = setup.start(&format!(
        "{TLS_CONFIG}basic_auth_users:\n  prometheus: '{hash}'\n"
    ));
    // Another host's flood: TLS handshakes and credentials it never sends
    // must not cost the scraper its connections.
    let source = "127.0.0.2".parse().unwrap();
    let flood =
        common::flood::IdleFlood::start(agent.port(), source, common::flood::affordable(1000));
    let client = Client::new(&ca.pem(), &rustls::version::TLS13, None);
    let auth = basic("prometheus", "s3cret");
    for scrape in 0..30 {
        let (response, _) = client
            .get(agent.port(), "/metrics", &[("Authorization", &auth)])
            .unwrap_or_else(|e| panic!("scrape {scrape}: {e}"));
        assert_eq!(response.status, 200, "scrape {scrape}");
    }
    let count = flood.stop();
    assert!(count.closed_by_agent > 0, "{count:?}");
}

#[test]
fn client_allowed_sans_admit_only_listed_clients() {
    let ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&ca.server());
    setup.write("client-ca.crt", &ca.pem());
    let verified = |sans: &str| {
        format!(
            "{TLS_CONFIG}  client_ca_file: client-ca.crt\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [{sans}]\n"
        )
    };
    let agent = setup.start(&verified("other.example, scraper"));
    let scraper = Client::new(&ca.pem(), &rustls::version::TLS13, Some(&ca.client()));
    let healthy = |client: &Client| {
        client
            .get(agent.port(), "/-/healthy", &[])
            .is_ok_and(|(r, _)| r.status == 200)
    };
    assert!(healthy(&scraper), "stderr:\n{}", agent.stderr());

    // Changed lists apply to new connections.
    setup.config(&verified("other.example"));
    assert!(!healthy(&scraper), "a client with no listed SAN");

    // Under RequestClientCert a certificate is not verified, but one with a
    // listed SAN must still be sent.
    setup.config(&format!(
        "{TLS_CONFIG}  client_auth_type: RequestClientCert\n  client_allowed_sans: [scraper]\n"
    ));
    assert!(healthy(&scraper), "stderr:\n{}", agent.stderr());
    let anonymous = Client::new(&ca.pem(), &rustls::version::TLS13, None);
    assert!(!healthy(&anonymous), "a client without a certificate");
}

/// Runs `openssl` with `args` in `dir`, failing the test if it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `GET /-/healthy` with curl, presenting `cert` and `key`: curl's exit
/// status and the body.
fn curl_with_client_cert(
    port: u16,
    ca: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> (bool, String) {
    let output = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(format!("https://localhost:{port}/-/healthy"))
        .output()
        .expect("running curl");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_version_1_client_certificate_is_refused_with_a_warning_naming_the_fix() {
    let server_ca = Authority::new("hostwatch test CA");
    let setup = Setup::new();
    setup.server_pair(&server_ca.server());
    setup.write("server-ca.crt", &server_ca.pem());
    // The client CA and certificate, made as a tutorial makes them:
    // `openssl x509 -req` without -extfile signs a version 1 certificate.
    let dir = setup.dir.path();
    openssl(dir, &["genrsa", "-out", "ca.key", "2048"]);
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-key",
            "ca.key",
            "-sha256",
            "-days",
            "365",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=Tutorial CA",
        ],
    );
    openssl(dir, &["genrsa", "-out", "client.key", "2048"]);
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=client",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.crt",
            "-days",
            "365",
            "-sha256",
        ],
    );
    let v1 = fs::read(setup.path("client.crt")).unwrap();
    let der = CertificateDer::from_pem_slice(&v1).unwrap();
    assert_eq!(
        hostwatch::http::der::x509_version(&der),
        Some(1),
        "openssl made a version 1 certificate"
    );
    // The fix the warning names: the same request, signed with -extfile.
    setup.write(
        "client.ext",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=clientAuth\n",
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client-v3.crt",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            "client.ext",
        ],
    );

    let agent = setup.start(&format!(
        "{TLS_CONFIG}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
    ));
    let server_ca_file = setup.path("server-ca.crt");
    let key = setup.path("client.key");
    let warnings = |agent: &Agent| {
        agent
            .log_lines()
            .into_iter()
            .filter(|l| l.contains("level=WARN") && l.contains("X.509 version 1"))
            .collect::<Vec<_>>()
    };
    for _ in 0..3 {
        let (ok, _) = curl_with_client_cert(
            agent.port(),
            &server_ca_file,
            &setup.path("client.crt"),
            &key,
        );
        assert!(!ok, "a version 1 client certificate was accepted");
    }
    assert!(
        eventually(ROTATION_TIMEOUT, || !warnings(&agent).is_empty()),
        "no warning:\n{}",
        agent.stderr()
    );
    let lines = warnings(&agent);
    assert_eq!(lines.len(), 1, "once per certificate: {lines:?}");
    assert!(lines[0].contains("-extfile"), "{}", lines[0]);
    assert!(
        lines[0].contains("extendedKeyUsage=clientAuth"),
        "{}",
        lines[0]
    );

    let (ok, body) = curl_with_client_cert(
        agent.port(),
        &server_ca_file,
        &setup.path("client-v3.crt"),
        &key,
    );
    assert!(
        ok,
        "the re-issued certificate was refused:\n{}",
        agent.stderr()
    );
    assert_eq!(body, "Healthy\n");
}
