//! The parser of sysfs CPU lists such as `cpu/isolated`: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::kernel::cpu_list::parse_cpu_list(text));
