//! The parser of /proc/net/{tcp,tcp6,udp,udp6} lines: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| text
    .lines()
    .map(hostwatch::kernel::socket_table::SocketLine::parse)
    .count());
