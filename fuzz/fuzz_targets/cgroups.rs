//! The parser of /proc/cgroups: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::cgroups::CgroupController::parse_all(text)
);
