//! The parser of `--collector.ipvs.backend-labels`: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::ipvs::parse_backend_labels(text));
