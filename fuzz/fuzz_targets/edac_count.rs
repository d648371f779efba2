//! The parsers of sysfs EDAC counters and of the names of a row's channel
//! files: no input may make them panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| (
    hostwatch::collectors::edac::parse_count(text),
    hostwatch::collectors::edac::channel_number(text)
));
