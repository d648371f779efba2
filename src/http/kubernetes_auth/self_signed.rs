//! The certificate served when `--web.auth.kubernetes` is on and the web
//! configuration has no TLS: bearer tokens must not travel in the clear.
//! It is generated at start-up for the node's host name, as kube-rbac-proxy
//! does, and its SHA-256 fingerprint logged so that a client can pin it.

use sha2::{Digest, Sha256};

use crate::http::tls::{ClientAuth, Source, TlsSettings, TlsVersion};

/// A generated certificate, as the TLS settings that serve it.
pub struct SelfSigned {
    pub settings: TlsSettings,
    /// SHA-256 of the certificate's DER, as colon-separated hex.
    pub fingerprint: String,
}

/// A new key and certificate for `names` (DNS names or IP addresses).
pub fn generate(names: &[String]) -> Result<SelfSigned, String> {
    let generated = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| format!("cannot generate a TLS certificate: {e}"))?;
    let fingerprint = fingerprint(generated.cert.der());
    Ok(SelfSigned {
        settings: TlsSettings {
            cert: Source::Inline(generated.cert.pem()),
            key: Source::Inline(generated.key_pair.serialize_pem()),
            client_ca: None,
            client_auth: ClientAuth::NoClientCert,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_suites: Vec::new(),
            prefer_server_cipher_suites: false,
            curve_preferences: Vec::new(),
            client_allowed_sans: Vec::new(),
        },
        fingerprint,
    })
}

/// The names a generated certificate is for: this host's name, and
/// `localhost` for a check from the node itself.
pub fn local_names() -> Vec<String> {
    let mut names = Vec::new();
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status == 0 {
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        if let Ok(name) = std::str::from_utf8(&buffer[..end]) {
            if !name.is_empty() && name != "localhost" {
                names.push(name.to_string());
            }
        }
    }
    names.extend([
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ]);
    names
}

fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::tls::server_config;

    #[test]
    fn generates_a_servable_certificate() {
        let names = local_names();
        assert!(names.contains(&"localhost".to_string()));
        let generated = generate(&names).unwrap();
        assert_eq!(generated.fingerprint.len(), 32 * 3 - 1);
        server_config(&generated.settings, true).expect("the generated pair loads");
        let again = generate(&names).unwrap();
        assert_ne!(
            again.fingerprint, generated.fingerprint,
            "a new key every start"
        );
    }
}
