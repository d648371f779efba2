//! The parser of udev database files: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    hostwatch::collectors::diskstats::udev::UdevProperties::parse(text)
});
