//! The parser of /proc/1/mountinfo: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| {
    hostwatch::kernel::mountinfo::MountInfo::parse(text)
});
