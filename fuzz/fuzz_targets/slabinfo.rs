//! The parser of /proc/slabinfo: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::slabinfo::Slab::parse_all(text));
