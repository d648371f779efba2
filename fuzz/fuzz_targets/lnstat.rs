//! The parser of /proc/net/stat/*: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::lnstat::CacheStats::parse(text));
