//! The parser of os-release: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::os::OsRelease::parse(text));
