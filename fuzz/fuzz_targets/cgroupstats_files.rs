//! The parsers of cgroup v2 interface files (flat-keyed files, one-value
//! and limit files, cpu.max, io.stat) and of /proc/diskstats's device
//! names: no input may make them panic.
#![no_main]
use hostwatch::collectors::cgroupstats::files;

hostwatch_fuzz::parser_target!(|text| (
    files::flat_keyed(text).map(|pairs| files::value_of(&pairs, "user_usec")),
    files::count(text),
    files::Limit::parse(text),
    files::CpuMax::parse(text),
    files::IoStatLine::parse_all(text),
    files::block_device_names(text),
));
