//! The parser of sysctl values: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::sysctl::parse_value(text));
