//! The parsers of Fibre Channel sysfs statistics: no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| (
    hostwatch::collectors::fibrechannel::strip_hex_prefix(text),
    hostwatch::collectors::fibrechannel::parse_statistic(text)
));
