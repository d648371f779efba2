//! The parser of /proc/net/rpc/nfs: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::nfs::ClientStats::parse(text));
