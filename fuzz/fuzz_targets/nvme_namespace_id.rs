//! The parser of NVMe namespace directory names: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::nvme::Namespace::id_of(text));
