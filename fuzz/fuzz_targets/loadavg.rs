//! The parser of /proc/loadavg: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::loadavg::LoadAverages::parse(text));
