//! The parser of KSM files in /sys/kernel/mm/ksm: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    let (file, body) = text.split_once('\n').unwrap_or((text, ""));
    hostwatch::collectors::ksmd::KsmdMetric::from_file(file, body)
});
