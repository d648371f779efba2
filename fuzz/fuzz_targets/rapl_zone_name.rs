//! The splitter of RAPL zone names into name and index: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::rapl::split_indexed_name(text));
