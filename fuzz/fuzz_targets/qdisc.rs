//! The parsers of rtnetlink qdisc and link messages: no datagram may make
//! them panic.
#![no_main]

use hostwatch::collectors::qdisc::{link_name, Qdisc};
use hostwatch::kernel::netlink::messages;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Qdisc::parse(data);
    let _ = link_name(data);
    for message in messages(data).filter_map(Result::ok) {
        let _ = Qdisc::parse(message.payload);
        let _ = link_name(message.payload);
    }
});
