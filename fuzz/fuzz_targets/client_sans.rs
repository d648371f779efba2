//! The reader of a client certificate's Subject Alternative Names: no bytes
//! a client sends as its certificate may make it panic. It takes DER, so
//! the input goes to it as raw bytes, not as text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hostwatch::http::client_sans::subject_alt_names(data);
});
