//! The parser of /proc/net/route: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::network_route::parse_ipv4_routes(text)
);
