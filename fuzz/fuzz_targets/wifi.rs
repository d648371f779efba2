//! The parsers of nl80211 interface, scan and station messages: no payload
//! may make them panic.
#![no_main]

use hostwatch::collectors::wifi::{Bss, Interface, Station};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Interface::parse(data);
    let _ = Bss::parse(data);
    let _ = Station::parse(data);
});
