//! The parser of /proc/net/snmp6: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::netstat::ProtocolStats::parse_snmp6(text)
);
