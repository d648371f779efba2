//! The parser of /proc/net/ip_vs_stats: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::ipvs::IpvsStats::parse(text));
