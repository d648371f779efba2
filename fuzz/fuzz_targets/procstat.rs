//! The parser of /proc/stat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::kernel::proc_stat::ProcStat::parse(text));
