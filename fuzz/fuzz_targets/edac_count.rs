//! The parser of sysfs EDAC counters: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::edac::parse_count(text));
