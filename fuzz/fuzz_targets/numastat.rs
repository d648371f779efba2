//! The parser of sysfs `node/node*/numastat`: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::meminfo_numa::parse_numastat(text));
