//! The parser of /proc/net/ipv6_route: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::network_route::parse_ipv6_routes(text)
);
