//! The parsers of InfiniBand sysfs values (state, rate, counters): no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| (
    hostwatch::collectors::infiniband::parse_state(text),
    hostwatch::collectors::infiniband::parse_rate(text),
    hostwatch::collectors::infiniband::parse_counter(text)
));
