//! The parser of /proc/interrupts: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(
    |text| hostwatch::collectors::interrupts::Interrupt::parse_all(text)
);
