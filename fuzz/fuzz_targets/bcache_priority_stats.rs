//! The parser of bcache's `priority_stats`: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::bcache::PriorityStats::parse(text));
