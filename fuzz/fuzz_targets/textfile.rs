//! The parser of the text exposition format of textfile `*.prom` files: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::textfile::text_format::parse(text));
