//! X.509 version 1 client certificates: refused, with a warning that says
//! why and how to re-issue the certificate.
//!
//! `openssl x509 -req` without `-extfile` (as many tutorials write it)
//! makes a version 1 certificate, one without extensions. Go's crypto/x509,
//! and so node_exporter, accepts it as a client certificate; rustls's
//! verifier (webpki) refuses every version 1 end-entity certificate, and
//! hostwatch does not weaken that: a version 1 certificate cannot say what
//! it may be used for (no basicConstraints, keyUsage or extendedKeyUsage),
//! so it could as well be a CA's. The refusal would otherwise show only as
//! a failed handshake at debug level; [`WarnVersion1`] logs a warning at the
//! default level the first time each such certificate is presented, naming
//! the fix: re-issue it as version 3 with `-extfile`.
//!
//! May import: the standard library, rustls and the lowest layer.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::der::x509_version;
use crate::unpoisoned::lock;

/// How many distinct version 1 certificates are remembered as warned about;
/// past it the memory is cleared, so a client cycling certificates costs
/// bounded memory and, at worst, a warning again.
const REMEMBERED: usize = 256;

/// The fix, as the warning gives it.
const REISSUE: &str = "re-issue it as an X.509 version 3 certificate: add -extfile with \
     basicConstraints=CA:FALSE, keyUsage=digitalSignature,keyEncipherment and \
     extendedKeyUsage=clientAuth to the openssl x509 -req command";

/// Wraps a client certificate verifier: whatever it decides stands, and a
/// version 1 certificate it refuses is warned about once.
#[derive(Debug)]
pub struct WarnVersion1 {
    inner: Arc<dyn ClientCertVerifier>,
    warned: Mutex<HashSet<u64>>,
}

impl WarnVersion1 {
    /// `inner`, warning about the version 1 certificates it refuses.
    pub fn new(inner: Arc<dyn ClientCertVerifier>) -> WarnVersion1 {
        WarnVersion1 {
            inner,
            warned: Mutex::default(),
        }
    }

    /// Warns about `cert` if it is version 1 and not warned about yet.
    fn refused(&self, cert: &CertificateDer<'_>, err: &rustls::Error) {
        if x509_version(cert) != Some(1) {
            return;
        }
        let mut hasher = DefaultHasher::new();
        cert.as_ref().hash(&mut hasher);
        let mut warned = lock(&self.warned);
        if warned.len() >= REMEMBERED {
            warned.clear();
        }
        if warned.insert(hasher.finish()) {
            tracing::warn!(
                err = %err,
                "client certificate refused: it is an X.509 version 1 certificate (made by \
                 openssl x509 -req without -extfile), which hostwatch does not accept although \
                 node_exporter does; {REISSUE}"
            );
        } else {
            tracing::debug!(err = %err, "X.509 version 1 client certificate refused again");
        }
    }
}

impl ClientCertVerifier for WarnVersion1 {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
            .inspect_err(|err| self.refused(end_entity, err))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, cert, dss)
            .inspect_err(|err| self.refused(cert, err))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, cert, dss)
            .inspect_err(|err| self.refused(cert, err))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::der::SEQUENCE;

    /// The start of a DER certificate: its outer SEQUENCE and its
    /// `tbsCertificate`, beginning with `tbs_start`, padded to `tbs_len`.
    fn certificate(tbs_start: &[u8], tbs_len: usize) -> Vec<u8> {
        let mut tbs = tbs_start.to_vec();
        tbs.resize(tbs_len, 0);
        let mut inner = vec![SEQUENCE];
        push_length(&mut inner, tbs.len());
        inner.extend(tbs);
        let mut der = vec![SEQUENCE];
        push_length(&mut der, inner.len());
        der.extend(inner);
        der
    }

    fn push_length(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
    }

    #[test]
    fn versions_are_read_from_the_tbs_certificate() {
        // v3: [0] { INTEGER 2 }, then the serial number.
        let v3 = certificate(&[0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x07], 300);
        assert_eq!(x509_version(&v3), Some(3));
        let v2 = certificate(&[0xa0, 0x03, 0x02, 0x01, 0x01], 40);
        assert_eq!(x509_version(&v2), Some(2));
        // v1: the serial number comes first.
        let v1 = certificate(&[0x02, 0x09, 0x00, 0x8b], 300);
        assert_eq!(x509_version(&v1), Some(1));
    }

    #[test]
    fn garbage_and_truncation_are_no_version() {
        assert_eq!(x509_version(&[]), None);
        assert_eq!(x509_version(b"-----BEGIN CERTIFICATE-----"), None);
        let v3 = certificate(&[0xa0, 0x03, 0x02, 0x01, 0x02], 300);
        for cut in 0..12 {
            assert_eq!(x509_version(&v3[..cut]), None, "cut at {cut}");
        }
        // Unknown versions, and lengths longer than four bytes.
        assert_eq!(
            x509_version(&certificate(&[0xa0, 0x03, 0x02, 0x01, 0x05], 40)),
            None
        );
        assert_eq!(x509_version(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
    }

    #[test]
    fn a_real_certificate_is_version_3() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["scraper".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(x509_version(cert.der()), Some(3));
    }
}
