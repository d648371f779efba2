//! The parser of Go-style sysfs integers: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::parse::sysfs_int(text));
