//! The readers of a client certificate's DER, its Subject Alternative Names
//! and its version: no bytes a client sends as its certificate may make
//! them panic. They take DER, so the input goes to them as raw bytes, not as
//! text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hostwatch::http::client_sans::subject_alt_names(data);
    let _ = hostwatch::http::der::x509_version(data);
});
