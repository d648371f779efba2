//! The parser of /proc/net/softnet_stat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::softnet::SoftnetRow::parse(text));
