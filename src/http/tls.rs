//! TLS for the web server with rustls: the crypto provider narrowed to the
//! configured versions, suites and groups, client-certificate policies, and
//! a server certificate re-read when its files change on disk (so that
//! cert-manager's rotation needs no restart).

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::ring::{cipher_suite, default_provider, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};

use super::client_cert_version::WarnVersion1;
use super::client_sans::AllowedSans;
use super::file_stamp::FileStamp;
use crate::unpoisoned::lock;

/// Where the server's certificate and key come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A PEM file, re-read when it changes on disk.
    File(PathBuf),
    /// PEM text given inline in the configuration.
    Inline(String),
}

/// exporter-toolkit's `client_auth_type`, named after Go's `tls.ClientAuthType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    NoClientCert,
    /// A certificate is asked for but neither required nor verified.
    RequestClientCert,
    /// A certificate is required but not verified.
    RequireAnyClientCert,
    /// A certificate, if sent, must verify against the client CA.
    VerifyClientCertIfGiven,
    /// A certificate is required and must verify against the client CA.
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    /// Parses exporter-toolkit's name of a policy.
    pub(super) fn parse(name: &str) -> Result<ClientAuth, String> {
        Ok(match name {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            "RequireAnyClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            other => {
                return Err(format!(
                    "tls_server_config.client_auth_type: invalid value {other:?} (expected \
                     NoClientCert, RequestClientCert, RequireAnyClientCert, \
                     VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                ))
            }
        })
    }

    /// Whether client certificates are checked against the client CA.
    pub fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        )
    }
}

/// A TLS protocol version rustls implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// Parses Go's name of a version, the value of `key`.
    pub(super) fn parse(key: &str, name: &str) -> Result<TlsVersion, String> {
        match name {
            "TLS12" => Ok(TlsVersion::Tls12),
            "TLS13" => Ok(TlsVersion::Tls13),
            "TLS10" | "TLS11" => Err(format!(
                "tls_server_config.{key}: {name} is not supported: hostwatch speaks TLS 1.2 and 1.3 only"
            )),
            other => Err(format!(
                "tls_server_config.{key}: unknown TLS version {other:?} (expected TLS12 or TLS13)"
            )),
        }
    }
}

/// The validated `tls_server_config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server certificate chain.
    pub cert: Source,
    /// The server private key.
    pub key: Source,
    /// The CA bundle client certificates are verified against.
    pub client_ca: Option<Source>,
    /// How client certificates are treated.
    pub client_auth: ClientAuth,
    /// The lowest protocol version accepted.
    pub min_version: TlsVersion,
    /// The highest protocol version accepted.
    pub max_version: TlsVersion,
    /// Go names of the TLS 1.2 cipher suites allowed, in preference order;
    /// empty for the defaults.
    pub cipher_suites: Vec<String>,
    /// Whether the server's suite order wins over the client's.
    pub prefer_server_cipher_suites: bool,
    /// Go names of the key exchange groups, in preference order; empty for
    /// the defaults.
    pub curve_preferences: Vec<String>,
    /// Subject Alternative Names a client certificate must show one of;
    /// empty for any.
    pub client_allowed_sans: Vec<String>,
}

