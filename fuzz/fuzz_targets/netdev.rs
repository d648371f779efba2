//! The parser of /proc/net/dev: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::kernel::net_dev::InterfaceCounters::parse_all(text)
);
