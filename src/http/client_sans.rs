//! exporter-toolkit's `tls_server_config.client_allowed_sans`: the Subject
//! Alternative Names of a client certificate, read as Go's crypto/x509
//! gives them, and the client-certificate verifier that admits a client
//! only if one of them is allowed.
//!
//! The names are read by the DER walker of [`super::der`], which checks
//! every length against the bytes that are there: with `RequestClientCert` the
//! certificate reaches it without having been verified against any CA, so
//! it is whatever the client chose to send.
//!
//! May import: the TLS crates and the standard library (and `tracing`, to
//! say why a client was refused).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::der::{tbs_certificate, Reader, INTEGER, SEQUENCE, VERSION};

/// DER identifier octets of the universal types an extension is made of.
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const OBJECT_IDENTIFIER: u8 = 0x06;

/// The optional fields of tbsCertificate after the version, by their
/// context tags.
const ISSUER_UNIQUE_ID: u8 = 0x81;
const SUBJECT_UNIQUE_ID: u8 = 0x82;
const EXTENSIONS: u8 = 0xA3;

/// The contents of the subjectAltName extension's OID, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];

/// The GeneralName kinds exporter-toolkit compares (all IMPLICIT, so
/// primitive); it ignores the others, and so does this module.
const RFC822_NAME: u8 = 0x81;
const DNS_NAME: u8 = 0x82;
const URI: u8 = 0x86;
const IP_ADDRESS: u8 = 0x87;

/// The Subject Alternative Names of a DER X.509 certificate, written as Go's
/// crypto/x509 gives them to exporter-toolkit: DNS names, then email
/// addresses, then IP addresses (Go's `net.IP` String form: dotted IPv4,
/// also for a 16-byte IPv4-mapped address, and RFC 5952 IPv6 as
/// [`Ipv6Addr`]'s Display writes it), then URIs (as written in the
/// certificate). A certificate without the SAN extension has none. Err for
/// DER that does not parse (never a panic).
pub fn subject_alt_names(cert_der: &[u8]) -> Result<Vec<String>, String> {
    let names = match san_extension(cert_der)? {
        Some(extn_value) => general_names(extn_value)?,
        None => SanLists::default(),
    };
    Ok(names.in_go_order())
}