/// Go's names of the TLS 1.2 suites rustls implements.
const TLS12_SUITES: &[(&str, SupportedCipherSuite)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Go's TLS 1.3 suite names: Go ignores them in its configuration (every
/// TLS 1.3 suite stays enabled), and so does hostwatch.
const TLS13_SUITE_NAMES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Suites Go knows that rustls deliberately lacks (CBC modes, RSA key
/// exchange, 3DES, RC4).
const UNSUPPORTED_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_RC4_128_SHA",
];

/// Go's curve names and the key exchange groups rustls implements for them.
const CURVES: &[(&str, &dyn SupportedKxGroup)] = &[
    ("CurveP256", kx_group::SECP256R1),
    ("CurveP384", kx_group::SECP384R1),
    ("X25519", kx_group::X25519),
];

/// Curves Go knows that the ring provider lacks.
const UNSUPPORTED_CURVES: &[&str] = &["CurveP521", "X25519MLKEM768"];

/// Checks the suite and curve names, so that start-up fails on a typo.
pub fn check_names(settings: &TlsSettings) -> Result<(), String> {
    provider(settings).map(drop)
}

/// The ring provider narrowed to the configured suites and groups.
fn provider(settings: &TlsSettings) -> Result<CryptoProvider, String> {
    let mut provider = default_provider();
    if !settings.cipher_suites.is_empty() {
        let mut tls12 = Vec::new();
        for name in &settings.cipher_suites {
            if let Some((_, suite)) = TLS12_SUITES.iter().find(|(n, _)| n == name) {
                if !tls12.contains(suite) {
                    tls12.push(*suite);
                }
            } else if TLS13_SUITE_NAMES.contains(&name.as_str()) {
                continue;
            } else if UNSUPPORTED_SUITES.contains(&name.as_str()) {
                return Err(format!(
                    "tls_server_config.cipher_suites: {name} is not offered by rustls \
                     (only ECDHE with AES-GCM or ChaCha20-Poly1305)"
                ));
            } else {
                return Err(format!(
                    "tls_server_config.cipher_suites: unknown cipher suite {name:?}"
                ));
            }
        }
        provider
            .cipher_suites
            .retain(|suite| suite.tls13().is_some());
        provider.cipher_suites.extend(tls12);
    }
    if !settings.curve_preferences.is_empty() {
        let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
        for name in &settings.curve_preferences {
            match CURVES.iter().find(|(n, _)| n == name) {
                Some((_, group)) => {
                    if !groups.iter().any(|g| g.name() == group.name()) {
                        groups.push(*group);
                    }
                }
                None if UNSUPPORTED_CURVES.contains(&name.as_str()) => {
                    return Err(format!(
                        "tls_server_config.curve_preferences: {name} is not offered \
                         (supported: CurveP256, CurveP384, X25519)"
                    ))
                }
                None => {
                    return Err(format!(
                        "tls_server_config.curve_preferences: unknown curve {name:?}"
                    ))
                }
            }
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

fn versions(settings: &TlsSettings) -> Vec<&'static SupportedProtocolVersion> {
    let mut versions = Vec::new();
    if settings.min_version <= TlsVersion::Tls12 {
        versions.push(&rustls::version::TLS12);
    }
    if settings.max_version >= TlsVersion::Tls13 {
        versions.push(&rustls::version::TLS13);
    }
    versions
}

/// Builds the rustls server configuration, reading the certificate, key
/// and client CA now: any of them missing or broken is an error naming it.
/// With `http2`, HTTP/2 is offered to clients that ask for it (ALPN), as
/// Go's server does over TLS.
pub fn server_config(settings: &TlsSettings, http2: bool) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(provider(settings)?);
    let mut verifier = client_verifier(settings, &provider)?;
    if !settings.client_allowed_sans.is_empty() {
        verifier = Arc::new(AllowedSans::new(
            verifier,
            settings.client_allowed_sans.clone(),
        ));
    }
    let resolver = ReloadingCert::new(&settings.cert, &settings.key, Arc::clone(&provider))?;
    let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions(settings))
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(resolver));
    config.ignore_client_order = settings.prefer_server_cipher_suites;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The client certificate verifier `settings` ask for, warning about the
/// X.509 version 1 certificates it refuses (see [`WarnVersion1`]).
fn client_verifier(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let verifier = chosen_client_verifier(settings, provider)?;
    if !verifier.offer_client_auth() {
        return Ok(verifier);
    }
    Ok(Arc::new(WarnVersion1::new(verifier)))
}

fn chosen_client_verifier(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let algorithms = provider.signature_verification_algorithms;
    let verified = |roots: RootCertStore| {
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
    };
    let roots = || match &settings.client_ca {
        Some(source) => client_roots(source),
        None => Err("tls_server_config: client_ca_file is required".to_string()),
    };
    let built = match settings.client_auth {
        ClientAuth::NoClientCert => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::RequestClientCert => {
            return Ok(Arc::new(AnyClientCert {
                mandatory: false,
                algorithms,
            }))
        }
        ClientAuth::RequireAnyClientCert => {
            return Ok(Arc::new(AnyClientCert {
                mandatory: true,
                algorithms,
            }))
        }
        ClientAuth::VerifyClientCertIfGiven => verified(roots()?).allow_unauthenticated().build(),
        ClientAuth::RequireAndVerifyClientCert => verified(roots()?).build(),
    };
    built.map_err(|e| format!("tls_server_config.client_ca_file: {e}"))
}

fn client_roots(source: &Source) -> Result<RootCertStore, String> {
    let what = "tls_server_config.client_ca_file";
    let certs = read_certs(source, what)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("{what}: {}: {e}", describe(source)))?;
    }
    Ok(roots)
}

