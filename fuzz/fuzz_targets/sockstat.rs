//! The parser of /proc/net/sockstat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::sockstat::Sockstat::parse(text));
