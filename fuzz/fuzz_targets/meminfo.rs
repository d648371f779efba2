//! The parser of /proc/meminfo: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::meminfo::Meminfo::parse(text));
