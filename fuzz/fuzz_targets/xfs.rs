//! The parser of XFS `stats/stats`: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::xfs::XfsStats::parse(text));
