//! The parser of /proc/net/stat/nf_conntrack: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::conntrack::ConntrackStats::parse(text)
);
