//! The parser of /proc/sys/kernel/random/entropy_avail: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::entropy::parse_bits(text));
