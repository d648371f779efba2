//! The parser of clocksource `available_clocksource` and `current_clocksource`: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| {
    let (available, current) = text.split_once('\n').unwrap_or((text, ""));
    hostwatch::collectors::time::ClockSource::parse(available, current)
});
