//! The parser of /proc/net/ip_vs, line by line, and of its addresses: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    let mut parser = hostwatch::collectors::ipvs::BackendParser::default();
    let backends = text
        .lines()
        .filter_map(|line| parser.line(line).ok())
        .count();
    (backends, hostwatch::collectors::ipvs::parse_address(text))
});
