//! The parser of /proc/sys/kernel/hung_task_detect_count: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| hostwatch::collectors::kernel_hung::parse_detect_count(text));
