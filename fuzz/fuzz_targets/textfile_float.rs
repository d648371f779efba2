//! The parser of text exposition format sample values: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::textfile::text_format::parse_float(text));
