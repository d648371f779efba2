//! The parser of /proc/net/netstat and /proc/net/snmp: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::netstat::ProtocolStats::parse_paired(text)
);