fn describe(source: &Source) -> String {
    match source {
        Source::File(path) => path.display().to_string(),
        Source::Inline(_) => "inline PEM".to_string(),
    }
}

fn read_pem(source: &Source, what: &str) -> Result<Vec<u8>, String> {
    match source {
        Source::File(path) => {
            fs::read(path).map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))
        }
        Source::Inline(text) => Ok(text.as_bytes().to_vec()),
    }
}

fn read_certs(source: &Source, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_pem(source, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what}: {}: {e}", describe(source)))?;
    if certs.is_empty() {
        return Err(format!(
            "{what}: {}: no PEM certificate found",
            describe(source)
        ));
    }
    Ok(certs)
}

fn certified_key(
    cert: &Source,
    key: &Source,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let chain = read_certs(cert, "tls_server_config.cert_file")?;
    let pem = read_pem(key, "tls_server_config.key_file")?;
    let key_der = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("tls_server_config.key_file: {}: {e}", describe(key)))?;
    CertifiedKey::from_der(chain, key_der, provider).map_err(|e| {
        format!(
            "tls_server_config: key {} does not fit certificate {}: {e}",
            describe(key),
            describe(cert)
        )
    })
}

/// The server certificate, checked on every handshake for changes of its
/// files and re-read when they change. A new pair that fails to load is
/// logged once and the previous one kept, so a half-written rotation never
/// takes the endpoint down.
#[derive(Debug)]
pub struct ReloadingCert {
    files: Option<(PathBuf, PathBuf)>,
    cert: Source,
    key: Source,
    provider: Arc<CryptoProvider>,
    state: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// The stamps of the files `key` came from, or of the last pair that
    /// failed to load (so that it is logged once).
    seen: (Option<FileStamp>, Option<FileStamp>),
}

impl ReloadingCert {
    /// Loads the pair now; an error names the file at fault.
    pub fn new(
        cert: &Source,
        key: &Source,
        provider: Arc<CryptoProvider>,
    ) -> Result<ReloadingCert, String> {
        let files = match (cert, key) {
            (Source::File(c), Source::File(k)) => Some((c.clone(), k.clone())),
            _ => None,
        };
        let seen = files
            .as_ref()
            .map_or((None, None), |(c, k)| (FileStamp::of(c), FileStamp::of(k)));
        let loaded = certified_key(cert, key, &provider)?;
        Ok(ReloadingCert {
            files,
            cert: cert.clone(),
            key: key.clone(),
            provider,
            state: Mutex::new(Loaded {
                key: Arc::new(loaded),
                seen,
            }),
        })
    }

