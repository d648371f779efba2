//! The parser of /proc/net/dev: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::netdev::InterfaceCounters::parse_all(text)
);
