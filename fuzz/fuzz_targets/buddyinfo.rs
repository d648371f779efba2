//! The parser of /proc/buddyinfo: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::buddyinfo::BuddyZone::parse_all(text));