    /// The current pair, re-read first if its files changed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut state = lock(&self.state);
        if let Some((cert_path, key_path)) = &self.files {
            let now = (FileStamp::of(cert_path), FileStamp::of(key_path));
            if now != state.seen {
                state.seen = now;
                match certified_key(&self.cert, &self.key, &self.provider) {
                    Ok(fresh) => {
                        tracing::info!(cert = %cert_path.display(), "reloaded the TLS certificate");
                        state.key = Arc::new(fresh);
                    }
                    Err(e) => tracing::error!(
                        err = %e,
                        "cannot reload the TLS certificate; still serving the previous one"
                    ),
                }
            }
        }
        Arc::clone(&state.key)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Go's `RequestClientCert` and `RequireAnyClientCert`: a client
/// certificate is asked for (and required if `mandatory`) but not checked
/// against any CA. Its handshake signature is still verified, so a client
/// must hold the key of the certificate it presents.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn self_signed() -> (String, String) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        (generated.cert.pem(), generated.key_pair.serialize_pem())
    }

    fn settings(dir: &Path, extra: &str) -> TlsSettings {
        let text =
            format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}");
        super::super::web_config::WebConfig::parse(&text, dir)
            .unwrap()
            .tls
            .unwrap()
    }

    fn write_pair(dir: &Path, (cert, key): &(String, String)) {
        fs::write(dir.join("server.crt"), cert).unwrap();
        fs::write(dir.join("server.key"), key).unwrap();
    }

    #[test]
    fn builds_with_every_client_auth_type() {
        let dir = tempfile::tempdir().unwrap();
        let pair = self_signed();
        write_pair(dir.path(), &pair);
        fs::write(dir.path().join("ca.crt"), &pair.0).unwrap();
        for auth in [
            "RequestClientCert",
            "RequireAnyClientCert",
            "VerifyClientCertIfGiven",
            "RequireAndVerifyClientCert",
        ] {
            let extra = format!("  client_ca_file: ca.crt\n  client_auth_type: {auth}\n");
            server_config(&settings(dir.path(), &extra), true).unwrap();
        }
        let config = server_config(&settings(dir.path(), ""), false).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        let config = server_config(&settings(dir.path(), ""), true).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(config.ignore_client_order);
    }

    #[test]
    fn narrows_suites_groups_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let tls = settings(
            dir.path(),
            "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, \
             TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]\n  curve_preferences: [CurveP384, X25519]\n",
        );
        let provider = provider(&tls).unwrap();
        let tls12: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.tls13().is_none())
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            tls12,
            [
                rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            ]
        );
        assert_eq!(
            provider.cipher_suites.len(),
            5,
            "TLS 1.3 suites stay enabled"
        );
        let groups: Vec<_> = provider.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            groups,
            [rustls::NamedGroup::secp384r1, rustls::NamedGroup::X25519]
        );
        assert_eq!(versions(&tls), [&rustls::version::TLS12]);
        let tls13 = settings(dir.path(), "  min_version: TLS13\n");
        assert_eq!(versions(&tls13), [&rustls::version::TLS13]);
    }

    #[test]
    fn missing_or_broken_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let tls = settings(dir.path(), "");
        let message = server_config(&tls, true).unwrap_err();
        assert!(
            message.contains("tls_server_config.cert_file: cannot read")
                && message.contains("server.crt"),
            "{message}"
        );
        let pair = self_signed();
        write_pair(dir.path(), &pair);
        fs::write(dir.path().join("server.key"), "garbage").unwrap();
        let message = server_config(&tls, true).unwrap_err();
        assert!(message.contains("tls_server_config.key_file"), "{message}");
        fs::write(dir.path().join("server.crt"), "garbage").unwrap();
        let message = server_config(&tls, true).unwrap_err();
        assert!(message.contains("no PEM certificate"), "{message}");
        fs::write(dir.path().join("server.crt"), &pair.0).unwrap();
        fs::write(dir.path().join("server.key"), self_signed().1).unwrap();
        let message = server_config(&tls, true).unwrap_err();
        assert!(message.contains("does not fit"), "{message}");
        let with_ca = settings(
            dir.path(),
            "  client_ca_file: nope.crt\n  client_auth_type: RequireAndVerifyClientCert\n",
        );
        let message = server_config(&with_ca, true).unwrap_err();
        assert!(
            message.contains("tls_server_config.client_ca_file: cannot read"),
            "{message}"
        );
    }

    #[test]
    fn reloads_changed_files_and_keeps_the_old_pair_when_broken() {
        let dir = tempfile::tempdir().unwrap();
        let first = self_signed();
        write_pair(dir.path(), &first);
        let tls = settings(dir.path(), "");
        let cert = ReloadingCert::new(&tls.cert, &tls.key, Arc::new(default_provider())).unwrap();
        let der = |key: &CertifiedKey| key.cert[0].as_ref().to_vec();
        let original = der(&cert.current());
        assert_eq!(der(&cert.current()), original, "unchanged files, same pair");

        let second = self_signed();
        // A new file (new inode), as a Secret volume's symlink swap gives.
        for (name, content) in [("server.crt", &second.0), ("server.key", &second.1)] {
            let staged = dir.path().join(format!("{name}.new"));
            fs::write(&staged, content).unwrap();
            fs::rename(&staged, dir.path().join(name)).unwrap();
        }
        let rotated = der(&cert.current());
        assert_ne!(rotated, original);

        fs::write(dir.path().join("server.crt"), "half-written").unwrap();
        assert_eq!(
            der(&cert.current()),
            rotated,
            "a broken file keeps the last pair"
        );
        fs::remove_file(dir.path().join("server.key")).unwrap();
        assert_eq!(der(&cert.current()), rotated, "a missing file keeps it too");
        write_pair(dir.path(), &first);
        assert_eq!(der(&cert.current()), original, "a fixed pair is picked up");
    }
}
