//! The parser of /proc/net/rpc/nfsd: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::nfsd::ServerStats::parse(text));
