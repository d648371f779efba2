//! The parsers of device-mapper multipath sysfs values: no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| (
    hostwatch::collectors::dmmultipath::parse_decimal(text),
    hostwatch::collectors::dmmultipath::is_path_active(text)
));
