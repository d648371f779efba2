//! The parser of /proc/softirqs: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::softirqs::SoftirqVector::parse_all(text)
);
