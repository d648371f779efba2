//! The parser of /proc/cpuinfo: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::kernel::cpuinfo::CpuInfo::parse(text));
