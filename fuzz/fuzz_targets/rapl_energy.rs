//! The parser of powercap `energy_uj`: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::rapl::parse_microjoules(text));
