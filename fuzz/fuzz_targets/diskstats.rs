//! The parser of /proc/diskstats: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::diskstats::DiskStatsLine::parse_all(text)
);
