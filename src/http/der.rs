//! Reading DER, as much of it as the client-certificate checks need: the
//! elements of an X.509 certificate, every length checked against the bytes
//! that are there (a client's certificate may not have been verified yet
//! when it is read), and the certificate's version.
//!
//! May import: the standard library.

/// DER identifier octets of the universal types a certificate is made of.
pub(super) const INTEGER: u8 = 0x02;
pub(super) const SEQUENCE: u8 = 0x30;

/// tbsCertificate's version field, `[0] EXPLICIT`.
pub(super) const VERSION: u8 = 0xA0;

/// The most length octets accepted: 4 reach 4 GiB, far beyond any
/// certificate a TLS record can carry.
const MAX_LENGTH_OCTETS: usize = 4;

/// The X.509 version of a DER certificate (1, 2 or 3), read from the start
/// of its `tbsCertificate`: an explicit `[0]` version there, else version 1.
/// `None` when the bytes are not a certificate's DER.
pub fn x509_version(der: &[u8]) -> Option<u8> {
    let mut fields = Reader::new(tbs_certificate(der).ok()?);
    match fields.optional(VERSION, "version").ok()? {
        Some(explicit) => {
            let mut wrapper = Reader::new(explicit);
            let version = wrapper.expect(INTEGER, "version").ok()?;
            wrapper.finish("version").ok()?;
            match version {
                &[v @ 0..=2] => Some(v + 1),
                _ => None,
            }
        }
        None => fields.expect(INTEGER, "serialNumber").ok().map(|_| 1),
    }
}

/// The contents of tbsCertificate. The signature around it is the inner
/// verifier's business, so it is not looked at.
pub(super) fn tbs_certificate(cert_der: &[u8]) -> Result<&[u8], String> {
    let mut outer = Reader::new(cert_der);
    let certificate = outer.expect(SEQUENCE, "Certificate")?;
    outer.finish("the certificate")?;
    Reader::new(certificate).expect(SEQUENCE, "tbsCertificate")
}

/// One DER element: its identifier octet and its contents.
#[derive(Debug)]
pub(super) struct Element<'a> {
    pub(super) tag: u8,
    pub(super) contents: &'a [u8],
}

/// Reads DER elements off the front of a byte string, every length checked
/// against what is left.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element, whatever its tag; `what` names it in an error.
    pub(super) fn any(&mut self, what: &str) -> Result<Element<'a>, String> {
        let (&tag, after_tag) = self
            .rest
            .split_first()
            .ok_or_else(|| format!("{what}: missing"))?;
        // Tag numbers above 30 take more octets; X.509 has none.
        if tag & 0x1F == 0x1F {
            return Err(format!("{what}: multi-octet tag {tag:#04x}"));
        }
        let (length, after_length) = split_length(after_tag).map_err(|e| format!("{what}: {e}"))?;
        if length > after_length.len() {
            return Err(format!(
                "{what}: {length} bytes long but {} left",
                after_length.len()
            ));
        }
        let (contents, rest) = after_length.split_at(length);
        self.rest = rest;
        Ok(Element { tag, contents })
    }

    /// The contents of the next element, which must have `tag`.
    pub(super) fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let element = self.any(what)?;
        if element.tag != tag {
            return Err(format!(
                "{what}: tag {:#04x} where {tag:#04x} belongs",
                element.tag
            ));
        }
        Ok(element.contents)
    }

    /// The contents of the next element if it has `tag` (an optional field
    /// that is present); nothing is consumed otherwise.
    pub(super) fn optional(&mut self, tag: u8, what: &str) -> Result<Option<&'a [u8]>, String> {
        if self.rest.first() == Some(&tag) {
            self.expect(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails if bytes are left after the last field of `what`.
    pub(super) fn finish(&self, what: &str) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!("{what}: {} bytes after its end", self.rest.len()))
        }
    }
}

/// The length at the front of `bytes` and what follows it. Only DER's
/// forms are accepted: no indefinite length (BER's, never in a
/// certificate) and no long form that a shorter one could write, so that
/// one certificate has one reading.
fn split_length(bytes: &[u8]) -> Result<(usize, &[u8]), String> {
    let (&first, rest) = bytes
        .split_first()
        .ok_or_else(|| "length missing".to_string())?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let octets = usize::from(first & 0x7F);
    if octets == 0 {
        return Err("indefinite length".to_string());
    }
    if octets > MAX_LENGTH_OCTETS {
        return Err(format!("length of {octets} octets"));
    }
    if octets > rest.len() {
        return Err(format!("length of {octets} octets but {} left", rest.len()));
    }
    let (encoded, after) = rest.split_at(octets);
    if encoded.first() == Some(&0) {
        return Err("length with a leading zero octet".to_string());
    }
    let length = encoded
        .iter()
        .fold(0u32, |length, &octet| (length << 8) | u32::from(octet));
    if length < 0x80 {
        return Err(format!("length {length} in the long form"));
    }
    let length = usize::try_from(length).map_err(|_| format!("length {length} too large"))?;
    Ok((length, after))
}
