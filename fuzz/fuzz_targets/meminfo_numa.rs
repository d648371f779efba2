//! The parser of sysfs `node/node*/meminfo`: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| {
    hostwatch::collectors::meminfo_numa::NodeMemoryField::parse_all(text)
});
