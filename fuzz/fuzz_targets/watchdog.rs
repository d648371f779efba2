//! The parser of a watchdog's sysfs attributes: no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    let files: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    hostwatch::collectors::watchdog::Watchdog::from_attributes("watchdog0", |name| {
        files
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, value)| value.to_string())
    })
});
