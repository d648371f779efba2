//! The parser of /proc/schedstat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::schedstat::parse_schedstat(text));
