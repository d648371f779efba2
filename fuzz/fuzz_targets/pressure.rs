//! The parser of /proc/pressure/*: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::pressure::PsiStats::parse(text));
