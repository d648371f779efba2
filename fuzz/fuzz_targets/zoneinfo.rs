//! The parser of /proc/zoneinfo: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::zoneinfo::Zone::parse_all(text));
