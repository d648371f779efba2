//! The cleaner of hwmon chip names: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::hwmon::clean_name(text));
