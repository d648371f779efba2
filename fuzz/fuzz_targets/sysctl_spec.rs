//! The parser of `--collector.sysctl.include` values: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::sysctl::SysctlSpec::parse(text));
