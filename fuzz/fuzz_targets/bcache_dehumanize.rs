//! The parser of bcache's human-readable sizes (signed and unsigned): no input may make it panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| (
    hostwatch::collectors::bcache::dehumanize(text),
    hostwatch::collectors::bcache::dehumanize_signed(text)
));
