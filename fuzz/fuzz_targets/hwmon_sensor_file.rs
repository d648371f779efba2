//! The parser of hwmon sensor file names: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::hwmon::SensorFile::parse(text));
