//! The parser of /proc/stat: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::procstat::ProcStat::parse(text));
