//! The parser of /proc/vmstat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::vmstat::Vmstat::parse(text));
