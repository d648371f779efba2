//! The parser of /proc/swaps: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::swap::SwapArea::parse_all(text));
