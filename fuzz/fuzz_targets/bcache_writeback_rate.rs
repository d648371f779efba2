//! The parser of bcache's `writeback_rate_debug`: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::bcache::WritebackRateDebug::parse(text)
);
