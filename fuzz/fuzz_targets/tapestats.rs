//! The parser of SCSI tape `stats/*` files: no input may make it panic.
#![no_main]

hostwatch_fuzz::parser_target!(|text| {
    let files: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    hostwatch::collectors::tapestats::TapeStats::parse("st0", files)
});
