//! The parser of /proc/self/stat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::process::metrics::ProcessStat::parse(text));
