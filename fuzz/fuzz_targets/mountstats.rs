//! The parser of /proc/<pid>/mountstats: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::mountstats::parse(text));
