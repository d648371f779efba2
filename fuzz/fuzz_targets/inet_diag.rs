//! The parser of sock_diag's inet_diag replies: no datagram may make it
//! panic.
#![no_main]

use hostwatch::collectors::tcpstat::InetDiagSocket;
use hostwatch::kernel::netlink::messages;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = InetDiagSocket::parse(data);
    for message in messages(data).filter_map(Result::ok) {
        let _ = InetDiagSocket::parse(message.payload);
    }
});