/// A client-certificate verifier that accepts a client only if its leaf
/// certificate (after the inner verifier accepted it) has one SAN equal
/// (exact, case-sensitive string comparison, as exporter-toolkit's
/// `slices.Contains`) to one of `allowed`. Client auth becomes mandatory:
/// like exporter-toolkit, a client that sends no certificate is refused.
#[derive(Debug)]
pub struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl AllowedSans {
    /// Wraps `inner`, which still decides whether the certificate is
    /// trusted; `allowed` then decides whether its holder may connect.
    pub fn new(inner: Arc<dyn ClientCertVerifier>, allowed: Vec<String>) -> AllowedSans {
        AllowedSans { inner, allowed }
    }

    /// Whether one of the certificate's SANs is allowed; a refusal is
    /// logged with the SANs found, the usual reason being a typo in one of
    /// the two lists.
    fn admits(&self, end_entity: &CertificateDer<'_>) -> bool {
        match subject_alt_names(end_entity) {
            Ok(sans) => {
                let admitted = sans.iter().any(|san| self.allowed.contains(san));
                if !admitted {
                    tracing::debug!(
                        found = ?sans,
                        "client certificate refused: none of its SANs is in client_allowed_sans"
                    );
                }
                admitted
            }
            Err(e) => {
                tracing::debug!(err = %e, "client certificate refused: its SANs cannot be read");
                false
            }
        }
    }
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        true
    }

    /// exporter-toolkit refuses a client that sends no certificate, as it
    /// has no SAN to match: whatever the inner verifier's policy, one is
    /// required.
    fn client_auth_mandatory(&self) -> bool {
        true
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
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.admits(end_entity) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

/// The SANs by kind, as Go's `x509.Certificate` holds them.
#[derive(Debug, Default)]
struct SanLists {
    dns_names: Vec<String>,
    email_addresses: Vec<String>,
    ip_addresses: Vec<String>,
    uris: Vec<String>,
}

impl SanLists {
    /// The lists concatenated in the order exporter-toolkit builds its
    /// slice of SANs.
    fn in_go_order(self) -> Vec<String> {
        let mut sans = self.dns_names;
        sans.extend(self.email_addresses);
        sans.extend(self.ip_addresses);
        sans.extend(self.uris);
        sans
    }
}

/// The extnValue of the certificate's subjectAltName extension, if it has
/// one.
fn san_extension(cert_der: &[u8]) -> Result<Option<&[u8]>, String> {
    match extensions(tbs_certificate(cert_der)?)? {
        Some(extensions) => find_san_extension(extensions),
        None => Ok(None),
    }
}

/// The contents of the extensions' SEQUENCE, if tbsCertificate has one.
fn extensions(tbs: &[u8]) -> Result<Option<&[u8]>, String> {
    let mut fields = Reader::new(tbs);
    fields.optional(VERSION, "version")?;
    fields.expect(INTEGER, "serialNumber")?;
    for name in [
        "signature",
        "issuer",
        "validity",
        "subject",
        "subjectPublicKeyInfo",
    ] {
        fields.expect(SEQUENCE, name)?;
    }
    fields.optional(ISSUER_UNIQUE_ID, "issuerUniqueID")?;
    fields.optional(SUBJECT_UNIQUE_ID, "subjectUniqueID")?;
    let explicit = fields.optional(EXTENSIONS, "extensions")?;
    fields.finish("tbsCertificate")?;
    explicit.map(explicit_sequence).transpose()
}

/// The SEQUENCE an EXPLICIT tag wraps, alone in it.
fn explicit_sequence(wrapped: &[u8]) -> Result<&[u8], String> {
    let mut wrapper = Reader::new(wrapped);
    let sequence = wrapper.expect(SEQUENCE, "extensions")?;
    wrapper.finish("[3] extensions")?;
    Ok(sequence)
}

/// The extnValue of the subjectAltName extension among `extensions`. Two of
/// them are refused, as Go refuses any duplicate extension: which one
/// counts would otherwise depend on the reader.
fn find_san_extension(extensions: &[u8]) -> Result<Option<&[u8]>, String> {
    let mut list = Reader::new(extensions);
    let mut found = None;
    while !list.is_empty() {
        let (id, value) = extension(list.expect(SEQUENCE, "Extension")?)?;
        if id == SUBJECT_ALT_NAME {
            if found.is_some() {
                return Err("two subjectAltName extensions".to_string());
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// The extnID and extnValue of one Extension.
fn extension(extension: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let mut fields = Reader::new(extension);
    let id = fields.expect(OBJECT_IDENTIFIER, "extnID")?;
    fields.optional(BOOLEAN, "critical")?;
    let value = fields.expect(OCTET_STRING, "extnValue")?;
    fields.finish("Extension")?;
    Ok((id, value))
}

/// The names in the subjectAltName extension's value, a GeneralNames
/// SEQUENCE.
fn general_names(extn_value: &[u8]) -> Result<SanLists, String> {
    let mut value = Reader::new(extn_value);
    let sequence = value.expect(SEQUENCE, "GeneralNames")?;
    value.finish("subjectAltName")?;
    let mut names = Reader::new(sequence);
    let mut lists = SanLists::default();
    while !names.is_empty() {
        let name = names.any("GeneralName")?;
        match name.tag {
            DNS_NAME => lists.dns_names.push(ia5_string(name.contents, "dNSName")?),
            RFC822_NAME => lists
                .email_addresses
                .push(ia5_string(name.contents, "rfc822Name")?),
            IP_ADDRESS => lists.ip_addresses.push(ip_address(name.contents)?),
            URI => lists
                .uris
                .push(ia5_string(name.contents, "uniformResourceIdentifier")?),
            // otherName, x400Address, directoryName, ediPartyName and
            // registeredID: exporter-toolkit never compares them.
            _ => {}
        }
    }
    Ok(lists)
}

/// An IA5String's text. Go refuses a SAN with a byte beyond ASCII, and so
/// does this: such a certificate is malformed, not merely unmatched.
fn ia5_string(contents: &[u8], what: &str) -> Result<String, String> {
    match contents
        .iter()
        .enumerate()
        .find(|(_, byte)| !byte.is_ascii())
    {
        Some((at, byte)) => Err(format!(
            "{what}: byte {byte:#04x} at {at} is not IA5 (ASCII)"
        )),
        None => Ok(contents.iter().copied().map(char::from).collect()),
    }
}

/// An iPAddress as Go's `net.IP.String` writes it: IPv4 dotted, also when
/// it comes as an IPv4-mapped IPv6 address.
fn ip_address(contents: &[u8]) -> Result<String, String> {
    if let Ok(octets) = <[u8; 4]>::try_from(contents) {
        return Ok(Ipv4Addr::from(octets).to_string());
    }
    if let Ok(octets) = <[u8; 16]>::try_from(contents) {
        let v6 = Ipv6Addr::from(octets);
        return Ok(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        });
    }
    Err(format!(
        "iPAddress of {} bytes (4 or 16 expected)",
        contents.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, Ia5String, IsCa,
        KeyPair, OtherNameValue, SanType,
    };
    use rustls::crypto::ring::default_provider;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{
        ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
        SupportedProtocolVersion,
    };

    fn ia5(text: &str) -> Ia5String {
        Ia5String::try_from(text).unwrap()
    }

    fn self_signed(sans: Vec<SanType>) -> Vec<u8> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    /// A DER element with `tag` around `contents`.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut der = vec![tag];
        let length = contents.len();
        if length < 0x80 {
            der.push(length as u8);
        } else {
            let octets: Vec<u8> = length
                .to_be_bytes()
                .into_iter()
                .skip_while(|&octet| octet == 0)
                .collect();
            der.push(0x80 | octets.len() as u8);
            der.extend(octets);
        }
        der.extend(contents);
        der
    }

    /// A certificate with the structure X.509 gives it (its fields empty
    /// where the walker skips them) and `extensions`, already encoded.
    fn handmade(extensions: &[Vec<u8>]) -> Vec<u8> {
        let empty = tlv(SEQUENCE, &[]);
        let tbs = [
            tlv(VERSION, &tlv(INTEGER, &[2])),
            tlv(INTEGER, &[1]),
            empty.clone(),
            empty.clone(),
            empty.clone(),
            empty.clone(),
            empty.clone(),
            tlv(EXTENSIONS, &tlv(SEQUENCE, &extensions.concat())),
        ]
        .concat();
        let signature_value = tlv(0x03, &[0]);
        tlv(
            SEQUENCE,
            &[tlv(SEQUENCE, &tbs), empty, signature_value].concat(),
        )
    }

    fn san_extension_of(general_names: &[Vec<u8>]) -> Vec<u8> {
        let value = tlv(SEQUENCE, &general_names.concat());
        tlv(
            SEQUENCE,
            &[
                tlv(OBJECT_IDENTIFIER, SUBJECT_ALT_NAME),
                tlv(OCTET_STRING, &value),
            ]
            .concat(),
        )
    }

    #[test]
    fn groups_names_in_go_order() {
        let der = self_signed(vec![
            SanType::URI(ia5("spiffe://cluster.local/ns/monitoring/sa/prometheus")),
            SanType::IpAddress("2001:db8::1".parse().unwrap()),
            SanType::Rfc822Name(ia5("ops@example.com")),
            SanType::IpAddress("192.0.2.7".parse().unwrap()),
            SanType::DnsName(ia5("scraper.example")),
            SanType::DnsName(ia5("*.example")),
        ]);
        assert_eq!(
            subject_alt_names(&der).unwrap(),
            [
                "scraper.example",
                "*.example",
                "ops@example.com",
                "2001:db8::1",
                "192.0.2.7",
                "spiffe://cluster.local/ns/monitoring/sa/prometheus",
            ]
        );
    }

    #[test]
    fn writes_ip_addresses_as_go_does() {
        let der = self_signed(vec![
            SanType::IpAddress("::ffff:192.0.2.1".parse().unwrap()),
            SanType::IpAddress("2001:db8:0:0:1:0:0:1".parse().unwrap()),
            SanType::IpAddress("::1".parse().unwrap()),
        ]);
        assert_eq!(
            subject_alt_names(&der).unwrap(),
            ["192.0.2.1", "2001:db8::1:0:0:1", "::1"]
        );
    }

    #[test]
    fn certificate_without_san_extension_has_none() {
        assert_eq!(
            subject_alt_names(&self_signed(Vec::new())).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            subject_alt_names(&handmade(&[])).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn skips_names_exporter_toolkit_does_not_compare() {
        let der = self_signed(vec![
            SanType::OtherName((
                vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
                OtherNameValue::Utf8String("upn@example.com".to_string()),
            )),
            SanType::DnsName(ia5("scraper.example")),
        ]);
        assert_eq!(subject_alt_names(&der).unwrap(), ["scraper.example"]);
        let directory_name = tlv(0xA4, &tlv(SEQUENCE, &[]));
        let registered_id = tlv(0x88, &[0x2A, 0x03]);
        let der = handmade(&[san_extension_of(&[
            directory_name,
            tlv(URI, b"https://scraper.example/"),
            registered_id,
        ])]);
        assert_eq!(
            subject_alt_names(&der).unwrap(),
            ["https://scraper.example/"]
        );
    }

    #[test]
    fn reads_critical_extensions_and_long_lengths() {
        let long_name = "a".repeat(300);
        let critical = tlv(
            SEQUENCE,
            &[
                tlv(OBJECT_IDENTIFIER, SUBJECT_ALT_NAME),
                tlv(BOOLEAN, &[0xFF]),
                tlv(
                    OCTET_STRING,
                    &tlv(SEQUENCE, &tlv(DNS_NAME, long_name.as_bytes())),
                ),
            ]
            .concat(),
        );
        let key_usage = tlv(
            SEQUENCE,
            &[
                tlv(OBJECT_IDENTIFIER, &[0x55, 0x1D, 0x0F]),
                tlv(OCTET_STRING, &[3, 2, 5, 0xA0]),
            ]
            .concat(),
        );
        let der = handmade(&[key_usage, critical]);
        assert_eq!(subject_alt_names(&der).unwrap(), [long_name]);
    }

    #[test]
    fn refuses_malformed_names() {
        for (name, error) in [
            (tlv(IP_ADDRESS, &[10, 0, 0]), "iPAddress of 3 bytes"),
            (tlv(IP_ADDRESS, &[0; 5]), "iPAddress of 5 bytes"),
            (
                tlv(DNS_NAME, "bücher.example".as_bytes()),
                "dNSName: byte 0xc3 at 1",
            ),
            (
                tlv(RFC822_NAME, b"ops@\xffexample"),
                "rfc822Name: byte 0xff at 4",
            ),
            (
                tlv(URI, "https://é".as_bytes()),
                "uniformResourceIdentifier",
            ),
        ] {
            let der = handmade(&[san_extension_of(&[name])]);
            let found = subject_alt_names(&der).unwrap_err();
            assert!(found.contains(error), "{found:?} lacks {error:?}");
        }
    }

    #[test]
    fn refuses_two_san_extensions() {
        let san = san_extension_of(&[tlv(DNS_NAME, b"scraper.example")]);
        let found = subject_alt_names(&handmade(&[san.clone(), san])).unwrap_err();
        assert_eq!(found, "two subjectAltName extensions");
    }

    #[test]
    fn refuses_lengths_der_does_not_write() {
        for (encoded, error) in [
            (&[0x30, 0x80, 0x00, 0x00][..], "indefinite length"),
            (
                &[0x30, 0x81, 0x05, 0, 0, 0, 0, 0],
                "length 5 in the long form",
            ),
            (&[0x30, 0x82, 0x00, 0x90], "leading zero"),
            (&[0x30, 0x85, 1, 0, 0, 0, 0], "length of 5 octets"),
            (
                &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
                "4294967295 bytes long but 0 left",
            ),
            (&[0x30, 0x82, 0x01], "length of 2 octets but 1 left"),
            (&[0x1F, 0x01, 0x00], "multi-octet tag"),
        ] {
            let found = subject_alt_names(encoded).unwrap_err();
            assert!(found.contains(error), "{found:?} lacks {error:?}");
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let der = self_signed(vec![
            SanType::DnsName(ia5("scraper.example")),
            SanType::IpAddress("192.0.2.7".parse().unwrap()),
        ]);
        assert!(subject_alt_names(&der).is_ok());
        for length in 0..der.len() {
            assert!(
                subject_alt_names(&der[..length]).is_err(),
                "prefix of {length} bytes"
            );
        }
    }

    #[test]
    fn garbage_is_an_error() {
        let mut trailing = self_signed(vec![SanType::DnsName(ia5("scraper.example"))]);
        trailing.push(0);
        let noise: Vec<u8> = (0u32..512)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for garbage in [
            &b""[..],
            b"\x30",
            b"-----BEGIN CERTIFICATE-----",
            &[0xFF; 64],
            &noise,
            &trailing,
        ] {
            assert!(subject_alt_names(garbage).is_err(), "{garbage:?}");
        }
    }

    /// A CA and its key, to sign leaves with.
    struct Authority {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn authority(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Authority { cert, key }
    }

    /// A certificate for `dns_name` signed by `ca`, and its key.
    fn leaf(
        ca: &Authority,
        dns_name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec![dns_name.to_string()]).unwrap();
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
        let key = PrivatePkcs8KeyDer::from(key.serialize_der());
        (cert.der().clone(), key.into())
    }

    fn roots(ca: &Authority) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(ca.cert.der().clone()).unwrap();
        Arc::new(roots)
    }

    /// The server's half: a certificate for "localhost" signed by `ca`,
    /// clients checked by `verifier`.
    fn server(
        ca: &Authority,
        version: &'static SupportedProtocolVersion,
        verifier: Arc<dyn ClientCertVerifier>,
    ) -> ServerConnection {
        let (cert, key) = leaf(ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
        let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert], key)
            .unwrap();
        ServerConnection::new(Arc::new(config)).unwrap()
    }

    /// The client's half, trusting `ca` and presenting `identity` if any.
    fn client(
        ca: &Authority,
        version: &'static SupportedProtocolVersion,
        identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
    ) -> ClientConnection {
        let builder = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots(ca));
        let config = match identity {
            Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        let name = ServerName::try_from("localhost").unwrap();
        ClientConnection::new(Arc::new(config), name).unwrap()
    }

    /// Moves what `from` has to send into `to`.
    fn transfer(from: &mut Connection, to: &mut Connection) {
        let mut wire = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut wire).unwrap();
        }
        let mut unread = &wire[..];
        while !unread.is_empty() {
            to.read_tls(&mut unread).unwrap();
        }
    }

    /// Runs the handshake in memory and returns the server's verdict: the
    /// client finishes first (it sends its certificate with its last
    /// flight), so only the server knows whether the client got in.
    fn handshake(server: ServerConnection, client: ClientConnection) -> Result<(), rustls::Error> {
        let mut server = Connection::Server(server);
        let mut client = Connection::Client(client);
        for _ in 0..8 {
            transfer(&mut client, &mut server);
            server.process_new_packets()?;
            if !server.is_handshaking() {
                return Ok(());
            }
            transfer(&mut server, &mut client);
            client.process_new_packets()?;
        }
        panic!("the handshake did not finish");
    }

    const VERSIONS: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS12, &rustls::version::TLS13];

    fn allowed_sans(ca: &Authority, allowed: &[&str], unauthenticated: bool) -> Arc<AllowedSans> {
        let builder =
            WebPkiClientVerifier::builder_with_provider(roots(ca), Arc::new(default_provider()));
        let inner = if unauthenticated {
            builder.allow_unauthenticated().build()
        } else {
            builder.build()
        };
        let allowed = allowed.iter().map(|san| san.to_string()).collect();
        Arc::new(AllowedSans::new(inner.unwrap(), allowed))
    }

    fn refused() -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
    }

    #[test]
    fn admits_a_client_with_an_allowed_san() {
        let ca = authority("client CA");
        for version in VERSIONS {
            let verifier = allowed_sans(&ca, &["other.example", "scraper.example"], false);
            let identity = leaf(&ca, "scraper.example", ExtendedKeyUsagePurpose::ClientAuth);
            let outcome = handshake(
                server(&ca, version, verifier),
                client(&ca, version, Some(identity)),
            );
            assert_eq!(outcome, Ok(()), "{version:?}");
        }
    }

    #[test]
    fn refuses_a_client_without_an_allowed_san() {
        let ca = authority("client CA");
        for version in VERSIONS {
            let verifier = allowed_sans(&ca, &["other.example", "Scraper.example"], false);
            let identity = leaf(&ca, "scraper.example", ExtendedKeyUsagePurpose::ClientAuth);
            let outcome = handshake(
                server(&ca, version, verifier),
                client(&ca, version, Some(identity)),
            );
            assert_eq!(outcome, Err(refused()), "{version:?}");
        }
    }

    #[test]
    fn refuses_a_client_without_a_certificate() {
        let ca = authority("client CA");
        for version in VERSIONS {
            let verifier = allowed_sans(&ca, &["scraper.example"], true);
            let outcome = handshake(server(&ca, version, verifier), client(&ca, version, None));
            assert_eq!(
                outcome,
                Err(rustls::Error::NoCertificatesPresented),
                "{version:?}"
            );
        }
    }

    #[test]
    fn the_inner_verifier_decides_first() {
        let ca = authority("client CA");
        let stranger = authority("another CA");
        for version in VERSIONS {
            let verifier = allowed_sans(&ca, &["scraper.example"], false);
            let identity = leaf(
                &stranger,
                "scraper.example",
                ExtendedKeyUsagePurpose::ClientAuth,
            );
            let outcome = handshake(
                server(&ca, version, verifier),
                client(&ca, version, Some(identity)),
            );
            assert_eq!(
                outcome,
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                )),
                "{version:?}"
            );
        }
    }

    #[test]
    fn delegates_hints_and_schemes_to_the_inner_verifier() {
        let ca = authority("client CA");
        let inner =
            WebPkiClientVerifier::builder_with_provider(roots(&ca), Arc::new(default_provider()))
                .allow_unauthenticated()
                .build()
                .unwrap();
        let verifier = AllowedSans::new(Arc::clone(&inner), vec!["scraper.example".to_string()]);
        assert!(verifier.offer_client_auth());
        assert!(verifier.client_auth_mandatory());
        assert!(!inner.client_auth_mandatory());
        let subjects = |verifier: &dyn ClientCertVerifier| -> Vec<Vec<u8>> {
            let hints = verifier.root_hint_subjects();
            hints.iter().map(|name| name.as_ref().to_vec()).collect()
        };
        assert_eq!(subjects(&verifier), subjects(&*inner));
        assert_eq!(subjects(&verifier).len(), 1);
        assert_eq!(
            verifier.supported_verify_schemes(),
            inner.supported_verify_schemes()
        );
        assert!(!verifier.requires_raw_public_keys());
    }
}
