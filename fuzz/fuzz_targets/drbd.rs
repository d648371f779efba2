//! The parser of /proc/drbd: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::drbd::parse(text));
