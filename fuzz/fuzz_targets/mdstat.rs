//! The parser of /proc/mdstat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::mdadm::MdArray::parse_all(text));
