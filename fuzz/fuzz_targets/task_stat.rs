//! The parser of /proc/<pid>/stat of other tasks: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::processes::TaskStat::parse(
    text.as_bytes()
));
