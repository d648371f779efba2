//! The parser of btrfs `commit_stats`: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::btrfs::CommitStats::parse(text));
